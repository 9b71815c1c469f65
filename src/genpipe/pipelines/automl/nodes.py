"""Nodes of the `automl` pipeline: Optuna-tuned XGBoost, auto-sklearn, and the
comparison with the default XGBoost on the course's test split."""

from __future__ import annotations

import json
import logging
import time

import optuna
import pandas as pd
import xgboost
from matplotlib.figure import Figure

from genpipe.automl import run_autosklearn, sprint_numbers
from genpipe.config import AutomlConfig, XGBoostConfig
from genpipe.data.tabular import feature_names, features_and_target
from genpipe.explain import figures
from genpipe.models.xgb import classification_metrics, cross_validate, fit_classifier
from genpipe.tuning.study import history_figure, report_and_maybe_prune, run_study

logger = logging.getLogger(__name__)

STUDY_DB = "data/07_model_output/automl_optuna.db"  # when `study.storage` is null


def _tables(train: pd.DataFrame, test: pd.DataFrame, config: AutomlConfig):
    names = feature_names(train, config.features)
    X_train, y_train = features_and_target(train, names, "breast_cancer_train")
    X_test, y_test = features_and_target(test, names, "breast_cancer_test")
    return names, X_train, y_train, X_test, y_test


def tune_xgboost(train: pd.DataFrame, xgb_params: dict, params: dict, seed: int,
                 ) -> tuple[dict, pd.DataFrame, Figure, dict[str, float], float]:
    """TPE over `automl.search_space`; objective = stratified k-fold CV score.

    Only the training split is used. Each trial is an MLflow child run; the
    running mean over folds is reported after each fold, so the median rule
    stops trials that trail earlier ones.

    Args:
        train: The training split.
        xgb_params: The `xgboost` block; tuned keys override it.
        params: The `automl` block.
        seed: Seeds the folds and the models (the sampler: `automl.study.seed`).

    Returns:
        The best configuration (a full `xgboost` block), every trial of the
        study as a table, the optimisation-history figure,
        `best_cv_score`, `trials`, `pruned`, `search_seconds`,
        and the search's wall time on its own (for the comparison).
    """
    config = AutomlConfig.model_validate(params)
    base = XGBoostConfig.model_validate(xgb_params)
    names = feature_names(train, config.features)
    X, y = features_and_target(train, names, "breast_cancer_train")

    def objective(trial: optuna.Trial, suggested: dict) -> float:
        candidate = XGBoostConfig.model_validate({**base.model_dump(), **suggested})
        return cross_validate(
            X, y, candidate.model_dump(), seed, config.cv_folds, config.cv_metric,
            on_fold=lambda fold, mean: report_and_maybe_prune(trial, mean, fold))

    start = time.perf_counter()
    study = run_study(objective, config.search_space, config.study, STUDY_DB,
                      metric_name=f"cv_{config.cv_metric}")
    seconds = time.perf_counter() - start
    states = pd.Series([t.state.name for t in study.trials])
    best = XGBoostConfig.model_validate({**base.model_dump(), **study.best_params})
    figure = history_figure(study)
    metrics = {"best_cv_score": float(study.best_value),
               "trials": float(len(study.trials)),
               "pruned": float((states == "PRUNED").sum()),
               "search_seconds": seconds}
    return best.model_dump(), study.trials_dataframe(), figure, metrics, seconds


def evaluate_xgboost(train: pd.DataFrame, test: pd.DataFrame, xgb_params: dict,
                     best_params: dict, params: dict, seed: int,
                     search_seconds: float,
                     ) -> tuple[xgboost.XGBClassifier, pd.DataFrame, dict]:
    """Refits the default and the tuned configuration on the whole training
    split; scores both on the test split.

    Args:
        search_seconds: The wall time of the search that found `best_params`.

    Returns:
        The tuned model (logged with MLflow's xgboost flavour), one comparison
        row per model, and the tuned model's test metrics (the default's as
        `baseline_…`).
    """
    config = AutomlConfig.model_validate(params)
    names, X_train, y_train, X_test, y_test = _tables(train, test, config)
    rows, metrics, models = [], {}, {}
    for family, block, search_s in (
            ("xgboost", xgb_params, 0.0),
            ("xgboost_tuned", best_params, search_seconds)):
        model, fit_s = fit_classifier(
            X_train, y_train, XGBoostConfig.model_validate(block).model_dump(), seed,
            names)
        scores = classification_metrics(y_test, model.predict_proba(X_test)[:, 1])
        # The tuned model's run holds plain keys; the default it is compared
        # with (the `xgboost` run's model, refitted here) is its baseline.
        key = "{}" if family == "xgboost_tuned" else "baseline_{}"
        metrics |= {key.format(k): v
                    for k, v in {**scores, "fit_seconds": fit_s}.items()}
        rows.append({"model": family, **scores, "fit_seconds": fit_s,
                     "search_seconds": search_s, "wall_seconds": fit_s + search_s})
        models[family] = model
    return models["xgboost_tuned"], pd.DataFrame(rows), metrics


def run_autosklearn_search(train: pd.DataFrame, test: pd.DataFrame, params: dict,
                           seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict,
                                               pd.DataFrame, Figure, Figure,
                                               pd.DataFrame, dict[str, float]]:
    """auto-sklearn, as the course runs it, in its isolated Python 3.9 environment.

    Returns:
        `cv_results_` (one row per pipeline tried, in order), the ensemble
        (`show_models()`: members, weights, preprocessors), a record with
        `sprint_statistics()`, `get_models_with_weights()` and the versions,
        the test predictions, the CV-score and ensemble-weight figures, a
        comparison row and the test metrics.

    Raises:
        AutoSklearnUnavailableError: The isolated interpreter is missing
            (the message says to run `make automl-env`).
    """
    config = AutomlConfig.model_validate(params)
    ask = config.autosklearn
    names, X_train, y_train, X_test, y_test = _tables(train, test, config)
    result = run_autosklearn(
        X_train, y_train, X_test, time_left_for_this_task=ask.time_left_for_this_task,
        per_run_time_limit=ask.per_run_time_limit, seed=seed,
        memory_limit_mb=ask.memory_limit_mb, n_jobs=ask.n_jobs,
        ensemble_size=ask.ensemble_size, grace_s=ask.grace_s,
        resampling_strategy=ask.resampling_strategy, folds=ask.folds,
        refit=ask.refit, python=ask.python,
        dataset_name="breast_cancer")
    logger.info("auto-sklearn:\n%s", result.sprint_statistics)
    scores = classification_metrics(y_test, result.test_proba)
    cv = pd.DataFrame(result.cv_results).rename_axis("pipeline").reset_index()
    ensemble = pd.DataFrame(result.ensemble)
    predictions = pd.DataFrame({"row_id": test["row_id"].to_numpy(),
                                "proba": result.test_proba,
                                "prediction": (result.test_proba >= 0.5).astype(int),
                                "target": y_test})
    record = {"sprint_statistics": result.sprint_statistics,
              "versions": result.versions,
              "models_with_weights": result.models_with_weights,
              "budget": ask.model_dump(), "seed": seed}
    metrics = {
        **scores, **sprint_numbers(result.sprint_statistics),
        "ensemble_members": float(len(ensemble)),
        "fit_seconds": result.fit_seconds, "refit_seconds": result.refit_seconds,
        "wall_seconds": result.wall_seconds,
    }
    row = pd.DataFrame([{"model": "autosklearn", **scores,
                         "fit_seconds": result.fit_seconds + result.refit_seconds,
                         "search_seconds": 0.0,
                         "wall_seconds": result.wall_seconds}])
    return (cv, ensemble, json.loads(json.dumps(record)), predictions,
            figures.cv_scores(cv.set_index("pipeline")),
            figures.ensemble_weights(ensemble), row, metrics)


def compare_models(xgboost_rows: pd.DataFrame,
                   autosklearn_row: pd.DataFrame) -> pd.DataFrame:
    """The comparison table: default XGBoost, tuned XGBoost, auto-sklearn.

    Columns: `model`, `test_acc`, `test_roc_auc`, `test_log_loss`,
    `fit_seconds` (the final model), `search_seconds` (Optuna's search; for
    auto-sklearn the search is its fit) and `wall_seconds` (all of it).
    """
    table = pd.concat([xgboost_rows, autosklearn_row], ignore_index=True)
    logger.info("Breast Cancer test split:\n%s", table.to_string(index=False))
    return table
