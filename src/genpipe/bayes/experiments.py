"""The items of the Bayesian theory minimum, each run end to end on simulated
data with a known answer: a table of results, a checks table (every computed
quantity beside its closed form), a figure and flat metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

from genpipe.bayes import (
    conjugate,
    diagnostics,
    em,
    evidence,
    figures,
    linear,
    monte_carlo,
)
from genpipe.bayes.config import (
    ConjugacyConfig,
    EmConfig,
    EvidenceConfig,
    ImportanceConfig,
    McmcConfig,
    MleMapConfig,
    RejectionConfig,
)
from genpipe.checks import Report, checks_table


def _mse(phi: np.ndarray, w: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((phi @ w - y) ** 2))


def mle_map(config: MleMapConfig, rng: np.random.Generator) -> Report:
    """Least squares against ridge = MAP with lambda = sigma^2 / tau^2.

    Checks: the MAP by numerical optimisation of the log posterior and ridge at
    lambda = sigma^2/tau^2 against the closed-form posterior mean m_N; the
    coverage of the ±2 sd predictive band on test points against 95.4%.
    """
    truth = np.polynomial.Polynomial(config.true_weights)
    x = rng.uniform(*config.x_range, config.n_train)
    y = truth(x) + config.sigma * rng.standard_normal(x.size)
    x_test = rng.uniform(*config.x_range, config.n_test)
    y_test = truth(x_test) + config.sigma * rng.standard_normal(x_test.size)
    phi, phi_test = (linear.features(v, config.degree) for v in (x, x_test))
    lam = config.sigma**2 / config.tau**2  # MAP = ridge with lambda = sigma^2/tau^2
    post = linear.posterior(phi, y, config.sigma, config.tau)
    numeric = optimize.minimize(
        lambda w: -linear.log_posterior(w, phi, y, config.sigma, config.tau),
        np.zeros(phi.shape[1]), method="BFGS", options={"gtol": 1e-10}).x
    w_mle = linear.mle(phi, y)
    rows = []
    for value in sorted({*config.lambdas, lam}):
        w = linear.ridge(phi, y, value)
        rows.append({"lambda": value, "weight_norm": float(np.linalg.norm(w)),
                     "train_mse": _mse(phi, w, y),
                     "test_mse": _mse(phi_test, w, y_test)})
    sweep = pd.DataFrame(rows)
    mean, sd = linear.predictive(post, phi_test, config.sigma)
    coverage = float(np.mean(np.abs(y_test - mean) <= 2 * sd))
    ridge = linear.ridge(phi, y, lam)
    checks = checks_table([
        *((f"map_numerical_w{i}", v, m) for i, (v, m) in enumerate(
            zip(numeric, post.mean, strict=True))),
        *((f"ridge_w{i}", r, m) for i, (r, m) in enumerate(
            zip(ridge, post.mean, strict=True))),
        ("predictive_coverage_2sd", coverage, stats.norm.cdf(2) - stats.norm.cdf(-2)),
    ])
    grid = np.linspace(*config.x_range, 300)
    phi_grid = linear.features(grid, config.degree)
    figure = figures.mle_map_figure(
        x, y, grid, truth(grid), {"MLE (least squares)": phi_grid @ w_mle,
                                  "MAP (posterior mean)": phi_grid @ post.mean},
        linear.predictive(post, phi_grid, config.sigma), sweep, lam)
    metrics = {"lambda_map": lam, "train_mse_mle": _mse(phi, w_mle, y),
               "test_mse_mle": _mse(phi_test, w_mle, y_test),
               "train_mse_map": _mse(phi, post.mean, y),
               "test_mse_map": _mse(phi_test, post.mean, y_test),
               "weight_norm_mle": float(np.linalg.norm(w_mle)),
               "weight_norm_map": float(np.linalg.norm(post.mean)),
               "predictive_coverage": coverage,
               "map_max_abs_error": float(checks["abs_error"].iloc[:-1].max())}
    return Report(sweep, checks, figure, metrics)


def _grid_posterior_mean(log_prior, log_lik, lo: float, hi: float) -> float:
    """E[theta | data] by quadrature of prior x likelihood (no conjugacy used)."""
    grid = np.linspace(lo, hi, 20001)[1:-1]
    log_post = log_prior(grid) + log_lik(grid)
    weights = np.exp(log_post - log_post.max())
    return float(integrate.trapezoid(grid * weights, grid)
                 / integrate.trapezoid(weights, grid))


def conjugacy(config: ConjugacyConfig, rng: np.random.Generator) -> Report:
    """Beta-Binomial and Gamma-Poisson posteriors after each batch.

    Checks: the final conjugate posterior mean against quadrature of prior x
    likelihood; the posterior predictive against Monte Carlo (theta from the
    posterior, then a new observation).
    """
    sizes = [round(config.batch_size * config.growth**b) for b in range(config.batches)]
    flips = conjugate.simulate_batches(
        rng, lambda r, n: r.binomial(1, config.true_theta, n), sizes)
    counts = conjugate.simulate_batches(
        rng, lambda r, n: r.poisson(config.true_rate, n), sizes)
    beta = conjugate.beta_binomial_updates(config.beta_prior, flips)
    gamma = conjugate.gamma_poisson_updates(config.gamma_prior, counts)
    all_flips, all_counts = np.concatenate(flips), np.concatenate(counts)
    k, n = all_flips.sum(), all_flips.size
    a, b = beta.iloc[-1][["a", "b"]]
    ga, gb = gamma.iloc[-1][["a", "b"]]
    theta = rng.beta(a, b, 200000)
    rate = rng.gamma(ga, 1 / gb, 200000)
    new_counts = rng.poisson(rate)
    beta_grid = _grid_posterior_mean(
        stats.beta(*config.beta_prior).logpdf,
        lambda t: k * np.log(t) + (n - k) * np.log1p(-t), 0.0, 1.0)
    gamma_grid = _grid_posterior_mean(
        stats.gamma(config.gamma_prior[0], scale=1 / config.gamma_prior[1]).logpdf,
        lambda r: all_counts.sum() * np.log(r) - all_counts.size * r,
        0.0, all_counts.mean() * 3 + 10)
    nb = conjugate.gamma_poisson_predictive(ga, gb)
    checks = checks_table([
        ("beta_posterior_mean_quadrature", beta_grid, beta["posterior_mean"].iloc[-1]),
        ("beta_predictive_p1_monte_carlo", float(rng.binomial(1, theta).mean()),
         a / (a + b)),
        ("gamma_posterior_mean_quadrature", gamma_grid,
         gamma["posterior_mean"].iloc[-1]),
        ("gamma_predictive_mean_monte_carlo", float(new_counts.mean()), nb.mean()),
        ("gamma_predictive_var_monte_carlo", float(new_counts.var()), nb.var()),
    ])
    table = pd.concat([beta.assign(model="beta_binomial"),
                       gamma.assign(model="gamma_poisson")], ignore_index=True)
    figure = figures.conjugacy_figure(beta, gamma, config.true_theta, config.true_rate)
    metrics = {}
    for name, frame, truth in (("beta", beta, config.true_theta),
                               ("gamma", gamma, config.true_rate)):
        last = frame.iloc[-1]
        mean, mle = float(last["posterior_mean"]), float(last["mle"])
        metrics |= {f"{name}_posterior_mean": mean,
                    f"{name}_posterior_sd": float(last["posterior_sd"]),
                    f"{name}_mle": mle,
                    f"{name}_posterior_mean_error": abs(mean - truth),
                    f"{name}_mle_error": abs(mle - truth)}
    metrics["observations"] = float(n)
    metrics["max_check_error"] = float(checks["abs_error"].max())
    return Report(table, checks, figure, metrics)


def rejection(config: RejectionConfig, rng: np.random.Generator) -> Report:
    """Rejection sampling of Beta(a, b) from U(0, 1) with envelopes c * max p.

    Checks: each acceptance rate against 1/M; the accepted samples' KS distance
    to the target (reported; its p-value too).
    """
    target, proposal = stats.beta(*config.target), stats.uniform()
    peak = monte_carlo.beta_max_density(*config.target)
    rows, first = [], None
    for factor in config.envelope_factors:
        result = monte_carlo.rejection_sample(rng, target.pdf, proposal, factor * peak,
                                              config.n_proposals)
        first = first or result
        rate = result.acceptance_rate
        se = np.sqrt(rate * (1 - rate) / config.n_proposals)
        rows.append({"factor": factor, "envelope": result.envelope,
                     "acceptance_rate": rate, "theory": 1 / result.envelope,
                     "binomial_se": se, "accepted": result.samples.size})
    table = pd.DataFrame(rows)
    ks = stats.kstest(first.samples, target.cdf)
    checks = checks_table([(f"acceptance_rate_M{r.envelope:.3f}", r.acceptance_rate,
                            r.theory) for r in table.itertuples()])
    figure = figures.rejection_figure(first.samples, target, first.envelope, table)
    metrics = {"acceptance_rate": first.acceptance_rate,
               "acceptance_theory": 1 / first.envelope,
               "acceptance_error_se": float(abs(table["acceptance_rate"]
                                                - table["theory"]).iloc[0]
                                            / table["binomial_se"].iloc[0]),
               "ks_distance": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
               "accepted": float(first.samples.size)}
    return Report(table, checks, figure, metrics)


def importance(config: ImportanceConfig, rng: np.random.Generator) -> Report:
    """Importance sampling of E_p[x^2] = 1, p = N(0, 1), q = N(0, s^2) over s.

    Checks: for each s with finite variance, the variance of the estimate over
    `repeats` runs against Var_q[x^2 w] / n, and the mean Kish ESS / n against
    1 / E_q[w^2].
    """
    target, rows = stats.norm(), []
    for scale in sorted({*config.proposal_scales, config.good_scale}):
        proposal = stats.norm(0, scale)
        x = proposal.rvs(size=(config.repeats, config.n_samples), random_state=rng)
        w = monte_carlo.importance_weights(x, target, proposal)
        estimates = (x**2 * w).mean(axis=1)  # plain IS: mean of f(x) p(x) / q(x)
        normalised = (x**2 * w).sum(axis=1) / w.sum(axis=1)  # self-normalised IS
        ess = np.array([monte_carlo.kish_ess(row) for row in w]) / config.n_samples
        rows.append({"scale": scale, "estimate": estimates.mean(),
                     "estimate_se": estimates.std(ddof=1) / np.sqrt(config.repeats),
                     "self_normalised_estimate": normalised.mean(),
                     "empirical_var": estimates.var(ddof=1),
                     "theory_var": monte_carlo.normal_is_variance(scale)
                     / config.n_samples,
                     "ess_fraction": ess.mean(),
                     "theory_ess_fraction": 1 / monte_carlo.normal_is_second_moment(
                         scale)})
    table = pd.DataFrame(rows)
    finite = table[np.isfinite(table["theory_var"])]
    checks = checks_table([
        *((f"estimate_s{r.scale:g}", r.estimate, 1.0) for r in finite.itertuples()),
        *((f"variance_s{r.scale:g}", r.empirical_var, r.theory_var)
          for r in finite.itertuples()),
        *((f"ess_fraction_s{r.scale:g}", r.ess_fraction, r.theory_ess_fraction)
          for r in finite.itertuples())])
    good = table.set_index("scale").loc[config.good_scale]
    poor = table.iloc[0]
    metrics = {"estimate": float(good["estimate"]),
               "estimate_se": float(good["estimate_se"]),
               "estimate_error_se": float(abs(good["estimate"] - 1)
                                          / good["estimate_se"]),
               "ess_fraction": float(good["ess_fraction"]),
               "theory_ess_fraction": float(good["theory_ess_fraction"]),
               "estimate_var": float(good["empirical_var"]),
               "theory_var": float(good["theory_var"]),
               "poor_proposal_scale": float(poor["scale"]),
               "poor_proposal_var": float(poor["empirical_var"]),
               "poor_proposal_ess_fraction": float(poor["ess_fraction"])}
    figure = figures.importance_figure(table, config.n_samples)
    return Report(table, checks, figure, metrics)


@dataclass(frozen=True)
class Target:
    """A posterior known in closed form, with its unnormalised log density."""

    name: str
    log_density: monte_carlo.LogDensity
    exact: object  # mean(), var(), cdf(), pdf()


def mcmc_targets(config: McmcConfig) -> dict[str, Target]:
    """The Gamma posterior of Poisson counts (Gamma(a + sum x, b + n)) and the
    bimodal normal mixture."""
    a = config.gamma_prior[0] + sum(config.counts)
    b = config.gamma_prior[1] + len(config.counts)
    mixture = monte_carlo.NormalMixture(config.mixture_means, config.mixture_sd)
    return {"gamma": Target(f"Gamma({a:g}, {b:g}) posterior",
                            monte_carlo.gamma_log_density(a, b),
                            stats.gamma(a, scale=1 / b)),
            "mixture": Target("bimodal mixture", mixture.logpdf, mixture)}


def mcmc(config: McmcConfig, target: Target, rng: np.random.Generator) -> Report:
    """Random-walk MH on `target`, several over-dispersed chains, diagnosed with
    ArviZ and compared with the exact posterior.

    Checks: the mean and variance of the draws against the exact ones
    (`*_error_mcse` in the metrics: the error in Monte Carlo standard errors).
    """
    exact = target.exact
    mean, sd = exact.mean(), np.sqrt(exact.var())
    init = mean + config.init_spread * sd * rng.standard_normal(config.chains)
    init = np.where(np.isfinite(target.log_density(init)), init, mean)
    chains = monte_carlo.metropolis_hastings(
        rng, target.log_density, init, config.draws, config.burn_in,
        config.proposal_scale)
    summary = diagnostics.summary(chains.draws, mean, exact.var(), exact.cdf)
    acf = diagnostics.autocorrelation(chains.draws, config.max_lag)
    table = pd.DataFrame({"lag": np.arange(acf.shape[1]),
                          **{f"chain_{c}": acf[c] for c in range(acf.shape[0])}})
    checks = checks_table([("mean", summary["mean"], mean),
                           ("variance", summary["var"], exact.var())])
    metrics = {"acceptance_rate": chains.acceptance_rate, **summary,
               "autocorrelation_lag1": float(acf[:, 1].mean()),
               "draws_total": float(chains.draws.size)}
    figure = figures.mcmc_figure(chains.draws, exact.pdf, acf,
                                 f"MH on the {target.name}")
    return Report(table, checks, figure, metrics)


def crowdsourcing(config: EmConfig, rng: np.random.Generator) -> Report:
    """Dawid-Skene EM on simulated annotators against majority vote.

    Checks: each annotator's accuracy as estimated by EM
    (sum_k pi_k theta_j[k, k]) against its simulated accuracy.
    """
    crowd = em.simulate_crowd(rng, config.n_items, config.n_classes,
                              config.accuracies, config.labels_per_item,
                              config.class_prior)
    result = em.dawid_skene(crowd.labels, config.n_classes, config.max_iter,
                            config.tol)
    majority = em.majority_vote(crowd.labels, config.n_classes)
    em_accuracy = np.einsum("k,jkk->j", result.pi, result.theta)
    annotators = pd.DataFrame({"annotator": np.arange(len(config.accuracies)),
                               "true_accuracy": config.accuracies,
                               "em_accuracy": em_accuracy})
    accuracies = pd.DataFrame({
        "method": ["majority vote", "Dawid–Skene EM"],
        "accuracy": [float(np.mean(majority == crowd.truth)),
                     float(np.mean(result.labels == crowd.truth))]})
    checks = checks_table([(f"annotator_{j}_accuracy", e, t) for j, (e, t) in
                           enumerate(zip(em_accuracy, config.accuracies, strict=True))])
    steps = np.diff(result.log_likelihood)
    metrics = {"em_accuracy": float(accuracies["accuracy"][1]),
               "majority_accuracy": float(accuracies["accuracy"][0]),
               "loglik_initial": float(result.log_likelihood[0]),
               "loglik_final": float(result.log_likelihood[-1]),
               "iterations": float(result.log_likelihood.size),
               "min_loglik_increase": float(steps.min()) if steps.size else 0.0,
               "annotator_accuracy_mae": float(checks["abs_error"].mean()),
               # the whole curve, one step per iteration, as an MLflow history
               "loglik": [{"value": float(v), "step": i}
                          for i, v in enumerate(result.log_likelihood)]}
    table = annotators.assign(iterations=result.log_likelihood.size)
    figure = figures.em_figure(result.log_likelihood, accuracies, annotators)
    return Report(table, checks, figure, metrics)


def evidence_maximisation(config: EvidenceConfig, rng: np.random.Generator) -> Report:
    """MacKay's shared-alpha fixed point against the RVM's alpha per weight.

    Checks: ln p(t) by PRML eq. 3.86 against ln N(t | 0, C) at the fixed
    point; the fixed point's (alpha, beta) against a numerical maximisation
    of the closed-form log evidence.
    """
    x = rng.uniform(*config.x_range, config.n_train)
    t = np.sinc(x / np.pi) + config.sigma * rng.standard_normal(x.size)
    x_test = np.linspace(*config.x_range, config.n_test)
    phi = evidence.gaussian_kernel(x, x, config.kernel_width)
    phi_test = evidence.gaussian_kernel(x_test, x, config.kernel_width)
    fits = {name: evidence.maximise_evidence(
        phi, t, shared=name == "shared", max_iter=config.max_iter, tol=config.tol,
        alpha_max=config.alpha_max) for name in ("shared", "rvm")}
    shared, rvm = fits["shared"], fits["rvm"]
    numeric = optimize.minimize(
        lambda z: -evidence.log_evidence_shared(phi, t, *np.exp(z)),
        np.log([shared.alpha[0] * 3, shared.beta / 3]), method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 4000}).x
    checks = checks_table([
        ("log_evidence_eq_3_86", evidence.log_evidence_shared(
            phi, t, shared.alpha[0], shared.beta), float(shared.log_evidence[-1])),
        ("alpha_numerical_max", float(np.exp(numeric[0])), float(shared.alpha[0])),
        ("beta_numerical_max", float(np.exp(numeric[1])), shared.beta)])
    truth = np.sinc(x_test / np.pi)
    relevant = rvm.alpha < config.alpha_max
    table = pd.DataFrame({"x": x, "t": t, "rvm_alpha": rvm.alpha[1:],
                          "rvm_weight": rvm.mean[1:], "relevant": relevant[1:]})
    metrics = {
        "alpha_shared": float(shared.alpha[0]), "beta_shared": shared.beta,
        "lambda_shared": float(shared.alpha[0] / shared.beta),  # ridge lambda
        "noise_sd_shared": float(shared.beta ** -0.5),
        "noise_sd_rvm": float(rvm.beta ** -0.5), "noise_sd_true": config.sigma,
        "log_evidence_shared": float(shared.log_evidence[-1]),
        "log_evidence_rvm": float(rvm.log_evidence[-1]),
        "relevance_vectors": float(relevant[1:].sum()),
        "basis_functions": float(phi.shape[1]),
        "iterations_shared": float(shared.iterations),
        "iterations_rvm": float(rvm.iterations),
        "test_mse_shared": float(np.mean((phi_test @ shared.mean - truth) ** 2)),
        "test_mse_rvm": float(np.mean((phi_test @ rvm.mean - truth) ** 2)),
        "max_check_error": float(checks["abs_error"].max())}
    sweep = np.logspace(-4, 4, 81) * shared.alpha[0]
    curve = [evidence.log_evidence_shared(phi, t, a, shared.beta) for a in sweep]
    sd = np.sqrt(1 / rvm.beta + np.einsum("ij,jk,ik->i", phi_test, rvm.cov, phi_test))
    figure = figures.evidence_figure(
        x, t, x_test, truth, phi_test @ rvm.mean, sd, relevant[1:],
        (sweep, np.asarray(curve), float(shared.alpha[0])),
        {name: fit.log_evidence for name, fit in fits.items()})
    return Report(table, checks, figure, metrics)
