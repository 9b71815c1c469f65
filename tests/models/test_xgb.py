import math

import numpy as np
import optuna
import pytest

from genpipe.config import XGBoostConfig
from genpipe.models.xgb import (
    classification_metrics,
    cross_validate,
    fit_classifier,
    margin,
)

PARAMS = XGBoostConfig(n_estimators=10, max_depth=2).model_dump()


def toy(n: int = 120):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] - X[:, 1] > 0).astype(int)


def test_classification_metrics_against_hand_values():
    y = np.array([0, 0, 1, 1])
    proba = np.array([0.2, 0.6, 0.7, 0.9])
    metrics = classification_metrics(y, proba)
    assert metrics["test_acc"] == 0.75  # 0.6 is the one mistake
    assert metrics["test_roc_auc"] == 1.0  # every positive above every negative
    expected = -(math.log(0.8) + math.log(0.4) + math.log(0.7) + math.log(0.9)) / 4
    assert metrics["test_log_loss"] == pytest.approx(expected)


def test_margin_is_the_log_odds_of_the_predicted_probability():
    X, y = toy()
    model, seconds = fit_classifier(X, y, PARAMS, seed=0, feature_names=list("abc"))
    assert seconds > 0
    assert model.get_booster().feature_names == ["a", "b", "c"]
    proba = model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-margin(model, X))), proba, rtol=1e-5)


def test_fit_is_deterministic_for_a_seed():
    X, y = toy()
    params = {**PARAMS, "subsample": 0.7, "colsample_bytree": 0.7}
    a, _ = fit_classifier(X, y, params, seed=3)
    b, _ = fit_classifier(X, y, params, seed=3)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_cross_validation_reports_running_means_and_can_be_stopped():
    X, y = toy()
    seen = []
    score = cross_validate(X, y, PARAMS, seed=0, folds=4, metric="accuracy",
                           on_fold=lambda fold, mean: seen.append((fold, mean)))
    assert [fold for fold, _ in seen] == [0, 1, 2, 3]
    assert seen[-1][1] == score and 0.8 < score <= 1.0
    assert cross_validate(X, y, PARAMS, 0, 4, "log_loss") < 0  # negated

    def prune_at_once(fold, mean):
        raise optuna.TrialPruned()

    with pytest.raises(optuna.TrialPruned):
        cross_validate(X, y, PARAMS, 0, 4, "roc_auc", on_fold=prune_at_once)
