import pytest
import torch
from torch_geometric.data import Data

from genpipe.config import GNNConfig
from genpipe.models.gnn import GNN, PAPER, input_dropout
from genpipe.training import TrainerConfig, fit, seed_everything
from genpipe.training.data import GraphDataModule
from genpipe.training.engine import MetricHistory, checkpoint_folder, fingerprint
from tests.helpers.graphs import NUM_CLASSES, two_communities

SEED = 3


# Paper settings, except GAT's learning rate: at 0.005 it needs ~150 epochs on
# this graph, at 0.01 (the GAT paper's Pubmed rate) 80 are enough.
CONFIGS = {"gcn": PAPER["gcn"], "gat": PAPER["gat"].model_copy(update={"lr": 0.01})}


def train(config: GNNConfig, data: Data, checkpoint_dir, epochs: int,
          callbacks=()) -> GNN:
    seed_everything(SEED)
    model = GNN(config, data.num_features, NUM_CLASSES)
    trainer_config = TrainerConfig(max_epochs=epochs,
                                   checkpoint_dir=str(checkpoint_dir),
                                   progress_bar=False, log_every_n_steps=1)
    fit(model, GraphDataModule(data), trainer_config, device="cpu", family="gnn",
        run_fingerprint=fingerprint(config, SEED, epochs), callbacks=callbacks)
    return model


@pytest.fixture(scope="module", params=["gcn", "gat"])
def trained(request, tmp_path_factory):
    data = two_communities()
    history, checkpoint_dir = MetricHistory(), tmp_path_factory.mktemp(request.param)
    model = train(CONFIGS[request.param], data, checkpoint_dir, epochs=80,
                  callbacks=[history])
    return model, data, [row["val_acc"] for row in history.history], checkpoint_dir


def test_best_weights_reach_high_test_accuracy(trained):
    model, data, _, _ = trained
    model.restore_best()
    accuracies = model.accuracies(data)
    assert set(accuracies) == {"train_acc", "val_acc", "test_acc"}
    assert accuracies["test_acc"] > 0.8, accuracies


def test_best_state_is_the_epoch_of_highest_val_acc(trained):
    model, data, history, _ = trained
    assert len(history) == 80
    model.restore_best()
    assert model.accuracies(data)["val_acc"] == pytest.approx(max(history))
    assert model.best_val_acc == pytest.approx(max(history))
    assert history[model.best_epoch] == pytest.approx(max(history))
    assert all(v.device.type == "cpu" for v in model.best_state.values())


def test_best_state_survives_a_checkpoint(trained):
    model, data, _, checkpoint_dir = trained
    # what a resumed run loads (the engine reads checkpoints weights-only)
    folder = checkpoint_folder(checkpoint_dir, fingerprint(model.config, SEED, 80))
    checkpoint = torch.load(folder / "last.ckpt", weights_only=True)
    fresh = GNN(model.config, data.num_features, NUM_CLASSES)
    fresh.on_load_checkpoint(checkpoint)
    fresh.restore_best()
    assert fresh.best_epoch == model.best_epoch
    assert fresh.accuracies(data) == model.accuracies(data)


@pytest.mark.parametrize("arch", ["gcn", "gat"])
def test_output_and_embedding_shapes(arch):
    data = two_communities()
    config = CONFIGS[arch]
    model = GNN(config, data.num_features, NUM_CLASSES)
    embed_dim = config.heads * config.hidden if arch == "gat" else config.hidden
    assert model.embed_dim == embed_dim
    assert model(data.x, data.edge_index).shape == (data.num_nodes, NUM_CLASSES)
    assert model.embed(data.x, data.edge_index).shape == (data.num_nodes, embed_dim)


@pytest.mark.parametrize("arch", ["gcn", "gat"])
def test_one_training_step_changes_every_layer(arch, tmp_path):
    data = two_communities()
    seed_everything(SEED)
    before = {k: v.clone()
              for k, v in GNN(CONFIGS[arch], data.num_features, 2).state_dict().items()}
    after = train(CONFIGS[arch], data, tmp_path, epochs=1).state_dict()
    for layer in ("conv1", "conv2"):
        assert any(not torch.equal(before[k], after[k])
                   for k in before if k.startswith(layer)), layer


def test_moving_a_batch_leaves_the_callers_graph_in_place():
    # Lightning moves each batch with `Data.to`, which works in place
    data = two_communities()
    (batch,) = GraphDataModule(data).train_dataloader()
    batch.to("meta")
    assert data.x.device.type == "cpu"
    assert data.edge_index.device.type == "cpu"


def test_same_seed_gives_identical_weights(tmp_path):
    data = two_communities()
    first = train(CONFIGS["gat"], data, tmp_path / "a", epochs=5).state_dict()
    second = train(CONFIGS["gat"], data, tmp_path / "b", epochs=5).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_ties_in_val_acc_go_to_the_lower_val_loss():
    model = GNN(PAPER["gcn"], 8, NUM_CLASSES)
    for val_acc, val_loss in ((0.8, 0.5), (0.8, 0.4), (0.8, 0.6), (0.7, 0.1)):
        model.keep_if_best((val_acc, -val_loss))
    assert (model.best_val_acc, model.best_val_loss) == (0.8, 0.4)


def test_restore_best_before_training_fails():
    model = GNN(PAPER["gcn"], 8, NUM_CLASSES)
    with pytest.raises(RuntimeError, match="no validation epoch"):
        model.restore_best()


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ValueError, match="hiden"):
        GNNConfig(arch="gcn", hiden=16)
    with pytest.raises(ValueError, match="arch"):
        GNNConfig(arch="sage")
    with pytest.raises(ValueError, match="dropout"):
        GNNConfig(arch="gat", dropout=1.0)


def test_sparse_input_dropout_masks_only_the_stored_entries():
    x = torch.tensor([[0.0, 2.0, 0.0], [4.0, 0.0, 6.0]])
    sparse = x.to_sparse()
    assert input_dropout(sparse, 0.5, training=False) is sparse
    torch.manual_seed(0)
    dropped = input_dropout(sparse, 0.5, training=True).to_dense()
    # the three stored entries draw one mask each, in the order they are stored
    torch.manual_seed(0)
    mask = torch.nn.functional.dropout(torch.ones(3), 0.5, True)  # 0 or 1/(1-p)
    assert torch.equal(dropped[x != 0], torch.tensor([2.0, 4.0, 6.0]) * mask)
    assert torch.equal(dropped[x == 0], torch.zeros(3))


def test_sparse_input_dropout_keeps_each_entry_with_probability_1_minus_p():
    x = torch.ones(200, 50).to_sparse()
    dropped = input_dropout(x, 0.3, training=True).to_dense()
    assert dropped.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert (dropped > 0).float().mean().item() == pytest.approx(0.7, abs=0.02)


@pytest.mark.parametrize("arch", ["gcn", "gat"])
def test_sparse_features_give_the_dense_logits(arch):
    data = two_communities()
    model = GNN(CONFIGS[arch], data.num_features, NUM_CLASSES).eval()
    dense = model(data.x, data.edge_index)
    sparse = model(data.x.to_sparse(), data.edge_index)
    assert torch.allclose(sparse, dense, atol=1e-6)
