"""LIME (Ribeiro et al. 2016, "Why should I trust you?") for one tabular row.

LIME samples perturbations around the row (here from the training data's
quartiles), weights them by proximity, and fits a sparse linear model to the
classifier's probabilities: its coefficients are the explanation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def explain_row(predict_proba: Callable[[np.ndarray], np.ndarray],
                X_train: np.ndarray, row: np.ndarray, feature_names: list[str],
                class_names: list[str], num_features: int, num_samples: int,
                seed: int) -> pd.DataFrame:
    """The LIME explanation of class 1 for `row`.

    Args:
        predict_proba: (n x d) -> (n x 2) class probabilities.
        X_train: Training rows: the quartiles perturbations are drawn from.
        row: The row explained (d,).
        feature_names, class_names: For the explanation's labels.
        num_features: Features kept in the linear model.
        num_samples: Perturbations drawn.
        seed: LIME's random state.

    Returns:
        One row per kept feature, by decreasing |weight|: `feature`,
        `condition` (e.g. ``worst radius <= 13.01``) and `weight` (its
        coefficient for P(class 1)); `.attrs` holds the local model's
        `intercept`, `score` (R^2) and `prediction`.
    """
    from lime.lime_tabular import LimeTabularExplainer  # imports skimage: lazily

    explainer = LimeTabularExplainer(
        X_train, feature_names=feature_names, class_names=class_names,
        mode="classification", discretize_continuous=True, random_state=seed)
    explanation = explainer.explain_instance(
        row, predict_proba, labels=(1,), num_features=num_features,
        num_samples=num_samples)
    conditions = dict(explanation.as_list(label=1))
    rows = [{"feature": feature_names[index], "weight": float(weight)}
            for index, weight in explanation.as_map()[1]]
    for item, condition in zip(rows, conditions, strict=True):
        item["condition"] = condition
    table = pd.DataFrame(rows, columns=["feature", "condition", "weight"])
    table.attrs = {"intercept": float(explanation.intercept[1]),
                   "score": float(explanation.score),
                   "prediction": float(np.ravel(explanation.local_pred)[0])}
    return table
