"""MCMC diagnostics with ArviZ (Vehtari et al. 2021 rank-normalised R-hat and
ESS); nothing here re-derives them."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

with warnings.catch_warnings():  # ArviZ 0.23 announces its 1.0 refactor on import
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az


def summary(draws: np.ndarray, exact_mean: float, exact_var: float,
            exact_cdf) -> dict[str, float]:
    """Diagnostics of chains x draws against the exact target.

    Returns:
        `ess_bulk`, `ess_tail`, `r_hat`, `mcse_mean` (ArviZ), `mcse_var` (the
        MCSE of the mean of (x - exact_mean)^2, from its own ArviZ ESS), the
        estimates and their errors `mean_error`, `var_error`, the errors in
        MCSE units `mean_error_mcse`, `var_error_mcse`, and `ks_distance`
        (sup |F_n - F| of all draws against the exact cdf).
    """
    draws = np.asarray(draws, float)
    squared = (draws - exact_mean) ** 2
    mean, var = float(draws.mean()), float(squared.mean())
    mcse_mean = float(np.squeeze(az.mcse(draws, method="mean")))
    mcse_var = float(np.squeeze(az.mcse(squared, method="mean")))
    return {
        "ess_bulk": float(az.ess(draws, method="bulk")),
        "ess_tail": float(az.ess(draws, method="tail")),
        "r_hat": float(az.rhat(draws)),
        "mcse_mean": mcse_mean, "mcse_var": mcse_var,
        "mean": mean, "var": var, "exact_mean": float(exact_mean),
        "exact_var": float(exact_var),
        "mean_error": float(mean - exact_mean), "var_error": float(var - exact_var),
        "mean_error_mcse": float(abs(mean - exact_mean) / mcse_mean),
        "var_error_mcse": float(abs(var - exact_var) / mcse_var),
        "ks_distance": float(stats.kstest(draws.ravel(), exact_cdf).statistic),
    }


def autocorrelation(draws: np.ndarray, max_lag: int) -> np.ndarray:
    """ArviZ's autocorrelation of each chain, lags 0..max_lag (chains x lags)."""
    return np.stack([az.autocorr(chain)[:max_lag + 1] for chain in draws])
