"""The `automl` pipeline."""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.automl.nodes import (
    compare_models,
    evaluate_xgboost,
    run_autosklearn_search,
    tune_xgboost,
)
from genpipe.tracking import run_tags

SPLITS = ["breast_cancer_train", "breast_cancer_test"]
TUNED = run_tags("xgboost_tuned", "tabular")


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(tune_xgboost,
             ["breast_cancer_train", "params:xgboost", "params:automl", "params:seed"],
             ["automl_best_params", "automl_trials", "automl_history_plot",
              "automl_tuning_metrics", "automl_search_seconds"],
             name="tune_xgboost_node", tags=TUNED),
        Node(evaluate_xgboost,
             [*SPLITS, "params:xgboost", "automl_best_params", "params:automl",
              "params:seed", "automl_search_seconds"],
             ["xgboost_tuned_mlflow_model", "automl_xgboost_rows",
              "automl_xgboost_metrics"],
             name="evaluate_xgboost_node", tags=TUNED),
        Node(run_autosklearn_search, [*SPLITS, "params:automl", "params:seed"],
             ["autosklearn_cv_results", "autosklearn_ensemble",
              "autosklearn_statistics", "autosklearn_test_predictions",
              "autosklearn_cv_scores_plot", "autosklearn_ensemble_weights_plot",
              "automl_autosklearn_row", "autosklearn_metrics"],
             name="run_autosklearn_node",
             tags=run_tags("autosklearn", "tabular")),
        Node(compare_models, ["automl_xgboost_rows", "automl_autosklearn_row"],
             "automl_comparison", name="compare_models_node"),
    ])
