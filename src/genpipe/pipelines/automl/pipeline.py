"""The `automl` pipeline."""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.automl.nodes import (
    compare_models,
    evaluate_xgboost,
    run_autosklearn_search,
    tune_xgboost,
)

SPLITS = ["breast_cancer_train", "breast_cancer_test"]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(tune_xgboost,
             ["breast_cancer_train", "params:xgboost", "params:automl", "params:seed"],
             ["automl_best_params", "automl_trials", "automl_history_plot",
              "automl_tuning_metrics", "automl_search_seconds"],
             name="tune_xgboost_node"),
        Node(evaluate_xgboost,
             [*SPLITS, "params:xgboost", "automl_best_params", "params:automl",
              "params:seed", "automl_search_seconds"],
             ["xgboost_tuned_mlflow_model", "automl_xgboost_rows",
              "automl_xgboost_metrics"],
             name="evaluate_xgboost_node"),
        Node(run_autosklearn_search, [*SPLITS, "params:automl", "params:seed"],
             ["autosklearn_cv_results", "autosklearn_ensemble",
              "autosklearn_statistics", "autosklearn_test_predictions",
              "autosklearn_cv_scores_plot", "autosklearn_ensemble_weights_plot",
              "automl_autosklearn_row", "autosklearn_metrics"],
             name="run_autosklearn_node"),
        Node(compare_models, ["automl_xgboost_rows", "automl_autosklearn_row"],
             "automl_comparison", name="compare_models_node"),
    ])
