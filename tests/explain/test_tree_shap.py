import numpy as np
import pytest
import xgboost

from genpipe.explain.tree_shap import (
    ShapAdditivityError,
    additivity_errors,
    check_local_accuracy,
    mean_abs_shap,
    tree_shap,
)
from genpipe.models.xgb import margin

NAMES = ["a", "b"]


def stump() -> tuple[xgboost.XGBClassifier, np.ndarray]:
    """One depth-1 tree splitting on `a`; `b` is noise the tree never uses."""
    rng = np.random.default_rng(0)
    X = np.column_stack([np.r_[np.zeros(6), np.ones(4)], rng.normal(size=10)])
    y = np.r_[np.zeros(5), 1, np.ones(4)].astype(int)
    model = xgboost.XGBClassifier(n_estimators=1, max_depth=1, learning_rate=1.0,
                                  reg_lambda=0.0, min_child_weight=0.0,
                                  base_score=0.5, n_jobs=1)
    import pandas as pd

    model.fit(pd.DataFrame(X, columns=NAMES), y)
    return model, X


def test_stump_shap_values_match_the_hand_computed_ones():
    model, X = stump()
    tree = model.get_booster().trees_to_dataframe()
    leaves = tree[tree["Feature"] == "Leaf"].set_index("ID")
    split = tree[tree["Feature"] != "Leaf"].iloc[0]
    assert split["Feature"] == "a"
    left, right = leaves.loc[split["Yes"]], leaves.loc[split["No"]]
    # E[f] = base margin (logit 0.5 = 0) + cover-weighted mean of the leaves
    expected = (left["Cover"] * left["Gain"] + right["Cover"] * right["Gain"]) / (
        left["Cover"] + right["Cover"])
    explanation = tree_shap(model, X, NAMES)
    np.testing.assert_allclose(explanation.base_values, expected, atol=1e-6)
    leaf_of_row = np.where(X[:, 0] < split["Split"], left["Gain"], right["Gain"])
    # phi_a = leaf value - E[f]; phi_b = 0: the tree never looks at b
    np.testing.assert_allclose(explanation.values[:, 0], leaf_of_row - expected,
                               atol=1e-6)
    np.testing.assert_allclose(explanation.values[:, 1], 0.0, atol=1e-12)
    assert mean_abs_shap(explanation)["b"] == 0.0


def test_local_accuracy_holds_on_a_real_ensemble():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(X, y)
    explanation = tree_shap(model, X, list("wxyz"))
    errors = additivity_errors(explanation, margin(model, X))
    assert errors.shape == (80,) and errors.max() < 1e-5
    assert check_local_accuracy(model, explanation, X, 1e-4) == errors.max()


def test_a_broken_explanation_fails_the_check_naming_the_worst_row():
    model, X = stump()
    explanation = tree_shap(model, X, NAMES)
    explanation.values[3, 1] += 0.01  # as if an attribution went astray
    with pytest.raises(ShapAdditivityError,
                       match=r"fails on 1 of 10 rows: row 3 .*error 0\.01 > "
                             r"tolerance 0\.0001"):
        check_local_accuracy(model, explanation, X, 1e-4)
