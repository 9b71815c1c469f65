"""XGBoost binary classifier: fit, margins, test metrics, stratified CV.

Named `xgb.py`, not `xgboost.py`, so it never reads as the library itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np
import xgboost
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold


def make_classifier(params: Mapping, seed: int) -> xgboost.XGBClassifier:
    """An unfitted classifier from an `xgboost` parameter block.

    Args:
        params: `XGBoostConfig.model_dump()` (hyper-parameters, threads).
        seed: XGBoost's `random_state` (row/column subsampling).
    """
    return xgboost.XGBClassifier(**params, random_state=seed,
                                 objective="binary:logistic", eval_metric="logloss")


def fit_classifier(X: np.ndarray, y: np.ndarray, params: Mapping, seed: int,
                   feature_names: list[str] | None = None,
                   ) -> tuple[xgboost.XGBClassifier, float]:
    """Fits a classifier; returns it and the fit's wall time in seconds.

    With `feature_names` the booster knows the columns by name, so its
    importances and the SHAP/LIME tables speak of `worst radius`, not `f20`.
    """
    model = make_classifier(params, seed)
    start = time.perf_counter()
    if feature_names is not None:
        import pandas as pd

        model.fit(pd.DataFrame(X, columns=feature_names), y)
    else:
        model.fit(X, y)
    return model, time.perf_counter() - start


def margin(model: xgboost.XGBClassifier, X: np.ndarray) -> np.ndarray:
    """The raw log-odds f(x) = base score + sum of leaf values (what SHAP sums to)."""
    return model.get_booster().predict(xgboost.DMatrix(
        X, feature_names=model.get_booster().feature_names), output_margin=True)


def classification_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy (threshold 0.5), ROC AUC and log-loss of P(class 1)."""
    proba = np.asarray(proba, dtype=np.float64)
    return {"test_acc": float(accuracy_score(y, proba >= 0.5)),
            "test_roc_auc": float(roc_auc_score(y, proba)),
            "test_log_loss": float(log_loss(y, np.clip(proba, 1e-15, 1 - 1e-15),
                                            labels=[0, 1]))}


CV_SCORES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": lambda y, p: float(accuracy_score(y, p >= 0.5)),
    "roc_auc": lambda y, p: float(roc_auc_score(y, p)),
    # negated, so that every CV score is maximised
    "log_loss": lambda y, p: -float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15),
                                             labels=[0, 1])),
}


def cross_validate(X: np.ndarray, y: np.ndarray, params: Mapping, seed: int,
                   folds: int, metric: str,
                   on_fold: Callable[[int, float], None] | None = None) -> float:
    """Mean score over stratified folds of the training data.

    Args:
        X, y: Training features and labels (the test split never enters).
        params: The classifier's hyper-parameters.
        seed: Seeds the fold assignment and the classifier.
        folds: Number of stratified folds.
        metric: A key of `CV_SCORES` (`log_loss` is negated: higher is better).
        on_fold: Called after each fold with `(fold, running mean)`, e.g. to
            report to an Optuna pruner, which may stop the CV by raising.

    Returns:
        The mean of the fold scores.
    """
    score = CV_SCORES[metric]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = []
    for fold, (fit_idx, val_idx) in enumerate(splitter.split(X, y)):
        model = make_classifier(params, seed).fit(X[fit_idx], y[fit_idx])
        scores.append(score(y[val_idx], model.predict_proba(X[val_idx])[:, 1]))
        if on_fold is not None:
            on_fold(fold, float(np.mean(scores)))
    return float(np.mean(scores))
