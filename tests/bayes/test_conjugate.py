import numpy as np
import pytest

from genpipe.bayes import conjugate, experiments
from genpipe.bayes.config import ConjugacyConfig


def test_beta_binomial_update_by_hand():
    table = conjugate.beta_binomial_updates((2.0, 2.0), [np.array([1, 0, 1])])
    prior, post = table.iloc[0], table.iloc[1]
    assert (prior["a"], prior["b"], prior["n"]) == (2, 2, 0)
    assert np.isnan(prior["mle"])
    assert (post["a"], post["b"], post["n"]) == (4, 3, 3)  # Beta(2 + 2, 2 + 1)
    assert post["posterior_mean"] == pytest.approx(4 / 7)
    assert post["predictive_p1"] == pytest.approx(4 / 7)
    assert post["mle"] == pytest.approx(2 / 3)


def test_gamma_poisson_update_and_predictive_by_hand():
    table = conjugate.gamma_poisson_updates((2.0, 1.0), [np.array([3, 5])])
    post = table.iloc[1]
    assert (post["a"], post["b"]) == (10, 3)  # Gamma(2 + 8, 1 + 2)
    assert post["posterior_mean"] == pytest.approx(10 / 3)
    assert post["posterior_sd"] == pytest.approx(np.sqrt(10) / 3)
    assert post["predictive_var"] == pytest.approx(10 * 4 / 9)
    nb = conjugate.gamma_poisson_predictive(10, 3)
    assert nb.mean() == pytest.approx(10 / 3)
    assert nb.var() == pytest.approx(40 / 9)


def test_sequential_updates_equal_one_batch_update():
    batches = [np.array([1, 1, 0]), np.array([0, 0]), np.array([1])]
    sequential = conjugate.beta_binomial_updates((1.0, 1.0), batches).iloc[-1]
    once = conjugate.beta_binomial_updates((1.0, 1.0), [np.concatenate(batches)])
    assert sequential[["a", "b"]].tolist() == once.iloc[-1][["a", "b"]].tolist()


def test_conjugacy_experiment_agrees_with_quadrature_and_monte_carlo():
    config = ConjugacyConfig(batches=5)
    report = experiments.conjugacy(config, np.random.default_rng(0))
    checks = report.checks.set_index("quantity")["abs_error"]
    assert checks["beta_posterior_mean_quadrature"] < 1e-6
    assert checks["gamma_posterior_mean_quadrature"] < 1e-6
    assert checks["beta_predictive_p1_monte_carlo"] < 0.01
    assert checks["gamma_predictive_mean_monte_carlo"] < 0.05
    beta = report.table[report.table["model"] == "beta_binomial"]
    assert beta["posterior_sd"].is_monotonic_decreasing  # more data, less doubt
    assert report.metrics["beta_posterior_mean_error"] < 0.1
