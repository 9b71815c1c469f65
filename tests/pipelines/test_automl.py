import mlflow
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from genpipe.automl import AutoSklearnUnavailableError
from genpipe.data.breast_cancer import load_frame, stratified_split
from genpipe.pipelines.automl.nodes import (
    compare_models,
    evaluate_xgboost,
    run_autosklearn_search,
    tune_xgboost,
)
from tests.conftest import ROOT


def _block(file: str, name: str) -> dict:
    return yaml.safe_load((ROOT / "conf/base" / file).read_text())[name]


XGBOOST = _block("parameters_xai.yml", "xgboost")
AUTOML = _block("parameters_automl.yml", "automl")


@pytest.fixture(scope="module")
def splits() -> tuple[pd.DataFrame, pd.DataFrame]:
    return stratified_split(load_frame(), 0.3, 42)


def test_tuning_records_trials_as_child_runs_then_refits_and_compares(
        splits, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default study database is project-relative
    train, test = splits
    params = {**AUTOML, "cv_folds": 3,
              "study": {**AUTOML["study"], "study_name": "t", "n_trials": 3}}
    with mlflow.start_run() as parent:
        best, trials, figure, metrics, seconds = tune_xgboost(train, XGBOOST, params, 0)
    assert (tmp_path / "data/07_model_output/automl_optuna.db").is_file()
    assert len(trials) == 3 == metrics["trials"]
    assert metrics["best_cv_score"] == trials["value"].max()
    assert set(best) == set(XGBOOST)  # a full `xgboost` block ...
    assert best["tree_method"] == XGBOOST["tree_method"]  # ... untuned keys kept
    assert 50 <= best["n_estimators"] <= 500 and best["n_estimators"] % 50 == 0
    children = MlflowClient().search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(children) == 3
    assert all("cv_accuracy" in run.data.metrics or run.data.tags["state"] == "PRUNED"
               for run in children)

    model, rows, scores = evaluate_xgboost(train, test, XGBOOST, best, params, 0,
                                           seconds)
    assert rows["model"].tolist() == ["xgboost", "xgboost_tuned"]
    assert scores["baseline_test_acc"] == rows.loc[0, "test_acc"]
    assert scores["test_roc_auc"] == rows.loc[1, "test_roc_auc"]
    assert rows.loc[1, "wall_seconds"] == pytest.approx(
        rows.loc[1, "fit_seconds"] + seconds)
    assert model.get_params()["n_estimators"] == best["n_estimators"]
    table = compare_models(rows, rows.iloc[[0]].assign(model="autosklearn"))
    assert table["model"].tolist() == ["xgboost", "xgboost_tuned", "autosklearn"]


def test_unknown_search_space_parameter_is_refused(splits):
    params = {**AUTOML, "search_space": {"max_dpeth": {"type": "int", "low": 2,
                                                       "high": 8}}}
    with pytest.raises(ValueError, match=r"no XGBoost parameter: \['max_dpeth'\]"):
        tune_xgboost(splits[0], XGBOOST, params, 0)


def test_autosklearn_node_without_its_environment_says_how_to_create_it(
        splits, tmp_path):
    params = {**AUTOML, "autosklearn": {**AUTOML["autosklearn"],
                                        "python": str(tmp_path / "none/python")}}
    with pytest.raises(AutoSklearnUnavailableError, match="make automl-env"):
        run_autosklearn_search(*splits, params, 0)
