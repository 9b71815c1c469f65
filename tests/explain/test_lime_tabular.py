import numpy as np

from genpipe.explain.lime_tabular import explain_row


def test_lime_finds_the_only_feature_the_model_uses():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))

    def predict_proba(rows: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-4 * rows[:, 2]))  # only feature "c" matters
        return np.column_stack([1 - p, p])

    table = explain_row(predict_proba, X, X[0], list("abcd"), ["no", "yes"],
                        num_features=2, num_samples=500, seed=0)
    assert table.columns.tolist() == ["feature", "condition", "weight"]
    assert len(table) == 2 and table["feature"].iloc[0] == "c"
    assert "c" in table["condition"].iloc[0]
    assert abs(table["weight"].iloc[0]) > 5 * abs(table["weight"].iloc[1])
    assert set(table.attrs) == {"intercept", "score", "prediction"}
    again = explain_row(predict_proba, X, X[0], list("abcd"), ["no", "yes"],
                        num_features=2, num_samples=500, seed=0)
    assert again.equals(table)  # seeded
