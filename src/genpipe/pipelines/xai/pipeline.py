"""The `xai` pipeline."""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.xai.nodes import (
    compare_importances,
    explain_with_integrated_gradients,
    explain_with_lime,
    explain_with_shap,
    tabulate_top_features,
    train_xgboost,
)
from genpipe.tracking import run_tags

SPLITS = ["breast_cancer_train", "breast_cancer_test"]
XGBOOST, MLP = run_tags("xgboost", "tabular"), run_tags("mlp", "tabular")


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(train_xgboost, [*SPLITS, "params:xgboost", "params:xai", "params:seed"],
             ["xgboost_model", "xgboost_mlflow_model", "xgboost_metrics"],
             name="train_xgboost_node", tags=XGBOOST),
        Node(explain_with_shap, ["xgboost_model", *SPLITS, "params:xai"],
             ["xai_shap_values", "xai_shap_beeswarm_plot", "xai_shap_bar_plot",
              "xai_shap_waterfall_plot", "xai_shap_metrics"],
             name="explain_with_shap_node", tags=XGBOOST),
        Node(compare_importances, ["xgboost_model", "xai_shap_values"],
             ["xai_importances", "xai_importances_plot", "xai_importance_metrics"],
             name="compare_importances_node", tags=XGBOOST),
        Node(explain_with_lime, ["xgboost_model", *SPLITS, "params:xai", "params:seed"],
             ["xai_lime_explanation", "xai_lime_plot", "xai_lime_metrics"],
             name="explain_with_lime_node", tags=XGBOOST),
        Node(explain_with_integrated_gradients,
             [*SPLITS, "params:xai", "params:seed", "params:device"],
             ["tabular_mlp_model", "xai_integrated_gradients",
              "xai_integrated_gradients_plot", "mlp_metrics"],
             name="explain_with_integrated_gradients_node", tags=MLP),
        Node(tabulate_top_features,
             ["xai_importances", "xai_lime_explanation", "xai_integrated_gradients",
              "params:xai"],
             "xai_top_features", name="tabulate_top_features_node"),
    ])
