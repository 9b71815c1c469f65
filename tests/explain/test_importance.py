import numpy as np
import pandas as pd
import pytest
import xgboost

from genpipe.explain.importance import spearman, top_features, xgboost_importance


def test_spearman_on_hand_ranked_values():
    a = pd.Series([1.0, 2.0, 3.0, 4.0], index=list("pqrs"))
    assert spearman(a, a * 10) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    # ranks (1,2,3,4) vs (2,1,4,3): d^2 = 4, rho = 1 - 6*4/(4*15) = 0.6
    b = pd.Series([2.0, 1.0, 4.0, 3.0], index=list("pqrs"))
    assert spearman(a, b) == pytest.approx(0.6)
    assert spearman(a, b[::-1]) == pytest.approx(0.6)  # aligned by feature name


def test_top_features_ranks_by_magnitude_ties_by_name_and_pads():
    table = top_features({
        "m1": pd.Series({"x": 0.1, "y": -0.9, "z": 0.5}),
        "m2": pd.Series({"y": 1.0, "x": 1.0}),
    }, k=3)
    assert table.index.tolist() == [1, 2, 3]
    assert table["m1"].tolist() == ["y", "z", "x"]
    assert table["m2"].tolist() == ["x", "y", ""]


def test_unused_features_get_zero_xgboost_importance():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=60), np.zeros(60)])  # constant: unusable
    y = (X[:, 0] > 0).astype(int)
    model = xgboost.XGBClassifier(n_estimators=3, max_depth=1, n_jobs=1).fit(
        pd.DataFrame(X, columns=["u", "c"]), y)
    weight = xgboost_importance(model, ["u", "c"], "weight")
    assert weight["u"] == 3 and weight["c"] == 0  # one split per stump, all on u
    assert xgboost_importance(model, ["u", "c"], "gain")["u"] > 0
