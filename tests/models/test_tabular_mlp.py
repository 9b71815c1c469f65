import numpy as np
import pytest
import torch

from genpipe.config import TabularMLPConfig
from genpipe.models.tabular_mlp import Standardizer, TabularMLP


def test_standardizer_against_hand_values_and_constant_columns():
    X = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = Standardizer.fit(X)
    np.testing.assert_allclose(scaler.mean, [2.0, 5.0])
    np.testing.assert_allclose(scaler.scale, [1.0, 1.0])  # std 1; 0 becomes 1
    np.testing.assert_allclose(scaler.transform([[4.0, 7.0]]), [[2.0, 2.0]])


def test_mlp_outputs_one_logit_per_row_and_probabilities():
    model = TabularMLP(TabularMLPConfig(hidden=(8, 4)), num_features=5)
    x = torch.randn(7, 5)
    assert model(x).shape == (7,)
    proba = model.predict_proba(x)
    assert proba.shape == (7,) and ((proba > 0) & (proba < 1)).all()
    assert model.training  # predict_proba restores the mode it found


def test_restore_best_needs_a_validation_epoch_and_loads_it():
    model = TabularMLP(TabularMLPConfig(hidden=(4,)), num_features=2)
    with pytest.raises(RuntimeError, match="no validation epoch"):
        model.restore_best()
    model.best_state = {k: torch.zeros_like(v) for k, v in model.state_dict().items()}
    model.restore_best()
    assert all((v == 0).all() for v in model.state_dict().values())
