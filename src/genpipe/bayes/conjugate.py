"""Conjugate priors: Beta-Binomial and Gamma-Poisson, updated batch by batch.

Beta(a, b) prior, k successes in n Bernoulli trials -> Beta(a + k, b + n - k);
Gamma(a, b) prior (shape, rate), counts x_1..x_n ~ Poisson(lambda) ->
Gamma(a + sum x, b + n). The posterior predictive of the next observation is
Beta-Binomial(1, a, b) (P(x = 1) = a / (a + b)) and negative binomial
NB(a, b / (b + 1)) respectively.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def beta_binomial_updates(prior: tuple[float, float], batches: list[np.ndarray],
                          ) -> pd.DataFrame:
    """The Beta posterior after each batch of 0/1 observations.

    Returns:
        One row per stage (0 = the prior): `n`, `a`, `b`, `posterior_mean`,
        `posterior_sd`, `mle` (k / n, NaN before data), `predictive_p1`
        (P(next = 1 | data) = a / (a + b)).
    """
    a, b = prior
    n = k = 0
    rows = []
    for stage, batch in enumerate([np.zeros(0, int), *batches]):
        a, b = a + batch.sum(), b + batch.size - batch.sum()  # Beta(a + k, b + n - k)
        n, k = n + batch.size, k + int(batch.sum())
        dist = stats.beta(a, b)
        rows.append({"stage": stage, "n": n, "a": float(a), "b": float(b),
                     "posterior_mean": dist.mean(), "posterior_sd": dist.std(),
                     "mle": k / n if n else np.nan, "predictive_p1": a / (a + b)})
    return pd.DataFrame(rows)


def gamma_poisson_updates(prior: tuple[float, float], batches: list[np.ndarray],
                          ) -> pd.DataFrame:
    """The Gamma(shape, rate) posterior after each batch of counts.

    Returns:
        One row per stage (0 = the prior): `n`, `a`, `b`, `posterior_mean`,
        `posterior_sd`, `mle` (mean count), `predictive_mean` and
        `predictive_var` of the next count (negative binomial NB(a, b/(b+1)):
        mean a/b, variance a(b+1)/b^2).
    """
    a, b = prior
    n = total = 0
    rows = []
    for stage, batch in enumerate([np.zeros(0, int), *batches]):
        a, b = a + batch.sum(), b + batch.size  # Gamma(a + sum x, b + n)
        n, total = n + batch.size, total + int(batch.sum())
        dist = stats.gamma(a, scale=1 / b)
        rows.append({"stage": stage, "n": n, "a": float(a), "b": float(b),
                     "posterior_mean": dist.mean(), "posterior_sd": dist.std(),
                     "mle": total / n if n else np.nan,
                     "predictive_mean": a / b, "predictive_var": a * (b + 1) / b**2})
    return pd.DataFrame(rows)


def gamma_poisson_predictive(a: float, b: float) -> stats.rv_discrete:
    """p(x_new | data) = NB(x; a, p = b / (b + 1)), scipy's parametrisation."""
    return stats.nbinom(a, b / (b + 1))


def simulate_batches(rng: np.random.Generator, draw, sizes: list[int],
                     ) -> list[np.ndarray]:
    """`draw(rng, size)` for each size: the batches of observations."""
    return [np.asarray(draw(rng, size)) for size in sizes]
