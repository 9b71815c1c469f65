"""The `cyclegan` pipeline on tiny bar images (in-memory catalog)."""

import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from genpipe.config import ParameterError
from genpipe.pipelines.cyclegan import create_pipeline
from genpipe.pipelines.cyclegan.nodes import train_cyclegan
from tests.helpers.images import EVALUATION, EVALUATOR, bar_split, evaluator_weights


def _params(tmp_path) -> dict:
    trainer = {"max_epochs": 1, "limit_val_batches": 0, "progress_bar": False,
               "log_every_n_steps": 1}
    return {"model": {"channels": 4, "residual_blocks": 1}, "batch_size": 16,
            "trainer": {**trainer, "checkpoint_dir": str(tmp_path / "cg")},
            "digits_classifier": {"channels": [4, 8], "feature_dim": 16},
            "digits_classifier_trainer": {**trainer,
                                          "checkpoint_dir": str(tmp_path / "dc")},
            "eval_images": 30, "grid_columns": 4}


def _catalog(tmp_path) -> DataCatalog:
    catalog = DataCatalog()
    for name, value in {
            "mnist_train": bar_split(64, 0), "mnist_test": bar_split(40, 1),
            "digits_train": bar_split(48, 2, thick=1),
            "digits_test": bar_split(40, 3, thick=1),
            "evaluator_model": evaluator_weights(), "params:evaluator": EVALUATOR,
            "params:evaluation": EVALUATION, "params:cyclegan": _params(tmp_path),
            "params:seed": 0, "params:device": "cpu"}.items():
        catalog[name] = value
    return catalog


def test_every_node_logs_into_a_cyclegan_run_of_the_translation_group():
    nodes = create_pipeline().nodes
    assert all({"family.cyclegan", "group.translation"} <= set(n.tags) for n in nodes)
    assert {t for n in nodes for t in n.tags if t.startswith("run.")} == {
        "run.cyclegan.cycle", "run.cyclegan.no_cycle",
        "run.cyclegan.digits_classifier"}


def test_cyclegan_pipeline_end_to_end(tmp_path):
    outputs = SequentialRunner().run(create_pipeline(), _catalog(tmp_path))
    out = {name: dataset.load() for name, dataset in outputs.items()}
    table = out["cyclegan.comparison"]
    assert isinstance(table, pd.DataFrame)
    assert table["variant"].tolist() == ["cycle", "no_cycle", "untranslated"]
    for column in ("label_preservation_to_digits", "label_preservation_to_mnist"):
        assert table[column].between(0, 1).all()
    translated = table.iloc[:2]
    assert (translated[["cycle_error_mnist", "cycle_error_digits", "fid_to_digits",
                        "kid_to_mnist"]].notna()).all().all()
    for variant in ("cycle", "no_cycle"):
        figure = out[f"cyclegan.{variant}.translations_plot"]
        assert isinstance(figure, Figure)
        assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == [
            "MNIST x", "G(x)", "F(G(x))", "digits y", "F(y)", "G(F(y))"]
        assert out[f"cyclegan.{variant}.train_metrics"]["train_images"] == 64
    assert "λ = 0" in out["cyclegan.no_cycle.translations_plot"].axes[0].get_title()
    assert 0 <= out["cyclegan.digits_classifier.test_metrics"]["test_acc"] <= 1
    assert set(out["cyclegan.summary_metrics"]) == {
        "evaluator_acc_on_digits", "digits_classifier_acc_on_mnist",
        "fid_mnist_vs_digits", "kid_mnist_vs_digits"}


def test_invalid_parameter_names_its_key_before_training(tmp_path):
    params = _params(tmp_path)
    params["model"]["cycle_weight"] = -10
    with pytest.raises(ParameterError, match=r"parameters\.cyclegan\.model\."
                                             r"cycle_weight"):
        train_cyclegan(bar_split(32, 0), bar_split(16, 2), params, 0, "cpu",
                       variant="cycle")
    assert not (tmp_path / "cg").exists()
