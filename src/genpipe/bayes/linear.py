"""MLE vs MAP for linear regression with Gaussian noise and a Gaussian prior.

With y = Phi w + eps, eps ~ N(0, sigma^2 I) and w ~ N(0, tau^2 I) (Bishop, PRML
3.3): the MLE is least squares, the MAP is ridge regression with
lambda = sigma^2 / tau^2, and the posterior over w is Gaussian with
S_N = (Phi^T Phi / sigma^2 + I / tau^2)^-1, m_N = S_N Phi^T y / sigma^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def features(x: np.ndarray, degree: int) -> np.ndarray:
    """Polynomial features phi(x) = (1, x, ..., x^degree), one row per x."""
    return np.vander(np.asarray(x, float), degree + 1, increasing=True)


def mle(phi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares, argmax_w log N(y | Phi w, sigma^2 I) (any sigma)."""
    return np.linalg.lstsq(phi, y, rcond=None)[0]


def ridge(phi: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """argmin ||y - Phi w||^2 + lam ||w||^2 = (Phi^T Phi + lam I)^-1 Phi^T y."""
    return np.linalg.solve(phi.T @ phi + lam * np.eye(phi.shape[1]), phi.T @ y)


@dataclass(frozen=True)
class Posterior:
    """N(mean, cov) over the weights (PRML eq. 3.53-3.54)."""

    mean: np.ndarray
    cov: np.ndarray


def posterior(phi: np.ndarray, y: np.ndarray, sigma: float, tau: float) -> Posterior:
    """The Gaussian posterior over w; its mean is the MAP = ridge(sigma^2/tau^2)."""
    precision = phi.T @ phi / sigma**2 + np.eye(phi.shape[1]) / tau**2  # S_N^-1
    cov = np.linalg.inv(precision)
    return Posterior(mean=cov @ phi.T @ y / sigma**2, cov=cov)


def predictive(post: Posterior, phi: np.ndarray, sigma: float,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive mean m_N^T phi(x) and standard deviation
    sqrt(sigma^2 + phi^T S_N phi) (PRML eq. 3.58-3.59)."""
    variance = sigma**2 + np.einsum("ij,jk,ik->i", phi, post.cov, phi)
    return phi @ post.mean, np.sqrt(variance)


def log_posterior(w: np.ndarray, phi: np.ndarray, y: np.ndarray, sigma: float,
                  tau: float) -> float:
    """log p(w | y) up to a constant:
    log N(y | Phi w, sigma^2 I) + log N(w | 0, tau^2 I)."""
    residual = y - phi @ w
    return float(-residual @ residual / (2 * sigma**2) - w @ w / (2 * tau**2))
