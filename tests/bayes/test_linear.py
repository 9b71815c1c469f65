import numpy as np
import pytest

from genpipe.bayes import experiments, linear
from genpipe.bayes.config import MleMapConfig


def test_features_are_powers_of_x():
    assert linear.features(np.array([2.0]), 2).tolist() == [[1.0, 2.0, 4.0]]


def test_posterior_by_hand_intercept_only():
    # phi = 1, y = (1, 3), sigma = tau = 1: S_N = 1 / (2 + 1), m_N = S_N * 4
    phi, y = np.ones((2, 1)), np.array([1.0, 3.0])
    post = linear.posterior(phi, y, sigma=1.0, tau=1.0)
    assert post.cov[0, 0] == pytest.approx(1 / 3)
    assert post.mean[0] == pytest.approx(4 / 3)
    mean, sd = linear.predictive(post, np.ones((1, 1)), sigma=1.0)
    assert mean[0] == pytest.approx(4 / 3)
    assert sd[0] == pytest.approx(np.sqrt(1 + 1 / 3))
    assert linear.mle(phi, y)[0] == pytest.approx(2.0)  # the sample mean


def test_map_is_ridge_with_lambda_sigma2_over_tau2():
    rng = np.random.default_rng(0)
    phi, y = rng.standard_normal((10, 4)), rng.standard_normal(10)
    sigma, tau = 0.5, 2.0
    np.testing.assert_allclose(linear.posterior(phi, y, sigma, tau).mean,
                               linear.ridge(phi, y, sigma**2 / tau**2))
    np.testing.assert_allclose(linear.ridge(phi, y, 0.0), linear.mle(phi, y))


def test_mle_map_experiment_matches_its_closed_forms_and_map_generalises():
    report = experiments.mle_map(MleMapConfig(n_test=300), np.random.default_rng(1))
    assert report.metrics["map_max_abs_error"] < 1e-5
    assert report.metrics["lambda_map"] == pytest.approx(0.3**2 / 1.0**2)
    assert report.metrics["test_mse_map"] < report.metrics["test_mse_mle"]
    assert report.metrics["train_mse_mle"] <= report.metrics["train_mse_map"]
    assert report.metrics["weight_norm_map"] < report.metrics["weight_norm_mle"]
    assert 0.85 < report.metrics["predictive_coverage"] <= 1.0
    assert list(report.table.columns) == ["lambda", "weight_norm", "train_mse",
                                          "test_mse"]
    assert report.table["weight_norm"].is_monotonic_decreasing  # shrinkage
