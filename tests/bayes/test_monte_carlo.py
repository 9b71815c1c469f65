import numpy as np
import pytest
from scipy import integrate, stats

from genpipe.bayes import experiments, monte_carlo
from genpipe.bayes.config import ImportanceConfig, McmcConfig, RejectionConfig


def test_beta_max_density_by_hand():
    assert monte_carlo.beta_max_density(2, 2) == pytest.approx(1.5)  # 6 x 1/4
    assert monte_carlo.beta_max_density(1, 1) == pytest.approx(1.0)


def test_rejection_acceptance_is_one_over_m():
    rng, n = np.random.default_rng(0), 20000
    target = stats.beta(2, 2)
    result = monte_carlo.rejection_sample(rng, target.pdf, stats.uniform(), 3.0, n)
    se = np.sqrt((1 / 3) * (2 / 3) / n)
    assert abs(result.acceptance_rate - 1 / 3) < 4 * se
    assert stats.kstest(result.samples, target.cdf).pvalue > 1e-3


def test_rejection_refuses_an_envelope_that_does_not_bound():
    with pytest.raises(ValueError, match="does not bound"):
        monte_carlo.rejection_sample(np.random.default_rng(0), stats.beta(2, 2).pdf,
                                     stats.uniform(), 1.2, 1000)


def test_rejection_experiment_within_tolerance_of_theory():
    report = experiments.rejection(RejectionConfig(n_proposals=5000),
                                   np.random.default_rng(0))
    table = report.table
    assert (abs(table["acceptance_rate"] - table["theory"])
            < 4 * table["binomial_se"]).all()
    assert report.metrics["acceptance_theory"] == pytest.approx(
        1 / monte_carlo.beta_max_density(3, 5))


def test_importance_closed_forms_by_hand():
    assert monte_carlo.normal_is_second_moment(1.0) == pytest.approx(1.0)
    assert monte_carlo.normal_is_second_moment(0.7) == np.inf  # s^2 < 1/2
    assert monte_carlo.normal_is_variance(0.5) == np.inf
    assert monte_carlo.normal_is_variance(1.0) == pytest.approx(2.0)  # E x^4 - 1
    # E_q[w^2] = int p^2 / q by quadrature, s = 2
    q = stats.norm(0, 2)
    numeric = integrate.quad(lambda x: stats.norm.pdf(x) ** 2 / q.pdf(x), -30, 30)[0]
    assert monte_carlo.normal_is_second_moment(2.0) == pytest.approx(numeric)
    assert monte_carlo.kish_ess(np.ones(4)) == 4
    assert monte_carlo.kish_ess(np.array([1.0, 0, 0, 0])) == 1


def test_importance_experiment_estimate_and_ess_match_theory():
    config = ImportanceConfig(n_samples=500, repeats=100)
    report = experiments.importance(config, np.random.default_rng(0))
    m = report.metrics
    assert abs(m["estimate"] - 1) < 4 * m["estimate_se"]
    assert m["ess_fraction"] == pytest.approx(m["theory_ess_fraction"], abs=0.02)
    assert m["estimate_var"] == pytest.approx(m["theory_var"], rel=0.3)
    # the poor proposal (s^2 < 1/2): far more variance than the good one
    assert m["poor_proposal_var"] > 100 * m["estimate_var"]


def test_normal_mixture_moments_by_quadrature():
    mix = monte_carlo.NormalMixture((-2.0, 2.0), 1.0)
    assert integrate.quad(mix.pdf, -20, 20)[0] == pytest.approx(1.0)
    assert integrate.quad(lambda x: x**2 * mix.pdf(x), -20, 20)[0] == \
        pytest.approx(mix.var())  # mean 0
    assert mix.var() == pytest.approx(5.0)
    assert mix.cdf(np.array(0.0)) == pytest.approx(0.5)


def test_gamma_log_density_is_minus_inf_off_support():
    log_p = monte_carlo.gamma_log_density(3.0, 2.0)
    values = log_p(np.array([-1.0, 0.0, 1.0]))
    assert values[0] == values[1] == -np.inf
    assert values[2] == pytest.approx(-2.0)  # (3 - 1) log 1 - 2 x 1


def test_metropolis_hastings_always_accepts_an_uphill_flat_target():
    flat = monte_carlo.metropolis_hastings(
        np.random.default_rng(0), lambda x: np.zeros_like(x), np.zeros(2), 100, 0, 1.0)
    assert flat.acceptance_rate == 1.0  # p(x') / p(x) = 1: always accepted


@pytest.mark.parametrize("target", ["gamma", "mixture"])
def test_mh_mean_and_variance_within_3_mcse_of_the_exact(target):
    config = McmcConfig(draws=4000, burn_in=300)
    report = experiments.mcmc(config, experiments.mcmc_targets(config)[target],
                              np.random.default_rng(0))
    m = report.metrics
    # MCSE from ArviZ's ESS: |mean - exact| and |var - exact| within 3 of them
    assert m["mean_error_mcse"] < 3
    assert m["var_error_mcse"] < 3
    assert m["r_hat"] < 1.05
    assert 0 < m["ess_bulk"] <= m["draws_total"] * 1.5
    assert 0.2 < m["acceptance_rate"] < 0.95
    assert m["ks_distance"] < 0.05
    assert report.table["chain_0"].iloc[0] == pytest.approx(1.0)  # lag 0
