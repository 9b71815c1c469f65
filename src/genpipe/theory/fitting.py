"""Forward vs reverse KL: one Gaussian q fitted to a two-component mixture p.

Forward KL(p || q) is minimised by moment matching (q's mean and variance are
p's): mode covering. Reverse KL(q || p) has no closed form; minimised
numerically it locks onto one mode: mode seeking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, stats


@dataclass(frozen=True)
class Mixture:
    means: tuple[float, float]
    sd: float
    weight: float  # of the first component

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        w = np.log([self.weight, 1 - self.weight])
        parts = stats.norm.logpdf(np.asarray(x)[..., None], self.means, self.sd) + w
        return np.logaddexp.reduce(parts, axis=-1)

    def mean(self) -> float:
        return self.weight * self.means[0] + (1 - self.weight) * self.means[1]

    def var(self) -> float:
        # E[Var] + Var[E] (law of total variance)
        m = np.asarray(self.means)
        w = np.array([self.weight, 1 - self.weight])
        return float(self.sd**2 + w @ m**2 - self.mean() ** 2)


def grid_for(p: Mixture, points: int) -> np.ndarray:
    lo, hi = min(p.means) - 8 * p.sd, max(p.means) + 8 * p.sd
    return np.linspace(lo, hi, points)


def forward_kl(p: Mixture, mu: float, sd: float, grid: np.ndarray) -> float:
    """KL(p || N(mu, sd^2)) in nats, by the trapezoid rule on `grid`."""
    lp = p.logpdf(grid)
    return float(integrate.trapezoid(np.exp(lp) * (lp - stats.norm.logpdf(
        grid, mu, sd)), grid))


def reverse_kl(p: Mixture, mu: float, sd: float, grid: np.ndarray) -> float:
    """KL(N(mu, sd^2) || p) in nats, by the trapezoid rule on `grid`."""
    lq = stats.norm.logpdf(grid, mu, sd)
    return float(integrate.trapezoid(np.exp(lq) * (lq - p.logpdf(grid)), grid))


def fit(divergence, p: Mixture, start: tuple[float, float],
        grid: np.ndarray) -> tuple[float, float, float]:
    """argmin over (mu, log sd) of divergence(p, mu, sd); returns (mu, sd, value)."""
    result = optimize.minimize(lambda z: divergence(p, z[0], np.exp(z[1]), grid),
                               np.array([start[0], np.log(start[1])]),
                               method="Nelder-Mead",
                               options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 4000})
    return float(result.x[0]), float(np.exp(result.x[1])), float(result.fun)
