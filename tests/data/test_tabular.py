import numpy as np
import pandas as pd
import pytest

from genpipe.data.tabular import TabularInputError, feature_names, features_and_target


def frame() -> pd.DataFrame:
    return pd.DataFrame({"row_id": [10, 11, 12], "mean radius": [1.0, 2.0, 3.0],
                         "worst area": [4.0, 5.0, 6.0], "target": [0, 1, 1]})


def test_features_default_to_every_column_but_target_and_ids():
    assert feature_names(frame()) == ["mean radius", "worst area"]
    assert feature_names(frame(), ["worst area"]) == ["worst area"]


def test_valid_table_gives_float_features_in_the_order_asked_and_int_labels():
    X, y = features_and_target(frame(), ["worst area", "mean radius"], "t")
    np.testing.assert_array_equal(X, [[4, 1], [5, 2], [6, 3]])
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(y, [0, 1, 1])


def test_missing_column_is_named():
    table = frame().drop(columns="worst area")
    with pytest.raises(TabularInputError, match=r"breast_cancer_test: column\(s\) "
                                                r"\['worst area'\] missing"):
        features_and_target(table, ["mean radius", "worst area"], "breast_cancer_test")


def test_missing_target_is_named():
    with pytest.raises(TabularInputError, match="target column 'target' is missing"):
        feature_names(frame().drop(columns="target"))
    with pytest.raises(TabularInputError, match=r"\['target'\] missing"):
        features_and_target(frame().drop(columns="target"), ["mean radius"], "t")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_feature_names_the_column_and_rows(bad):
    table = frame()
    table.loc[[0, 2], "worst area"] = bad
    with pytest.raises(TabularInputError,
                       match=r"train: NaN or infinite values in feature column\(s\) "
                             r"\['worst area'\]; 'worst area' at rows \[0, 2\]"):
        features_and_target(table, ["mean radius", "worst area"], "train")


def test_non_numeric_feature_and_missing_labels_are_refused():
    table = frame().assign(**{"mean radius": ["a", "b", "c"]})
    with pytest.raises(TabularInputError, match=r"non-numeric .*\['mean radius'\]"):
        features_and_target(table, ["mean radius"], "t")
    table = frame().astype({"target": "float"})
    table.loc[1, "target"] = np.nan
    with pytest.raises(TabularInputError, match="1 missing label"):
        features_and_target(table, ["mean radius"], "t")
