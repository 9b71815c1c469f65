"""Two-layer GCN and GAT for transductive node classification (Cora).

GCN after Kipf & Welling (2017), GAT after Veličković et al. (2018), both built
from PyTorch Geometric's `GCNConv` / `GATConv`. Training is full-batch: every
step sees the whole graph and the loss is taken on `train_mask`. Model
selection uses `val_mask` only: the module keeps the weights of its best
validation epoch (`BestWeights`), and `restore_best` loads them; the test mask
is read only by `accuracies`. `train_seed` is one seeded run through the
shared engine (the `gnn` and `gnn_tuning` pipelines both train with it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GATConv, GCNConv

from genpipe.config import GNNConfig, TrainerConfig
from genpipe.training import fit, seed_everything
from genpipe.training.best import BestWeights
from genpipe.training.data import GraphDataModule
from genpipe.training.engine import MetricHistory, fingerprint

PAPER: dict[str, GNNConfig] = {
    # Kipf & Welling (2017), Sec. 5.2: 16 hidden units, dropout 0.5,
    # L2 5e-4, Adam with learning rate 0.01, 200 epochs.
    "gcn": GNNConfig(arch="gcn"),
    # Veličković et al. (2018), Sec. 3.3 (Cora): 8 heads x 8 features, ELU,
    # one output head, dropout 0.6, L2 5e-4, Adam with learning rate 0.005.
    "gat": GNNConfig(arch="gat", hidden=8, heads=8, output_heads=1, dropout=0.6,
                     lr=0.005),
}


@dataclass(frozen=True)
class _Arch:
    """How one architecture builds its two layers and regularises them."""

    layers: Callable[[GNNConfig, int, int], tuple[nn.Module, nn.Module, int]]
    activation: Callable[[torch.Tensor], torch.Tensor]
    decay_first_layer_only: bool


def _gcn_layers(config: GNNConfig, num_features: int,
                num_classes: int) -> tuple[nn.Module, nn.Module, int]:
    return (GCNConv(num_features, config.hidden),
            GCNConv(config.hidden, num_classes), config.hidden)


def _gat_layers(config: GNNConfig, num_features: int,
                num_classes: int) -> tuple[nn.Module, nn.Module, int]:
    # Veličković et al. (2018), Sec. 3.3: dropout also on the normalised
    # attention coefficients of both layers; the first layer concatenates its
    # heads, the output layer averages its `output_heads`.
    width = config.heads * config.hidden
    first = GATConv(num_features, config.hidden, heads=config.heads,
                    dropout=config.dropout)
    output = GATConv(width, num_classes, heads=config.output_heads, concat=False,
                     dropout=config.dropout)
    return first, output, width


ARCHS: dict[str, _Arch] = {
    # Kipf & Welling (2017), Sec. 5.2: weight decay on the first layer only
    # (their reference code adds the L2 term for layer 0 alone).
    "gcn": _Arch(_gcn_layers, F.relu, decay_first_layer_only=True),
    # Veličković et al. (2018), Sec. 3.3: ELU, L2 on all weights.
    "gat": _Arch(_gat_layers, F.elu, decay_first_layer_only=False),
}


def input_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """`F.dropout` for dense or sparse COO node features.

    On a sparse tensor the mask is drawn for its stored (non-zero) entries only,
    as in Kipf & Welling's `sparse_dropout`: the same distribution, since a zero
    stays zero whatever its mask, at 1/80 of the random numbers for Cora.
    """
    if not x.is_sparse:
        return F.dropout(x, p, training)
    if not training or p == 0.0:
        return x
    x = x.coalesce()
    return torch.sparse_coo_tensor(x.indices(), F.dropout(x.values(), p, True),
                                   x.shape, is_coalesced=True, check_invariants=False)


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(-1) == y).float().mean()


class GNN(BestWeights, L.LightningModule):
    """Two-layer GCN or GAT trained full-batch on one PyG `Data` graph.

    Keeps the weights of its best validation epoch (`BestWeights`): highest
    `val_acc`, ties broken by lower `val_loss`; `best_val_acc`,
    `best_val_loss` and `best_epoch` are that epoch's numbers.
    """

    def __init__(self, config: GNNConfig, num_features: int, num_classes: int):
        super().__init__()
        self.config = config
        arch = ARCHS[config.arch]
        self.conv1, self.conv2, self.embed_dim = arch.layers(config, num_features,
                                                             num_classes)
        self.activation = arch.activation

    @property
    def best_val_acc(self) -> float:
        return self.best_score[0] if self.best_score else float("-inf")

    @property
    def best_val_loss(self) -> float:
        return -self.best_score[1] if self.best_score else float("inf")

    def embed(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """The first layer's output after its activation (N x `embed_dim`).

        Call `eval()` first for a t-SNE: in training mode dropout applies.

        Args:
            x: Node features, N x F, dense or sparse COO.
            edge_index: 2 x E edge list.

        Returns:
            ReLU (GCN) or ELU (GAT, heads concatenated) of the first layer.
        """
        # Both papers apply dropout to each layer's input (a no-op in eval mode).
        x = input_dropout(x, self.config.dropout, self.training)
        return self.activation(self.conv1(x, edge_index))

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Class logits, N x C."""
        h = F.dropout(self.embed(x, edge_index), self.config.dropout, self.training)
        return self.conv2(h, edge_index)

    def _loss_and_accuracy(self, data: Data,
                           mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self(data.x, data.edge_index)[mask]
        y = data.y[mask]
        return F.cross_entropy(logits, y), _accuracy(logits, y)

    def training_step(self, batch: Data, batch_idx: int) -> torch.Tensor:
        loss, acc = self._loss_and_accuracy(batch, batch.train_mask)
        # One graph per step: `batch_size=1` spares Lightning guessing it from Data.
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=1)
        self.log("train_acc", acc, on_step=False, on_epoch=True, batch_size=1)
        return loss

    def validation_step(self, batch: Data, batch_idx: int) -> None:
        loss, acc = self._loss_and_accuracy(batch, batch.val_mask)
        self.log("val_loss", loss, on_epoch=True, batch_size=1, prog_bar=True)
        self.log("val_acc", acc, on_epoch=True, batch_size=1, prog_bar=True)
        if not self.trainer.sanity_checking:
            self.keep_if_best((acc.item(), -loss.item()))

    @torch.no_grad()
    def accuracies(self, data: Data) -> dict[str, float]:
        """Accuracy on each split mask the graph carries, in evaluation mode.

        Args:
            data: The graph, on any device (it is not modified).

        Returns:
            `train_acc`, `val_acc` and `test_acc` (those whose mask exists).
        """
        was_training = self.training
        self.eval()
        logits = self(data.x.to(self.device), data.edge_index.to(self.device))
        y = data.y.to(self.device)
        self.train(was_training)
        return {f"{split}_acc": _accuracy(logits[mask], y[mask]).item()
                for split in ("train", "val", "test")
                if (mask := getattr(data, f"{split}_mask", None)) is not None}

    def configure_optimizers(self) -> torch.optim.Optimizer:
        # Adam with L2 added to the gradient (torch's coupled `weight_decay`), as
        # both papers regularise the loss rather than decoupling the decay.
        decay = self.config.weight_decay
        second = 0.0 if ARCHS[self.config.arch].decay_first_layer_only else decay
        return torch.optim.Adam(
            [{"params": self.conv1.parameters(), "weight_decay": decay},
             {"params": self.conv2.parameters(), "weight_decay": second}],
            lr=self.config.lr)


def train_seed(graph: Data, model_config: GNNConfig, trainer: TrainerConfig,
               seed: int, device: str, log_to_mlflow: bool,
               block: Any = None) -> tuple[GNN, list, float]:
    """One seeded training run; the model comes back with its best-val weights.

    `block` (the caller's whole typed parameter block) and the graph as the
    model sees it (normalised or not) are part of the checkpoint fingerprint.

    Returns:
        The model, its per-epoch metric history and the training wall time.
    """
    seed_everything(seed)
    model = GNN(model_config, graph.num_features, int(graph.y.max()) + 1)
    history = MetricHistory()
    directory = Path(trainer.checkpoint_dir) / model_config.arch / f"seed{seed}"
    start = time.perf_counter()
    fit(model, GraphDataModule(graph), trainer.model_copy(
            update={"checkpoint_dir": str(directory)}),
        device=device, family=model_config.arch, callbacks=[history],
        run_fingerprint=fingerprint(block, model_config, trainer, seed, graph),
        log_to_mlflow=log_to_mlflow)
    seconds = time.perf_counter() - start
    model.restore_best()  # selection on the validation mask only
    return model, history.history, seconds
