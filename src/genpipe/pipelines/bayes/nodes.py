"""Nodes of the `bayes` pipeline: each item of the Bayesian theory minimum
returns its results table, its checks table (computed beside closed form),
its figure, its metrics (MLflow) and the same scalar metrics again as scores
(a JSON file for DVC); the docstrings' Returns name the first four."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from genpipe.bayes import experiments
from genpipe.bayes.config import BayesConfig

logger = logging.getLogger(__name__)

Outputs = tuple[pd.DataFrame, pd.DataFrame, Figure, dict[str, float],
                dict[str, float]]

# One independent random stream per item: results do not depend on node order.
STREAMS = {"mle_map": 1, "conjugacy": 2, "rejection": 3, "importance": 4,
           "mcmc_gamma": 5, "mcmc_mixture": 6, "em": 7, "evidence": 8}


def _run(item: str, block: str, params: dict, seed: int,
         experiment: Callable) -> Outputs:
    """Validates `bayes.<block>`, runs the experiment on the item's stream."""
    config = getattr(BayesConfig.model_validate({block: params}), block)
    report = experiment(config, np.random.default_rng([seed, STREAMS[item]]))
    logger.info("bayes %s: %s", item, ", ".join(
        f"{k} {v:.4g}" for k, v in report.metrics.items() if isinstance(v, float)))
    scores = {key: float(value) for key, value in report.metrics.items()
              if isinstance(value, int | float)}  # histories stay in MLflow
    return report.table, report.checks, report.figure, report.metrics, scores


def compare_mle_map(params: dict, seed: int) -> Outputs:
    """MLE (least squares) against MAP (ridge with lambda = sigma^2 / tau^2).

    Args:
        params: The `bayes.mle_map` block.
        seed: The run's seed.

    Returns:
        The lambda sweep (train/test MSE, weight norm); the checks (numerical
        MAP and ridge against the closed-form posterior mean, predictive
        coverage against 95.4%); the figure; metrics (`test_mse_mle`,
        `test_mse_map`, `lambda_map`, `predictive_coverage`, ...).
    """
    return _run("mle_map", "mle_map", params, seed, experiments.mle_map)


def update_conjugate_posteriors(params: dict, seed: int) -> Outputs:
    """Beta-Binomial and Gamma-Poisson posteriors after each batch of data.

    Args:
        params: The `bayes.conjugacy` block.
        seed: The run's seed.

    Returns:
        Prior and posterior parameters, means, sds, MLE and predictive per
        stage; the checks (quadrature and Monte Carlo against the conjugate
        closed forms); the figure; metrics (`beta_posterior_mean`,
        `beta_mle`, `gamma_posterior_mean`, ...).
    """
    return _run("conjugacy", "conjugacy", params, seed, experiments.conjugacy)


def sample_by_rejection(params: dict, seed: int) -> Outputs:
    """Rejection sampling of a Beta posterior, acceptance against 1/M.

    Args:
        params: The `bayes.rejection` block.
        seed: The run's seed.

    Returns:
        Acceptance per envelope; checks; figure; metrics (`acceptance_rate`,
        `acceptance_theory`, `ks_distance`, ...).
    """
    return _run("rejection", "rejection", params, seed, experiments.rejection)


def estimate_by_importance_sampling(params: dict, seed: int) -> Outputs:
    """Importance sampling of E_p[x^2] over proposals of several widths.

    Args:
        params: The `bayes.importance` block.
        seed: The run's seed.

    Returns:
        Estimate, variance and ESS per proposal; checks against the closed
        forms; figure; metrics of `good_scale` and of the poorest proposal.
    """
    return _run("importance", "importance", params, seed, experiments.importance)


def _mcmc(target: str, params: dict, seed: int) -> Outputs:
    return _run(f"mcmc_{target}", "mcmc", params, seed,
                lambda config, rng: experiments.mcmc(
                    config, experiments.mcmc_targets(config)[target], rng))


def sample_gamma_posterior(params: dict, seed: int) -> Outputs:
    """Random-walk Metropolis-Hastings on the Gamma posterior of Poisson counts.

    Args:
        params: The `bayes.mcmc` block.
        seed: The run's seed.

    Returns:
        Autocorrelation per chain and lag; checks (mean and variance against
        the exact posterior); the trace/histogram/autocorrelation figure;
        metrics (`acceptance_rate`, `ess_bulk`, `ess_tail`, `r_hat`,
        `ks_distance`, `mean_error_mcse`, ...).
    """
    return _mcmc("gamma", params, seed)


def sample_mixture(params: dict, seed: int) -> Outputs:
    """Random-walk Metropolis-Hastings on the bimodal normal mixture.

    Args:
        params: The `bayes.mcmc` block.
        seed: The run's seed.

    Returns:
        As `sample_gamma_posterior`.
    """
    return _mcmc("mixture", params, seed)


def label_crowd_with_em(params: dict, seed: int) -> Outputs:
    """Dawid-Skene EM on simulated annotators, against majority vote.

    Args:
        params: The `bayes.em` block.
        seed: The run's seed.

    Returns:
        Annotators' true and estimated accuracies; checks; figure; metrics
        (`em_accuracy`, `majority_accuracy`, `loglik_final`, `iterations`,
        `min_loglik_increase`, and the `loglik` curve as a history).

    Raises:
        RuntimeError: the log-likelihood decreased in some EM iteration.
    """
    return _run("em", "em", params, seed, experiments.crowdsourcing)


def maximise_evidence(params: dict, seed: int) -> Outputs:
    """Evidence maximisation: one shared prior precision (MacKay) against the
    relevance vector machine's one per weight, on noisy sinc data.

    Args:
        params: The `bayes.evidence` block.
        seed: The run's seed.

    Returns:
        Each training point's RVM alpha, weight and relevance; checks (ln p(t)
        by PRML eq. 3.86 against ln N(t | 0, C), the fixed point against a
        numerical maximum); the figure; metrics (`alpha_shared`,
        `lambda_shared`, `log_evidence_rvm`, `relevance_vectors`, ...).
    """
    return _run("evidence", "evidence", params, seed,
                experiments.evidence_maximisation)
