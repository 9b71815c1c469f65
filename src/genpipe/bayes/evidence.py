"""Evidence maximisation: the marginal likelihood p(t | alpha, beta) of Bayesian
linear regression, maximised by MacKay's fixed point (one prior precision
alpha shared by all weights; Bishop, PRML 3.5) and by the relevance vector
machine (one alpha_i per weight; Tipping 2001, PRML 7.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def log_evidence(phi: np.ndarray, t: np.ndarray, alpha: np.ndarray | float,
                 beta: float) -> float:
    """ln p(t | alpha, beta) = ln N(t | 0, C), C = I / beta + Phi A^-1 Phi^T,
    A = diag(alpha) (PRML 7.85; with one alpha, PRML 3.86)."""
    a_inv = np.broadcast_to(1 / np.asarray(alpha, float), (phi.shape[1],))
    cov = np.eye(len(t)) / beta + (phi * a_inv) @ phi.T
    return float(stats.multivariate_normal(np.zeros(len(t)), cov).logpdf(t))


def log_evidence_shared(phi: np.ndarray, t: np.ndarray, alpha: float,
                        beta: float) -> float:
    """PRML eq. 3.86: M/2 ln alpha + N/2 ln beta - E(m_N) - 1/2 ln|A|
    - N/2 ln(2 pi), with A = alpha I + beta Phi^T Phi."""
    n, m = phi.shape
    a = alpha * np.eye(m) + beta * phi.T @ phi
    mean = beta * np.linalg.solve(a, phi.T @ t)
    energy = beta / 2 * np.sum((t - phi @ mean) ** 2) + alpha / 2 * mean @ mean
    return float(m / 2 * np.log(alpha) + n / 2 * np.log(beta) - energy
                 - np.linalg.slogdet(a)[1] / 2 - n / 2 * np.log(2 * np.pi))


@dataclass(frozen=True)
class EvidenceFit:
    alpha: np.ndarray  # one per weight (all equal for the shared prior)
    beta: float
    mean: np.ndarray  # posterior mean of the weights
    cov: np.ndarray  # posterior covariance
    log_evidence: np.ndarray  # per iteration
    iterations: int


def _posterior(phi, t, alpha, beta):
    cov = np.linalg.inv(np.diag(alpha) + beta * phi.T @ phi)  # Sigma = (A + b F^T F)^-1
    return beta * cov @ phi.T @ t, cov


def maximise_evidence(phi: np.ndarray, t: np.ndarray, *, shared: bool,
                      max_iter: int, tol: float, alpha_max: float = 1e9,
                      ) -> EvidenceFit:
    """Re-estimates alpha (shared or per weight) and beta to a fixed point.

    gamma_i = 1 - alpha_i Sigma_ii (well-determined parameters),
    shared:  alpha = sum gamma / m^T m              (PRML 3.92),
    per weight (RVM): alpha_i = gamma_i / m_i^2    (PRML 7.87),
    1 / beta = ||t - Phi m||^2 / (N - sum gamma)   (PRML 3.95, 7.88).
    alpha_i are capped at `alpha_max` (the weight is then pruned: mean 0).
    Stops when ln p(t) changes by less than `tol`.
    """
    n, m = phi.shape
    alpha, beta = np.ones(m), 1 / max(np.var(t), 1e-12)
    history: list[float] = []
    for _ in range(max_iter):
        mean, cov = _posterior(phi, t, alpha, beta)
        gamma = 1 - alpha * np.diag(cov)
        if shared:
            alpha = np.full(m, gamma.sum() / (mean @ mean))
        else:
            alpha = np.minimum(gamma / np.maximum(mean**2, 1e-300), alpha_max)
        beta = (n - gamma.sum()) / np.sum((t - phi @ mean) ** 2)
        history.append(log_evidence(phi, t, alpha, beta))
        if len(history) > 1 and abs(history[-1] - history[-2]) < tol:
            break
    mean, cov = _posterior(phi, t, alpha, beta)
    return EvidenceFit(alpha, float(beta), mean, cov, np.asarray(history),
                       len(history))


def gaussian_kernel(x: np.ndarray, centres: np.ndarray, width: float) -> np.ndarray:
    """[1, exp(-(x - c_j)^2 / (2 width^2))]: a bias and one basis per centre."""
    k = np.exp(-np.subtract.outer(x, centres) ** 2 / (2 * width**2))
    return np.hstack([np.ones((len(x), 1)), k])
