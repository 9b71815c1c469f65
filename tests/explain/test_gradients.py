import numpy as np
import torch

from genpipe.explain.gradients import integrated_gradients


def test_ig_of_a_linear_model_is_weight_times_displacement():
    model = torch.nn.Linear(3, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[2.0, -1.0, 0.5]]))
        model.bias.fill_(0.3)
    scalar = torch.nn.Sequential(model, torch.nn.Flatten(0))
    X = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])
    baseline = np.array([1.0, 0.0, 0.0])
    attributions, delta = integrated_gradients(scalar, X, baseline, n_steps=8)
    # IG_j = w_j (x_j - x'_j) exactly for a linear model
    np.testing.assert_allclose(attributions, [[0.0, -2.0, 1.5], [-2.0, 1.0, 2.0]],
                               atol=1e-5)
    np.testing.assert_allclose(delta, 0.0, atol=1e-5)


def test_completeness_on_a_nonlinear_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
                                torch.nn.Linear(8, 1), torch.nn.Flatten(0))
    X = np.random.default_rng(0).normal(size=(5, 4))
    attributions, delta = integrated_gradients(model, X, np.zeros(4), n_steps=64)
    with torch.no_grad():
        gap = (model(torch.as_tensor(X, dtype=torch.float32))
               - model(torch.zeros(1, 4))).numpy()
    # sum_j IG_j(x) = F(x) - F(x'), up to the quadrature error Captum reports
    np.testing.assert_allclose(attributions.sum(axis=1), gap, atol=1e-3)
    assert np.abs(delta).max() < 1e-3
