"""Entropy, cross-entropy, KL and JS divergences: discrete and between
Gaussians, in closed form and by quadrature."""

from __future__ import annotations

import numpy as np
from scipy import integrate, stats


def entropy(p: np.ndarray, base: float = 2) -> float:
    """H(p) = -sum p log p (0 log 0 = 0), in bits by default."""
    p = np.asarray(p, float)
    nz = p > 0
    return float(-np.sum(p[nz] * np.log(p[nz])) / np.log(base))


def cross_entropy(p: np.ndarray, q: np.ndarray, base: float = 2) -> float:
    """H(p, q) = -sum p log q: the mean code length when coding p with q's code."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    nz = p > 0
    return float(-np.sum(p[nz] * np.log(q[nz])) / np.log(base))


def kl_divergence(p: np.ndarray, q: np.ndarray, base: float = 2) -> float:
    """KL(p || q) = H(p, q) - H(p)."""
    return cross_entropy(p, q, base) - entropy(p, base)


def code_distribution(lengths: np.ndarray) -> np.ndarray:
    """The distribution a prefix code is optimal for: q_i = 2^-length_i."""
    return 2.0 ** -np.asarray(lengths, float)


def gaussian_kl(mu1: float, sd1: float, mu2: float, sd2: float) -> float:
    """KL(N(mu1, sd1^2) || N(mu2, sd2^2)) in nats:
    log(sd2/sd1) + (sd1^2 + (mu1 - mu2)^2) / (2 sd2^2) - 1/2."""
    return float(np.log(sd2 / sd1) + (sd1**2 + (mu1 - mu2) ** 2) / (2 * sd2**2) - 0.5)


def kl_quadrature(p, q, lo: float, hi: float) -> float:
    """KL(p || q) = int p log(p / q) dx in nats, by adaptive quadrature."""
    def integrand(x):
        return np.exp(p.logpdf(x)) * (p.logpdf(x) - q.logpdf(x))
    return float(integrate.quad(integrand, lo, hi, limit=200)[0])


def js_quadrature(p, q, lo: float, hi: float) -> float:
    """JS(p, q) = KL(p || m)/2 + KL(q || m)/2, m = (p + q)/2, in nats (<= log 2)."""
    def integrand(x):
        lp, lq = p.logpdf(x), q.logpdf(x)
        lm = np.logaddexp(lp, lq) - np.log(2)
        return 0.5 * (np.exp(lp) * (lp - lm) + np.exp(lq) * (lq - lm))
    return float(integrate.quad(integrand, lo, hi, limit=200)[0])


def normal_pair(mu: float) -> tuple:
    """N(0, 1) and N(mu, 1), frozen."""
    return stats.norm(0, 1), stats.norm(mu, 1)


def bernoulli_kl(rho: float, rho_hat: np.ndarray) -> np.ndarray:
    """The sparse AE's penalty KL(rho || rho_hat) between Bernoulli means:
    rho log(rho / rho_hat) + (1 - rho) log((1 - rho) / (1 - rho_hat)) (nats)."""
    rho_hat = np.asarray(rho_hat, float)
    return rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))


def bernoulli_kl_grad(rho: float, rho_hat: np.ndarray) -> np.ndarray:
    """d KL(rho || rho_hat) / d rho_hat = -rho / rho_hat + (1 - rho) / (1 - rho_hat)."""
    rho_hat = np.asarray(rho_hat, float)
    return -rho / rho_hat + (1 - rho) / (1 - rho_hat)
