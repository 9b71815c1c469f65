"""The theory demos, each end to end: a results table, a checks table (each
computed quantity beside its closed form), a figure and flat metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from genpipe.checks import Report, checks_table
from genpipe.theory import figures, fitting, games, information
from genpipe.theory.config import (
    DivergencesConfig,
    EntropyConfig,
    KlFitConfig,
    NashConfig,
    SparseKlConfig,
)


def entropy(config: EntropyConfig) -> Report:
    """The weather examples in bits. Checks: the code's cross-entropy against
    the mean code length sum p_i l_i, and KL = H(p, q) - H(p) against a direct
    sum p log(p/q)."""
    p = np.asarray(config.weather)
    q = information.code_distribution(config.code_lengths)
    lengths = np.asarray(config.code_lengths, float)
    values = [("H(sunny, rainy)", information.entropy(config.sunny_rainy)),
              ("H(weather)", information.entropy(p)),
              ("H(weather, code)", information.cross_entropy(p, q)),
              ("H(weather reversed, code)", information.cross_entropy(p[::-1], q)),
              ("KL(weather || code)", information.kl_divergence(p, q)),
              ("KL(weather reversed || code)",
               information.kl_divergence(p[::-1], q))]
    table = pd.DataFrame(values, columns=["quantity", "bits"])
    checks = checks_table([
        ("H(weather, code)", values[2][1], float(p @ lengths)),
        ("H(weather reversed, code)", values[3][1], float(p[::-1] @ lengths)),
        ("KL(weather || code)", values[4][1], float(np.sum(p * np.log2(p / q)))),
        ("H(sunny, rainy) vs scipy", values[0][1],
         float(stats.entropy(config.sunny_rainy, base=2))),
        ("H(weather) vs scipy", values[1][1], float(stats.entropy(p, base=2)))])
    grid = np.linspace(1e-4, 1 - 1e-4, 400)
    binary = np.array([information.entropy([v, 1 - v]) for v in grid])
    figure = figures.entropy_figure(
        (grid, binary), (config.sunny_rainy[0], values[0][1]), p, q,
        table.rename(columns={"bits": "computed"}))
    keys = ["entropy_sunny_rainy", "entropy_weather", "cross_entropy_weather_code",
            "cross_entropy_reversed_code", "kl_weather_code", "kl_reversed_code"]
    metrics = {k: float(v) for k, (_, v) in zip(keys, values, strict=True)}
    return Report(table, checks, figure, metrics)


def divergences(config: DivergencesConfig) -> Report:
    """KL and JS between N(0, 1) and N(mu, 1) over mu. Checks: KL by quadrature
    against mu^2 / 2; JS at mu = 0 against 0 and at mu_max against < log 2."""
    mus = np.linspace(0, config.mu_max, config.n_mu)
    lo, hi = -12.0, config.mu_max + 12.0
    rows = []
    for mu in mus:
        p, q = information.normal_pair(mu)
        rows.append({"mu": mu, "kl_closed_form": mu**2 / 2,  # KL = mu^2 / 2 nats
                     "kl_quadrature": information.kl_quadrature(p, q, lo, hi),
                     "js": information.js_quadrature(p, q, lo, hi)})
    table = pd.DataFrame(rows)
    table["kl_gradient"] = table["mu"]
    table["js_gradient"] = np.gradient(table["js"], table["mu"])
    every = max(1, len(table) // 6)
    checks = checks_table([(f"kl_mu{r.mu:g}", r.kl_quadrature, r.kl_closed_form)
                           for r in table.iloc[::every].itertuples()])
    last = table.iloc[-1]
    metrics = {"kl_max_abs_error": float((table["kl_quadrature"]
                                          - table["kl_closed_form"]).abs().max()),
               "js_at_mu_max": float(last["js"]), "js_ceiling": float(np.log(2)),
               "js_gradient_at_mu_max": float(last["js_gradient"]),
               "kl_gradient_at_mu_max": float(last["kl_gradient"])}
    return Report(table, checks, figures.divergences_figure(table), metrics)


def kl_fit(config: KlFitConfig) -> Report:
    """Forward and reverse KL fits of one Gaussian to the mixture. Checks: the
    numerical forward-KL fit against moment matching (its closed form); the
    reverse-KL fit against the nearest component (exact as the modes part)."""
    p = fitting.Mixture(config.mixture_means, config.mixture_sd, config.weight)
    grid = fitting.grid_for(p, config.grid_points)
    matched = (p.mean(), float(np.sqrt(p.var())))
    forward = fitting.fit(fitting.forward_kl, p, (0.5, 1.0), grid)
    reverse = [fitting.fit(fitting.reverse_kl, p, (m + 0.5, 1.5 * config.mixture_sd),
                           grid) for m in config.mixture_means]
    rows = [("forward", *forward), *((f"reverse_from_mode{i + 1}", *fit)
                                     for i, fit in enumerate(reverse))]
    table = pd.DataFrame(rows, columns=["fit", "mu", "sd", "divergence"])
    checks = checks_table([
        ("forward_mu", forward[0], matched[0]), ("forward_sd", forward[1], matched[1]),
        *((f"reverse_from_mode{i + 1}_mu", fit[0], m) for i, (fit, m) in
          enumerate(zip(reverse, config.mixture_means, strict=True))),
        *((f"reverse_from_mode{i + 1}_sd", fit[1], config.mixture_sd)
          for i, fit in enumerate(reverse))])
    figure = figures.kl_fit_figure(grid, np.exp(p.logpdf(grid)), {
        f"forward KL(p‖q): μ = {forward[0]:.2f}, σ = {forward[1]:.2f}":
            stats.norm.pdf(grid, *forward[:2]),
        **{f"reverse KL(q‖p) from mode {i + 1}: μ = {fit[0]:.2f}, σ = {fit[1]:.2f}":
           stats.norm.pdf(grid, *fit[:2]) for i, fit in enumerate(reverse)}})
    metrics = {"forward_mu": forward[0], "forward_sd": forward[1],
               "forward_kl": forward[2], "reverse_mu": reverse[0][0],
               "reverse_sd": reverse[0][1], "reverse_kl": reverse[0][2],
               "moment_matched_sd": matched[1]}
    return Report(table, checks, figure, metrics)


def nash(config: NashConfig) -> Report:
    """The four schemes on f(x, y) = x y. Checks: the simultaneous and
    extragradient radii against their closed forms; the alternating scheme's
    invariant Q at the end against its start."""
    steps, lr = config.steps, config.lr
    alternating = games.alternating(config.start, lr, steps)
    paths = {"simultaneous GDA": games.simultaneous(config.start, lr, steps),
             "alternating GDA": alternating,
             "alternating, averaged iterates": games.running_average(alternating),
             "extragradient": games.extragradient(config.start, lr, steps)}
    t = np.arange(steps + 1)
    r0 = float(np.hypot(*config.start))
    radii = pd.DataFrame({"step": t, **{name: np.hypot(*path.T)
                                        for name, path in paths.items()}})
    radii["simultaneous closed form"] = games.simultaneous_radius(r0, lr, t)
    radii["extragradient closed form"] = games.extragradient_radius(r0, lr, t)
    invariant = games.alternating_invariant(alternating, lr)
    end = radii.iloc[-1]
    checks = checks_table([
        ("simultaneous_radius_final", end["simultaneous GDA"],
         end["simultaneous closed form"]),
        ("extragradient_radius_final", end["extragradient"],
         end["extragradient closed form"]),
        ("alternating_invariant_final", float(invariant[-1]), float(invariant[0]))])
    metrics = {"radius_start": r0,
               "radius_simultaneous": float(end["simultaneous GDA"]),
               "radius_alternating": float(end["alternating GDA"]),
               "radius_averaged": float(end["alternating, averaged iterates"]),
               "radius_extragradient": float(end["extragradient"]),
               "radius_alternating_max": float(radii["alternating GDA"].max())}
    return Report(radii, checks, figures.nash_figure(paths, radii), metrics)


def sparse_kl(config: SparseKlConfig) -> Report:
    """KL(rho || rho_hat) over rho_hat in (0, 1). Checks: the minimum's
    location and value (rho_hat = rho, 0) and the gradient by finite
    differences against its closed form."""
    rho = config.rho
    rho_hat = np.linspace(0, 1, config.n_points + 2)[1:-1]
    kl = information.bernoulli_kl(rho, rho_hat)
    grad = information.bernoulli_kl_grad(rho, rho_hat)
    numeric = np.gradient(kl, rho_hat)
    inner = slice(len(rho_hat) // 10, -len(rho_hat) // 10)
    table = pd.DataFrame({"rho_hat": rho_hat, "kl": kl, "gradient": grad})
    checks = checks_table([
        ("argmin_rho_hat", float(rho_hat[kl.argmin()]), rho),
        ("min_kl", float(kl.min()), 0.0),
        ("gradient_max_abs_error_inner", float(np.abs(numeric - grad)[inner].max()),
         0.0)])
    metrics = {"rho": rho, "argmin_rho_hat": float(rho_hat[kl.argmin()]),
               "kl_at_half": float(information.bernoulli_kl(rho, 0.5)),
               "kl_at_0.05": float(information.bernoulli_kl(rho, 0.05)),
               "kl_at_0.95": float(information.bernoulli_kl(rho, 0.95))}
    figure = figures.sparse_kl_figure(rho_hat, kl, grad, rho)
    return Report(table, checks, figure, metrics)
