import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from genpipe.data.breast_cancer import load_frame, stratified_split
from genpipe.data.tabular import TabularInputError
from genpipe.explain.tree_shap import ShapAdditivityError
from genpipe.pipelines.xai import create_pipeline
from genpipe.pipelines.xai.nodes import explain_with_shap, train_xgboost
from tests.conftest import ROOT
from tests.helpers import Kept

INTERMEDIATE = ("xai_shap_values", "xai_importances", "xai_lime_explanation",
                "xai_integrated_gradients")
CONF = yaml.safe_load((ROOT / "conf/base/parameters_xai.yml").read_text())


@pytest.fixture(scope="module")
def splits() -> tuple[pd.DataFrame, pd.DataFrame]:
    return stratified_split(load_frame(), 0.3, 42)  # the course's split


@pytest.fixture
def xai_params(tmp_path) -> dict:
    trainer = {**CONF["xai"]["trainer"], "max_epochs": 8,
               "checkpoint_dir": str(tmp_path / "ckpt")}
    return {**CONF["xai"], "trainer": trainer, "lime": {"num_samples": 500}}


def test_xai_pipeline_explains_the_course_model(splits, xai_params):
    train, test = splits
    catalog = DataCatalog()
    for name, value in {"breast_cancer_train": train, "breast_cancer_test": test,
                        "params:xgboost": CONF["xgboost"], "params:xai": xai_params,
                        "params:seed": 42, "params:device": "cpu"}.items():
        catalog[name] = value
    for name in INTERMEDIATE:  # kept, to be read after the run
        catalog[name] = Kept()
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    outputs |= {name: catalog[name] for name in INTERMEDIATE}
    metrics = outputs["xgboost_metrics"].load()
    assert metrics["test_acc"] >= 0.95  # the course's target
    shap_metrics = outputs["xai_shap_metrics"].load()
    assert shap_metrics["shap_max_additivity_error"] < 1e-4
    values = outputs["xai_shap_values"].load()
    assert len(values) == 171 and values["row_id"].tolist() == test["row_id"].tolist()
    features = [c for c in train.columns if c not in ("row_id", "target")]
    # local accuracy, row by row, from the saved table alone
    np.testing.assert_allclose(values[features].sum(axis=1) + values["base_value"],
                               values["margin"], rtol=0, atol=1e-4)
    importances = outputs["xai_importances"].load()
    assert importances["feature"].tolist() == features
    assert importances["mean_abs_shap"].to_numpy() == pytest.approx(
        values[features].abs().mean().to_numpy())
    spearman = outputs["xai_importance_metrics"].load()
    assert -1 <= spearman["spearman_gain_shap"] <= 1
    top = outputs["xai_top_features"].load()
    assert top.columns.tolist() == ["rank", "gain", "weight", "shap", "lime",
                                    "integrated_gradients"]
    assert top["rank"].tolist() == list(range(1, 11))
    shap_top = importances.sort_values("mean_abs_shap", ascending=False)["feature"]
    assert top["shap"].tolist() == shap_top.tolist()[:10]
    lime = outputs["xai_lime_explanation"].load()
    assert len(lime) == 10 and set(lime["feature"]) <= set(features)
    mlp = outputs["mlp_metrics"].load()
    assert mlp["test_acc"] > 0.9
    ig = outputs["xai_integrated_gradients"].load()
    assert len(ig) == 30 and (ig["mean_abs_ig"] >= 0).all()
    for plot in ("shap_beeswarm", "shap_bar", "shap_waterfall", "importances",
                 "lime", "integrated_gradients"):
        assert outputs[f"xai_{plot}_plot"].load().axes, plot


def test_missing_column_stops_training_naming_it(splits, xai_params):
    train, test = splits
    with pytest.raises(TabularInputError,
                       match=r"breast_cancer_test: column\(s\) \['worst radius'\] "
                             "missing"):
        train_xgboost(train, test.drop(columns="worst radius"), CONF["xgboost"],
                      xai_params, 42)


def test_nan_feature_stops_training_naming_it(splits, xai_params):
    train, test = splits
    train = train.copy()
    train.loc[5, "mean texture"] = np.nan
    with pytest.raises(TabularInputError,
                       match=r"breast_cancer_train: NaN .*\['mean texture'\]; "
                             r"'mean texture' at rows \[5\]"):
        train_xgboost(train, test, CONF["xgboost"], xai_params, 42)


def test_shap_check_fails_the_run_above_its_tolerance(splits, xai_params):
    train, test = splits
    model, _, _ = train_xgboost(train, test, CONF["xgboost"], xai_params, 42)
    # float32 trees: the exact identity holds to ~1e-6, never to 1e-12
    strict = {**xai_params, "shap_tolerance": 1e-12}
    with pytest.raises(ShapAdditivityError, match="SHAP local accuracy fails"):
        explain_with_shap(model, train, test, strict)
