"""Figures of the `bayes` pipeline (matplotlib `Figure`s, no pyplot state)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from genpipe.bayes.monte_carlo import normal_is_second_moment, normal_is_variance


def mle_map_figure(x: np.ndarray, y: np.ndarray, grid: np.ndarray,
                   truth: np.ndarray, fits: dict[str, np.ndarray],
                   band: tuple[np.ndarray, np.ndarray], sweep: pd.DataFrame,
                   lam_map: float) -> Figure:
    """Left: the data, the truth, each fit and the posterior predictive band
    (mean ± 2 sd). Right: train/test error against lambda."""
    figure = Figure(figsize=(12, 4.5))
    left, right = figure.subplots(1, 2)
    mean, sd = band
    left.fill_between(grid, mean - 2 * sd, mean + 2 * sd, color="C2", alpha=0.2,
                      label="posterior predictive ± 2 sd")
    left.plot(grid, truth, "k--", label="truth")
    for (name, curve), colour in zip(fits.items(), ("C3", "C2"), strict=False):
        left.plot(grid, curve, color=colour, label=name)
    left.scatter(x, y, color="k", zorder=3, s=18, label="training data")
    span = np.ptp(truth)
    left.set_ylim(truth.min() - span, truth.max() + span)
    left.set(title="MLE (least squares) vs MAP (ridge, λ = σ²/τ²)", xlabel="x",
             ylabel="y")
    left.legend(fontsize=8)
    right.loglog(sweep["lambda"], sweep["train_mse"], "o-", label="train MSE")
    right.loglog(sweep["lambda"], sweep["test_mse"], "s-", label="test MSE")
    right.axvline(lam_map, color="C2", ls=":", label="λ = σ²/τ² (the MAP)")
    right.set(title="Effect of λ", xlabel="λ", ylabel="mean squared error")
    right.legend(fontsize=8)
    figure.tight_layout()
    return figure


def conjugacy_figure(beta: pd.DataFrame, gamma: pd.DataFrame, true_theta: float,
                     true_rate: float) -> Figure:
    """Top: the posterior after each stage. Bottom: posterior mean (± sd) and
    MLE against the number of observations."""
    figure = Figure(figsize=(12, 8))
    axes = figure.subplots(2, 2)
    cases = ((beta, true_theta, "Beta–Binomial: θ", np.linspace(0, 1, 400),
              lambda a, b: stats.beta(a, b)),
             (gamma, true_rate, "Gamma–Poisson: λ",
              np.linspace(0, 2 * true_rate, 400),
              lambda a, b: stats.gamma(a, scale=1 / b)))
    for column, (table, truth, name, grid, dist) in enumerate(cases):
        top, bottom = axes[0, column], axes[1, column]
        colours = [f"C{i % 10}" for i in range(len(table))]
        for row, colour in zip(table.itertuples(), colours, strict=True):
            top.plot(grid, dist(row.a, row.b).pdf(grid), color=colour,
                     label=f"n = {row.n}")
        top.axvline(truth, color="k", ls="--")
        top.set(title=f"{name}, posterior after each batch", ylabel="density")
        top.legend(fontsize=7)
        data = table[table["n"] > 0]
        bottom.errorbar(data["n"], data["posterior_mean"], data["posterior_sd"],
                        fmt="o-", capsize=3, label="posterior mean ± sd")
        bottom.plot(data["n"], data["mle"], "s--", label="MLE")
        bottom.axhline(truth, color="k", ls=":", label="truth")
        bottom.set_xscale("log")
        bottom.set(xlabel="observations n", title=f"{name}: posterior mean vs MLE")
        bottom.legend(fontsize=8)
    figure.tight_layout()
    return figure


def rejection_figure(samples: np.ndarray, target, envelope: float,
                     rates: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(11, 4.2))
    left, right = figure.subplots(1, 2)
    grid = np.linspace(0, 1, 400)
    left.hist(samples, bins=50, density=True, alpha=0.5, label="accepted samples")
    left.plot(grid, target.pdf(grid), "k", label="target p")
    left.axhline(envelope, color="C3", ls="--", label="envelope M q (q = U(0, 1))")
    left.set(title=f"Rejection sampling, M = {envelope:.3f}", xlabel="x")
    left.legend(fontsize=8)
    right.plot(rates["theory"], rates["theory"], "k--", label="1 / M")
    right.plot(rates["theory"], rates["acceptance_rate"], "o", label="measured")
    right.set(title="Acceptance rate against 1 / M", xlabel="1 / M (theory)",
              ylabel="acceptance rate")
    right.legend(fontsize=8)
    figure.tight_layout()
    return figure


def importance_figure(table: pd.DataFrame, n_samples: int) -> Figure:
    """Variance of the estimate and ESS / n against the proposal's scale, the
    closed forms drawn on a fine grid of scales above 1/sqrt(2)."""
    figure = Figure(figsize=(11, 4.2))
    left, right = figure.subplots(1, 2)
    left.semilogy(table["scale"], table["empirical_var"], "o", label="measured")
    scales = np.linspace(np.sqrt(0.5) + 0.01, table["scale"].max(), 300)
    theory_var = [normal_is_variance(s) / n_samples for s in scales]
    left.semilogy(scales, theory_var, "k-", label="Var_q[x² w] / n")
    for axes in (left, right):
        axes.axvline(np.sqrt(0.5), color="C3", ls=":",
                     label="s = 1/√2: infinite variance below")
        axes.set_xlabel("proposal scale s, q = N(0, s²)")
    left.set(title="Variance of the IS estimate of E_p[x²], p = N(0, 1)",
             ylabel="variance of one estimate")
    left.legend(fontsize=8)
    right.plot(table["scale"], table["ess_fraction"], "o", label="Kish ESS / n")
    right.plot(scales, [1 / normal_is_second_moment(s) for s in scales], "k-",
               label="1 / E_q[w²]")
    right.set(title="Effective sample size", ylabel="ESS / n")
    right.legend(fontsize=8)
    figure.tight_layout()
    return figure


def mcmc_figure(draws: np.ndarray, pdf, acf: np.ndarray, title: str) -> Figure:
    """Traces, pooled histogram against the exact density, autocorrelation."""
    figure = Figure(figsize=(14, 4))
    trace, hist, corr = figure.subplots(1, 3)
    for chain in draws:
        trace.plot(chain[:1000], lw=0.6)
    trace.set(title=f"{title}: traces (first 1000 draws)", xlabel="iteration")
    grid = np.linspace(draws.min(), draws.max(), 400)
    hist.hist(draws.ravel(), bins=80, density=True, alpha=0.5, label="MH draws")
    hist.plot(grid, pdf(grid), "k", label="exact")
    hist.set(title="Histogram against the exact posterior", xlabel="x")
    hist.legend(fontsize=8)
    for chain_acf in acf:
        corr.plot(chain_acf, lw=1)
    corr.axhline(0, color="k", lw=0.5)
    corr.set(title="Autocorrelation per chain", xlabel="lag")
    figure.tight_layout()
    return figure


def em_figure(log_likelihood: np.ndarray, accuracies: pd.DataFrame,
              annotators: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(14, 4))
    curve, bars, scatter = figure.subplots(1, 3)
    curve.plot(np.arange(1, log_likelihood.size + 1), log_likelihood, "o-", ms=3)
    curve.set(title="EM: log-likelihood per iteration", xlabel="iteration",
              ylabel="log p(labels)")
    bars.bar(accuracies["method"], accuracies["accuracy"], color=["C0", "C1"])
    bars.set_ylim(0, 1)
    bars.set(title="Accuracy against the simulated truth")
    scatter.plot([0, 1], [0, 1], "k--", lw=0.8)
    scatter.plot(annotators["true_accuracy"], annotators["em_accuracy"], "o")
    scatter.set(title="Annotator accuracy: EM estimate vs truth",
                xlabel="true accuracy", ylabel="EM estimate")
    figure.tight_layout()
    return figure


def evidence_figure(x: np.ndarray, t: np.ndarray, grid: np.ndarray,
                    truth: np.ndarray, mean: np.ndarray, sd: np.ndarray,
                    relevant: np.ndarray,
                    sweep: tuple[np.ndarray, np.ndarray, float],
                    histories: dict[str, np.ndarray]) -> Figure:
    """The RVM's fit and relevance vectors; ln p(t) against a shared alpha;
    ln p(t) per re-estimation step."""
    figure = Figure(figsize=(15, 4.2))
    fit, curve, steps = figure.subplots(1, 3)
    fit.fill_between(grid, mean - 2 * sd, mean + 2 * sd, color="C0", alpha=0.2,
                     label="RVM predictive ± 2 sd")
    fit.plot(grid, truth, "k--", label="truth sinc(x)")
    fit.plot(grid, mean, "C0", label="RVM mean")
    fit.scatter(x, t, s=12, color="k", label="data")
    fit.scatter(x[relevant], t[relevant], s=90, facecolors="none",
                edgecolors="C3", label=f"{int(relevant.sum())} relevance vectors")
    fit.set(title="Relevance vector machine", xlabel="x", ylabel="t")
    fit.legend(fontsize=7)
    alphas, values, chosen = sweep
    curve.semilogx(alphas, values, "k")
    curve.axvline(chosen, color="C3", ls=":", label="MacKay's fixed point")
    curve.set(title="ln p(t | α, β) with one shared α (β at its fixed point)",
              xlabel="α (prior precision)", ylabel="log evidence")
    curve.set_ylim(values.max() - 0.5 * np.ptp(values), values.max() + 10)
    curve.legend(fontsize=8)
    for name, history in histories.items():
        steps.plot(np.arange(1, history.size + 1), history, label=name)
    steps.set_xscale("log")
    steps.set(title="ln p(t) per re-estimation step", xlabel="iteration")
    steps.legend(["one shared α", "RVM: one α per weight"], fontsize=8)
    figure.tight_layout()
    return figure
