"""Breast Cancer Wisconsin (diagnostic), shipped with scikit-learn."""

from __future__ import annotations

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

TARGET = "target"  # 0 = malignant, 1 = benign (scikit-learn's coding)


def load_frame() -> pd.DataFrame:
    """The 569 x 30 feature table with its feature names, plus `target`."""
    return load_breast_cancer(as_frame=True).frame


def stratified_split(frame: pd.DataFrame, test_size: float,
                     random_state: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The course's split: stratified on the target, shuffled with `random_state`."""
    train, test = train_test_split(frame, test_size=test_size,
                                   random_state=random_state,
                                   stratify=frame[TARGET])
    return train.reset_index(names="row_id"), test.reset_index(names="row_id")
