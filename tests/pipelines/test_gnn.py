import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from genpipe.pipelines.gnn import create_pipeline
from genpipe.pipelines.gnn_tuning.nodes import tune_gnn
from tests.helpers.graphs import two_communities

TRAINER = {"max_epochs": 40, "checkpoint_dir": "ckpt", "progress_bar": False,
           "log_every_n_steps": 1, "checkpoint_every_n_epochs": 20}
# The synthetic features are signed noise, not word counts: no row-normalising.
GNN_PARAMS = {"seeds": 2, "normalize_features": False, "trainer": TRAINER,
              "tsne_perplexity": 5, "subgraph_nodes": 12}
MODELS = {"gcn": {"arch": "gcn", "hidden": 8, "dropout": 0.5, "lr": 0.05},
          "gat": {"arch": "gat", "hidden": 4, "heads": 2, "dropout": 0.2, "lr": 0.02}}


@pytest.fixture
def trainer_in_tmp(tmp_path):
    return {**TRAINER, "checkpoint_dir": str(tmp_path / "ckpt")}


def test_gnn_pipeline_trains_every_model_over_seeds(trainer_in_tmp):
    catalog = DataCatalog()
    inputs = {"cora_graph": two_communities(), "params:seed": 0, "params:device": "cpu",
              "params:gnn": {**GNN_PARAMS, "trainer": trainer_in_tmp},
              "params:gcn.model": MODELS["gcn"], "params:gat.model": MODELS["gat"]}
    for name, value in inputs.items():
        catalog[name] = value
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    assert set(outputs) >= {"gcn.metrics", "gat.metrics", "gcn.tsne_plot",
                            "gat.curves_plot", "cora_subgraph_plot", "gcn.seed_results"}
    for name in ("gcn", "gat"):
        metrics = outputs[f"{name}.metrics"].load()
        assert metrics["test_acc_mean"] > 0.8, (name, metrics)
        seeds = outputs[f"{name}.seed_results"].load()
        assert isinstance(seeds, pd.DataFrame) and seeds["seed"].tolist() == [0, 1]
        assert metrics["test_acc_mean"] == pytest.approx(seeds["test_acc"].mean())
        assert metrics["test_acc_std"] == pytest.approx(seeds["test_acc"].std())
    curves = outputs["gcn.curves_plot"].load()
    assert len(curves.axes[0].lines[0].get_ydata()) == 40  # one point per epoch


def test_tuning_records_every_trial_and_returns_the_best(tmp_path, monkeypatch,
                                                         trainer_in_tmp):
    monkeypatch.chdir(tmp_path)  # the default study database is project-relative
    params = {"model": MODELS["gcn"], "normalize_features": False,
              "seeds_per_trial": 2, "trainer": trainer_in_tmp,
              "search_space": {"hidden": {"type": "categorical", "choices": [4, 8]},
                               "lr": {"type": "float", "low": 0.01, "high": 0.1,
                                      "log": True}},
              "study": {"study_name": "t", "n_trials": 3, "seed": 0}}
    best, trials, figure, metrics = tune_gnn(two_communities(), params, seed=0,
                                             device="cpu")
    assert (tmp_path / "data/07_model_output/optuna.db").is_file()
    assert len(trials) == 3 == metrics["trials"]
    assert best["hidden"] in (4, 8) and 0.01 <= best["lr"] <= 0.1
    assert best["arch"] == "gcn"  # the untuned keys come from `model`
    assert metrics["best_val_acc"] == trials["value"].max()
    assert figure.axes
