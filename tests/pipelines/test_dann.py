"""The `dann` pipeline on tiny bar images (in-memory catalog)."""

import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from genpipe.config import ParameterError
from genpipe.pipelines.dann import create_pipeline
from genpipe.pipelines.dann.nodes import train_dann
from tests.helpers.images import bar_split


def _params(tmp_path) -> dict:
    return {"model": {"channels": [4, 8], "hidden": 16}, "batch_size": 16,
            "trainer": {"max_epochs": 1, "limit_val_batches": 0,
                        "checkpoint_dir": str(tmp_path / "ckpt"),
                        "progress_bar": False, "log_every_n_steps": 1},
            "tsne_points": 30, "tsne_perplexity": 5}


def _catalog(tmp_path) -> DataCatalog:
    catalog = DataCatalog()
    for name, value in {"mnist_train": bar_split(96, 0), "mnist_test": bar_split(40, 1),
                        "digits_train": bar_split(48, 2, thick=1),
                        "digits_test": bar_split(40, 3, thick=1),
                        "params:dann": _params(tmp_path), "params:seed": 0,
                        "params:device": "cpu"}.items():
        catalog[name] = value
    return catalog


def test_every_node_logs_into_a_dann_run_of_the_adaptation_group():
    nodes = create_pipeline().nodes
    assert all({"family.dann", "group.adaptation"} <= set(n.tags) for n in nodes)
    runs = {t for n in nodes for t in n.tags if t.startswith("run.")}
    assert runs == {"run.dann.source_only", "run.dann.adapted", "run.dann.target_only"}


def test_dann_pipeline_end_to_end(tmp_path):
    outputs = SequentialRunner().run(create_pipeline(), _catalog(tmp_path))
    out = {name: dataset.load() for name, dataset in outputs.items()}
    table = out["dann.comparison"]
    assert isinstance(table, pd.DataFrame)
    assert table["mode"].tolist() == ["source_only", "adapted", "target_only"]
    # the modes' test metrics (intermediate outputs) as the table holds them
    for column in ("target_acc", "source_acc", "domain_probe_acc"):
        assert table[column].between(0, 1).all()
    assert table["domain_acc"].notna().tolist() == [False, True, False]
    assert table[[f"target_acc_class_{c}" for c in range(10)]].notna().all().all()
    for mode in ("source_only", "adapted", "target_only"):
        assert out[f"dann.{mode}.train_metrics"]["train_images"] == 96
    assert set(out["dann.summary_metrics"]) == {"target_acc_gain", "gap_closed"}
    figure = out["dann.tsne_plot"]
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    assert figure.axes[0].get_title().startswith("before adaptation")


def test_same_seed_same_weights(tmp_path):
    params = _params(tmp_path)
    first, _ = train_dann(bar_split(64, 0), bar_split(32, 2, 1), params, 0, "cpu",
                          mode="adapted")
    params["trainer"]["resume"] = False
    second, _ = train_dann(bar_split(64, 0), bar_split(32, 2, 1), params, 0, "cpu",
                           mode="adapted")
    assert all((first[k] == second[k]).all() for k in first)


def test_invalid_parameter_names_its_key_before_training(tmp_path):
    params = _params(tmp_path)
    params["model"]["gamma"] = -1
    with pytest.raises(ParameterError, match=r"parameters\.dann\.model\.gamma"):
        train_dann(bar_split(64, 0), bar_split(32, 2), params, 0, "cpu",
                   mode="adapted")
    assert not (tmp_path / "ckpt").exists()
