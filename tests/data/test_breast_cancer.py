from __future__ import annotations

import pandas as pd
import pytest

from genpipe.data.breast_cancer import TARGET, load_frame, stratified_split


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return load_frame()


def test_load_frame_shape(frame: pd.DataFrame) -> None:
    assert len(frame) == 569
    assert TARGET in frame.columns
    assert len(frame.columns.drop(TARGET)) == 30
    assert set(frame[TARGET].unique()) == {0, 1}


def test_stratified_split_sizes(frame: pd.DataFrame) -> None:
    train, test = stratified_split(frame, 0.3, 42)
    assert (len(train), len(test)) == (398, 171)


def test_stratified_split_keeps_class_proportions(frame: pd.DataFrame) -> None:
    train, test = stratified_split(frame, 0.3, 42)
    assert abs(train[TARGET].mean() - test[TARGET].mean()) < 0.01


def test_stratified_split_row_ids_disjoint_and_complete(frame: pd.DataFrame) -> None:
    train, test = stratified_split(frame, 0.3, 42)
    train_ids, test_ids = set(train["row_id"]), set(test["row_id"])
    assert train_ids.isdisjoint(test_ids)
    assert train_ids | test_ids == set(range(len(frame)))


def test_stratified_split_rows_match_source(frame: pd.DataFrame) -> None:
    _, test = stratified_split(frame, 0.3, 42)
    source = frame.loc[test["row_id"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(test.drop(columns="row_id"), source)


def test_stratified_split_is_deterministic(frame: pd.DataFrame) -> None:
    first = stratified_split(frame, 0.3, 42)
    second = stratified_split(frame, 0.3, 42)
    for a, b in zip(first, second, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_stratified_split_depends_on_seed(frame: pd.DataFrame) -> None:
    _, test_a = stratified_split(frame, 0.3, 42)
    _, test_b = stratified_split(frame, 0.3, 43)
    assert set(test_a["row_id"]) != set(test_b["row_id"])
