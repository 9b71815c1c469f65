import numpy as np
import pytest
import torch

from genpipe.models.generative.sparse_ae import sparsity_kl
from genpipe.theory import experiments, information
from genpipe.theory.config import DivergencesConfig, EntropyConfig, SparseKlConfig

WEATHER = np.array([0.35, 0.35, 0.10, 0.10, 0.04, 0.04, 0.01, 0.01])
CODE = information.code_distribution([2, 2, 3, 3, 4, 4, 5, 5])


def test_the_lectures_weather_values():
    assert round(information.entropy([0.75, 0.25]), 3) == 0.811
    assert round(information.entropy(WEATHER), 2) == 2.23
    assert information.cross_entropy(WEATHER, CODE) == pytest.approx(2.42)
    assert information.cross_entropy(WEATHER[::-1], CODE) == pytest.approx(4.58)


def test_entropy_by_hand():
    assert information.entropy([1.0, 0.0]) == 0.0  # 0 log 0 = 0
    assert information.entropy(np.full(8, 1 / 8)) == pytest.approx(3.0)
    assert information.entropy([0.5, 0.5], base=np.e) == pytest.approx(np.log(2))
    assert information.kl_divergence(WEATHER, WEATHER) == pytest.approx(0.0)
    # a code's cross-entropy is its mean length
    assert information.cross_entropy([0.5, 0.5], [0.25, 0.25]) == pytest.approx(2.0)


def test_entropy_experiment_reports_the_four_values():
    report = experiments.entropy(EntropyConfig())
    m = report.metrics
    assert round(m["entropy_sunny_rainy"], 3) == 0.811
    assert round(m["entropy_weather"], 2) == 2.23
    assert round(m["cross_entropy_weather_code"], 2) == 2.42
    assert round(m["cross_entropy_reversed_code"], 2) == 4.58
    assert m["kl_weather_code"] == pytest.approx(2.42 - m["entropy_weather"])
    assert (report.checks["abs_error"] < 1e-12).all()


def test_entropy_config_refuses_a_code_that_is_not_prefix_free():
    with pytest.raises(ValueError, match="Kraft"):
        EntropyConfig(code_lengths=(1, 1, 1, 3, 4, 4, 5, 5))


def test_gaussian_kl_closed_form_and_quadrature():
    for mu in (0.0, 0.5, 2.0):
        p, q = information.normal_pair(mu)
        assert information.gaussian_kl(0, 1, mu, 1) == pytest.approx(mu**2 / 2)
        assert information.kl_quadrature(p, q, -15, 15) == pytest.approx(mu**2 / 2,
                                                                          abs=1e-9)
    assert information.gaussian_kl(0, 1, 0, 2) == pytest.approx(
        np.log(2) + 1 / 8 - 0.5)


def test_js_is_symmetric_bounded_and_zero_at_equality():
    p, q = information.normal_pair(1.5)
    js = information.js_quadrature(p, q, -15, 15)
    assert js == pytest.approx(information.js_quadrature(q, p, -15, 15))
    assert 0 < js < np.log(2)
    assert information.js_quadrature(*information.normal_pair(0.0), -15, 15) == \
        pytest.approx(0.0, abs=1e-12)


def test_divergences_experiment():
    report = experiments.divergences(DivergencesConfig(mu_max=6, n_mu=7))
    m = report.metrics
    assert m["kl_max_abs_error"] < 1e-8
    assert np.log(2) - 0.01 < m["js_at_mu_max"] < np.log(2)
    assert m["js_gradient_at_mu_max"] < 0.05 < m["kl_gradient_at_mu_max"]


def test_bernoulli_kl_by_hand_and_as_the_sparse_ae_computes_it():
    # 0.25 ln(0.25 / 0.5) + 0.75 ln(0.75 / 0.5)
    expected = 0.25 * np.log(0.5) + 0.75 * np.log(1.5)
    assert information.bernoulli_kl(0.25, 0.5) == pytest.approx(expected)
    activations = torch.tensor([[0.4, 0.1], [0.6, 0.3]])  # mean 0.5, 0.2
    assert float(sparsity_kl(0.25, activations)) == pytest.approx(
        float(information.bernoulli_kl(0.25, np.array([0.5, 0.2])).sum()), rel=1e-6)
    assert information.bernoulli_kl_grad(0.25, 0.25) == pytest.approx(0.0)


def test_sparse_kl_experiment_minimum_at_rho():
    report = experiments.sparse_kl(SparseKlConfig(rho=0.25, n_points=999))
    assert report.metrics["argmin_rho_hat"] == pytest.approx(0.25)
    assert report.checks.set_index("quantity").loc["min_kl", "abs_error"] < 1e-12
