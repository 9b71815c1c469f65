"""SHAP values of a tree ensemble (Lundberg & Lee 2017; Lundberg et al. 2020,
"From local explanations to global understanding with explainable AI for
trees") and the check that they add up.

Local accuracy (SHAP's first property): for every row x,
    f(x) = phi_0 + sum_j phi_j(x),
with f the model's raw output (for XGBoost's logistic objective: the margin,
i.e. log-odds) and phi_0 = E[f(X)] the explainer's expected value. TreeSHAP is
exact, so only floating-point error may separate the two sides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xgboost

from genpipe.models.xgb import margin

if TYPE_CHECKING:  # shap takes seconds to import (numba): only when explaining
    import shap


class ShapAdditivityError(AssertionError):
    """SHAP values plus the expected value do not give back the model's margin."""


def tree_shap(model: xgboost.XGBClassifier, X: np.ndarray,
              feature_names: list[str]) -> shap.Explanation:
    """Exact TreeSHAP values of `model`'s margin for every row of `X`.

    Returns:
        A `shap.Explanation`: `.values` (n x d, log-odds), `.base_values` (n,)
        and `.data`, with the feature names, ready for `shap.plots`.
    """
    import shap

    explainer = shap.TreeExplainer(model, model_output="raw")
    return explainer(pd.DataFrame(X, columns=feature_names))


def shap_sums(explanation: shap.Explanation) -> np.ndarray:
    """phi_0 + sum_j phi_j(x) per row: what local accuracy says f(x) is."""
    values = np.asarray(explanation.values, dtype=np.float64)
    base = np.broadcast_to(np.asarray(explanation.base_values, dtype=np.float64),
                           (len(values),))
    return base + values.sum(axis=1)


def additivity_errors(explanation: shap.Explanation,
                      margins: np.ndarray) -> np.ndarray:
    """|phi_0 + sum_j phi_j(x) - f(x)| per row."""
    return np.abs(shap_sums(explanation) - np.asarray(margins, np.float64))


def check_local_accuracy(model: xgboost.XGBClassifier, explanation: shap.Explanation,
                         X: np.ndarray, tolerance: float) -> float:
    """Checks local accuracy on every row; returns the largest error.

    Raises:
        ShapAdditivityError: Some row's error exceeds `tolerance`; the message
            names the worst row, both sides and how many rows failed.
    """
    margins = margin(model, X)
    sums = shap_sums(explanation)
    errors = np.abs(sums - margins)
    worst = int(np.argmax(errors))
    if errors[worst] > tolerance:
        raise ShapAdditivityError(
            f"SHAP local accuracy fails on {int((errors > tolerance).sum())} of "
            f"{len(errors)} rows: row {worst} has expected value + sum of SHAP "
            f"values = {sums[worst]:.8g} vs margin "
            f"{margins[worst]:.8g} (error {errors[worst]:.3g} > tolerance "
            f"{tolerance:g})")
    return float(errors[worst])


def mean_abs_shap(explanation: shap.Explanation) -> pd.Series:
    """Global importance: mean |phi_j| over the rows, by feature name."""
    return pd.Series(np.abs(np.asarray(explanation.values)).mean(axis=0),
                     index=list(explanation.feature_names), name="mean_abs_shap")
