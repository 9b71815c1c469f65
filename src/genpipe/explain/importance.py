"""Global feature importances side by side, and how much they agree.

XGBoost's own importances count splits (`weight`) or average the loss
reduction of a feature's splits (`gain`); both describe the training
procedure, not the model's output, and can rank features very differently
from mean |SHAP| (Lundberg et al. 2018, "Consistent individualized feature
attribution for tree ensembles": gain is not consistent).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xgboost
from scipy.stats import spearmanr


def xgboost_importance(model: xgboost.XGBClassifier, feature_names: list[str],
                       kind: str) -> pd.Series:
    """`weight` (number of splits) or `gain` (mean loss reduction per split)
    per feature; features the trees never split on get 0."""
    scores = model.get_booster().get_score(importance_type=kind)
    return pd.Series([float(scores.get(name, 0.0)) for name in feature_names],
                     index=feature_names, name=kind)


def spearman(a: pd.Series, b: pd.Series) -> float:
    """Spearman's rank correlation of two importances over the same features
    (ties, e.g. unused features at 0, get their average rank)."""
    a, b = a.align(b, join="inner")
    return float(spearmanr(a.to_numpy(), b.to_numpy()).statistic)


def top_features(importances: Mapping[str, pd.Series], k: int) -> pd.DataFrame:
    """The `k` most important features by each method, one column per method.

    Features are ranked by |importance|, ties by name, so the table is a pure
    function of its inputs; rows are ranks 1..k.
    """
    columns = {}
    for method, values in importances.items():
        frame = pd.DataFrame({"feature": values.index, "score": np.abs(values.values)})
        ranked = frame.sort_values(["score", "feature"], ascending=[False, True])
        names = ranked["feature"].tolist()[:k]
        columns[method] = names + [""] * (k - len(names))
    return pd.DataFrame(columns, index=pd.RangeIndex(1, k + 1, name="rank"))
