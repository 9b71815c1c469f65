"""Figures of the `theory` pipeline (matplotlib `Figure`s, no pyplot state)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def entropy_figure(binary: tuple[np.ndarray, np.ndarray], point: tuple[float, float],
                   weather: np.ndarray, code: np.ndarray, values: pd.DataFrame,
                   ) -> Figure:
    """Left: binary entropy with the (0.75, 0.25) example. Right: the weather
    distribution, reversed, and the code's implied distribution 2^-length."""
    figure = Figure(figsize=(12, 4.2))
    left, right = figure.subplots(1, 2)
    left.plot(*binary, "k")
    left.plot(*point, "o", color="C3", label=f"H({point[0]:g}) = {point[1]:.3f} bits")
    left.set(title="Binary entropy H(p) in bits", xlabel="p", ylabel="bits")
    left.legend()
    states = np.arange(weather.size)
    width = 0.28
    right.bar(states - width, weather, width, label="p: weather")
    right.bar(states, weather[::-1], width, label="p reversed")
    right.bar(states + width, code, width, label="q = 2^-code length")
    at = values.set_index("quantity")["computed"]
    right.set(title=f"H(p) = {at['H(weather)']:.2f}, "
              f"H(p, q) = {at['H(weather, code)']:.2f}, "
              f"H(p reversed, q) = {at['H(weather reversed, code)']:.2f} bits",
              xlabel="weather state", ylabel="probability")
    right.legend(fontsize=8)
    figure.tight_layout()
    return figure


def divergences_figure(table: pd.DataFrame) -> Figure:
    """KL, JS and JS's slope against mu for N(0, 1) vs N(mu, 1)."""
    figure = Figure(figsize=(12, 4.2))
    left, right = figure.subplots(1, 2)
    left.plot(table["mu"], table["kl_closed_form"], "k-", label="KL closed form μ²/2")
    left.plot(table["mu"], table["kl_quadrature"], "o", ms=3, label="KL (quadrature)")
    left.plot(table["mu"], table["js"], "C1-", label="JS (quadrature)")
    left.axhline(np.log(2), color="C1", ls=":", label="log 2 (JS's ceiling)")
    left.set_ylim(0, 3)  # KL keeps growing as mu^2 / 2; JS saturates
    left.set(title="N(0, 1) vs N(μ, 1), nats", xlabel="μ", ylabel="divergence")
    left.legend(fontsize=8)
    positive = table[table["mu"] > 0]
    right.plot(positive["mu"], positive["kl_gradient"], "k-", label="d KL / dμ = μ")
    right.plot(positive["mu"], positive["js_gradient"], "C1-", label="d JS / dμ")
    right.set_yscale("log")
    right.set(title="Gradient with respect to μ: JS's vanishes as the supports part",
              xlabel="μ", ylabel="gradient")
    right.legend(fontsize=8)
    figure.tight_layout()
    return figure


def kl_fit_figure(grid: np.ndarray, p: np.ndarray, fits: dict[str, np.ndarray],
                  ) -> Figure:
    figure = Figure(figsize=(8, 4.5))
    axes = figure.subplots()
    axes.fill_between(grid, p, color="0.8", label="p: the bimodal mixture")
    for (name, q), style in zip(fits.items(), ("C0-", "C3--", "C2:"), strict=False):
        axes.plot(grid, q, style, lw=2, label=name)
    axes.set(title="One Gaussian fitted to a bimodal p: forward KL covers, "
             "reverse KL seeks a mode", xlabel="x", ylabel="density")
    axes.set_ylim(0, 1.5 * max(float(q.max()) for q in fits.values()))
    axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    return figure


def nash_figure(paths: dict[str, np.ndarray], radii: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(12, 5))
    left, right = figure.subplots(1, 2)
    for name, path in paths.items():
        left.plot(path[:, 0], path[:, 1], lw=1, label=name)
    left.plot(0, 0, "k*", ms=12, label="Nash equilibrium (0, 0)")
    left.plot(*next(iter(paths.values()))[0], "ko", label="start")
    left.set_aspect("equal", adjustable="datalim")
    left.set(title="min_x max_y xy: trajectories", xlabel="x", ylabel="y")
    left.legend(fontsize=8)
    for column in [c for c in radii.columns if c != "step"]:
        style = "k--" if column.endswith("closed form") else "-"
        right.plot(radii["step"], radii[column], style, lw=1, label=column)
    right.set_yscale("log")
    right.set(title="Distance to the equilibrium |z_t|", xlabel="step")
    right.legend(fontsize=7)
    figure.tight_layout()
    return figure


def sparse_kl_figure(rho_hat: np.ndarray, kl: np.ndarray, grad: np.ndarray,
                     rho: float) -> Figure:
    figure = Figure(figsize=(11, 4.2))
    left, right = figure.subplots(1, 2)
    left.plot(rho_hat, kl, "k")
    left.axvline(rho, color="C3", ls=":", label=f"ρ = {rho:g}: KL = 0")
    left.set_ylim(0, min(float(kl.max()), 3.0))
    left.set(title=f"Sparse AE penalty KL(ρ ‖ ρ̂), ρ = {rho:g}", xlabel="ρ̂ (mean "
             "activation of a hidden unit)", ylabel="nats")
    left.legend()
    right.plot(rho_hat, grad, "k")
    right.axhline(0, color="0.5", lw=0.5)
    right.axvline(rho, color="C3", ls=":")
    right.set_ylim(-10, 10)
    right.set(title="Its gradient d KL / d ρ̂", xlabel="ρ̂")
    figure.tight_layout()
    return figure


def filters_figure(filters: dict[int, np.ndarray], mse: dict[int, float]) -> Figure:
    """Per k, a square grid of filters (784-vectors as 28 x 28 images), each
    scaled to its own range."""
    figure = Figure(figsize=(3.2 * len(filters), 3.6))
    for axes, (k, rows) in zip(np.atleast_1d(figure.subplots(1, len(filters))),
                               filters.items(), strict=True):
        side = int(np.ceil(np.sqrt(len(rows))))
        grid = np.ones((side * 29 + 1, side * 29 + 1))
        for i, row in enumerate(rows):
            image = row.reshape(28, 28)
            image = (image - image.min()) / max(np.ptp(image), 1e-12)
            r, c = divmod(i, side)
            grid[1 + 29 * r:29 * (r + 1), 1 + 29 * c:29 * (c + 1)] = image
        axes.imshow(grid, cmap="gray", interpolation="nearest")
        axes.set(title=f"k = {k}: test MSE {mse[k]:.4f}", xticks=[], yticks=[])
    figure.suptitle("k-sparse autoencoder: the decoder's filters of the most used "
                    "units")
    figure.tight_layout()
    return figure
