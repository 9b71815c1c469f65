import numpy as np
import pytest
from scipy import stats

from genpipe.bayes import evidence, experiments
from genpipe.bayes.config import EvidenceConfig


def test_log_evidence_by_hand_one_weight():
    # t = (1), phi = (1), alpha = beta = 1: t ~ N(0, 1/beta + 1/alpha) = N(0, 2)
    phi, t = np.ones((1, 1)), np.array([1.0])
    assert evidence.log_evidence(phi, t, 1.0, 1.0) == pytest.approx(
        stats.norm(0, np.sqrt(2)).logpdf(1.0))
    assert evidence.log_evidence_shared(phi, t, 1.0, 1.0) == pytest.approx(
        stats.norm(0, np.sqrt(2)).logpdf(1.0))


def test_eq_3_86_equals_the_gaussian_marginal():
    rng = np.random.default_rng(0)
    phi, t = rng.standard_normal((15, 4)), rng.standard_normal(15)
    assert evidence.log_evidence_shared(phi, t, 0.7, 3.0) == pytest.approx(
        evidence.log_evidence(phi, t, 0.7, 3.0))


def test_gaussian_kernel_has_a_bias_and_one_column_per_centre():
    phi = evidence.gaussian_kernel(np.array([0.0, 1.0]), np.array([0.0]), 1.0)
    np.testing.assert_allclose(phi, [[1, 1], [1, np.exp(-0.5)]])


def test_fixed_point_is_the_evidence_maximum_and_rvm_is_sparse():
    report = experiments.evidence_maximisation(
        EvidenceConfig(n_train=30, n_test=100), np.random.default_rng(0))
    checks = report.checks.set_index("quantity")
    assert checks.loc["log_evidence_eq_3_86", "abs_error"] < 1e-8
    for name in ("alpha_numerical_max", "beta_numerical_max"):
        assert checks.loc[name, "computed"] == pytest.approx(
            checks.loc[name, "closed_form"], rel=1e-3)
    m = report.metrics
    assert m["log_evidence_rvm"] >= m["log_evidence_shared"]
    assert 1 <= m["relevance_vectors"] < 0.5 * m["basis_functions"]
    assert m["noise_sd_rvm"] == pytest.approx(0.1, rel=0.5)
