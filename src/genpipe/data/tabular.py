"""Feature tables in, validated `(X, y)` arrays out, for the tabular pipelines.

Each failure names its culprit: the missing column, or the column holding NaNs
and the rows where they are, so a bad input never reaches a model (XGBoost
would silently treat a NaN as "missing" and route it down a default branch).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from genpipe.data.breast_cancer import TARGET

ID_COLUMNS = ("row_id",)  # carried along by the ingestion, never a feature


class TabularInputError(ValueError):
    """A feature table lacks a column or holds values a model cannot take."""


def feature_names(frame: pd.DataFrame, features: Sequence[str] | None = None,
                  target: str = TARGET) -> list[str]:
    """The feature columns: `features` if given, else every column but target/ids.

    Raises:
        TabularInputError: The target or a requested feature is missing.
    """
    if target not in frame.columns:
        raise TabularInputError(f"target column {target!r} is missing "
                                f"(columns: {list(frame.columns)})")
    if features is None:
        return [c for c in frame.columns if c != target and c not in ID_COLUMNS]
    return list(features)


def features_and_target(frame: pd.DataFrame, features: Sequence[str],
                        name: str, target: str = TARGET) -> tuple[np.ndarray,
                                                                  np.ndarray]:
    """Checks `frame` and returns its feature matrix and integer labels.

    Args:
        frame: The table (e.g. `breast_cancer_train`).
        features: The columns to use, in this order.
        name: How messages call the table, e.g. ``"breast_cancer_test"``.
        target: The label column.

    Returns:
        `X` (n x len(features), float64) and `y` (n, int64).

    Raises:
        TabularInputError: A feature or the target is missing, a feature is not
            numeric, or a feature or the target holds NaN / infinite values.
    """
    missing = [c for c in [*features, target] if c not in frame.columns]
    if missing:
        raise TabularInputError(f"{name}: column(s) {missing} missing "
                                f"({len(frame.columns)} columns present)")
    not_numeric = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    if not_numeric:
        raise TabularInputError(f"{name}: non-numeric feature column(s) {not_numeric}")
    values = frame[list(features)].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        columns = [features[j] for j in np.flatnonzero(bad.any(axis=0))]
        first = columns[0]
        rows = frame.index[bad[:, list(features).index(first)]].tolist()
        raise TabularInputError(
            f"{name}: NaN or infinite values in feature column(s) {columns}; "
            f"{first!r} at rows {rows[:10]}{' ...' if len(rows) > 10 else ''}")
    labels = frame[target]
    if labels.isna().any():
        raise TabularInputError(f"{name}: {int(labels.isna().sum())} missing "
                                f"label(s) in {target!r}")
    return values, labels.to_numpy(dtype=np.int64)
