"""Monte Carlo methods: rejection sampling, importance sampling and
random-walk Metropolis-Hastings, each on a target whose answer is known."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

LogDensity = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class RejectionResult:
    samples: np.ndarray
    n_proposals: int
    envelope: float  # M: p(x) <= M q(x) everywhere

    @property
    def acceptance_rate(self) -> float:
        return self.samples.size / self.n_proposals


def rejection_sample(rng: np.random.Generator, density: Callable, proposal,
                     envelope: float, n_proposals: int) -> RejectionResult:
    """Draws x ~ q, u ~ U(0, 1), keeps x when u <= p(x) / (M q(x)).

    With normalised p and q the acceptance probability is exactly 1 / M.

    Args:
        density: The target p (vectorised).
        proposal: A frozen scipy distribution q (`rvs`, `pdf`).
        envelope: M with p <= M q.
    """
    x = proposal.rvs(size=n_proposals, random_state=rng)
    u = rng.uniform(size=n_proposals)
    ratio = density(x) / (envelope * proposal.pdf(x))
    if np.any(ratio > 1 + 1e-12):
        raise ValueError(f"envelope M = {envelope} does not bound p / q")
    return RejectionResult(x[u <= ratio], n_proposals, envelope)


def beta_max_density(a: float, b: float) -> float:
    """max_x Beta(x; a, b) for a, b >= 1: the density at the mode."""
    mode = 0.5 if a == b == 1 else (a - 1) / (a + b - 2)
    return float(stats.beta(a, b).pdf(mode))


def importance_weights(x: np.ndarray, target, proposal) -> np.ndarray:
    """w(x) = p(x) / q(x), computed in log space."""
    return np.exp(target.logpdf(x) - proposal.logpdf(x))


def kish_ess(weights: np.ndarray) -> float:
    """Effective sample size of importance weights: (sum w)^2 / sum w^2."""
    return float(weights.sum() ** 2 / np.square(weights).sum())


def normal_is_second_moment(scale: float) -> float:
    """E_q[w^2] for p = N(0, 1), q = N(0, s^2): s^2 / sqrt(2 s^2 - 1), infinite
    for s^2 <= 1/2 (so the population ESS / n = 1 / E_q[w^2])."""
    return np.inf if scale**2 <= 0.5 else scale**2 / np.sqrt(2 * scale**2 - 1)


def normal_is_variance(scale: float) -> float:
    """Var_q[x^2 w(x)] of the plain IS estimate of E_p[x^2] = 1, p = N(0, 1),
    q = N(0, s^2): E_q[x^4 w^2] - 1 = 3 s / (4 sqrt(2) c^(5/2)) - 1 with
    c = 1 - 1 / (2 s^2); infinite for s^2 <= 1/2."""
    if scale**2 <= 0.5:
        return np.inf
    c = 1 - 1 / (2 * scale**2)
    return 3 * scale / (4 * np.sqrt(2) * c**2.5) - 1


@dataclass(frozen=True)
class Chains:
    draws: np.ndarray  # chains x draws, after burn-in
    accepted: np.ndarray  # chains x draws, booleans

    @property
    def acceptance_rate(self) -> float:
        return float(self.accepted.mean())


def metropolis_hastings(rng: np.random.Generator, log_density: LogDensity,
                        init: np.ndarray, draws: int, burn_in: int,
                        proposal_scale: float) -> Chains:
    """Random-walk Metropolis-Hastings, all chains advanced together.

    Proposal x' ~ N(x, s^2) is symmetric, so the acceptance probability is
    A = min(1, p(x') q(x | x') / (p(x) q(x' | x))) = min(1, p(x') / p(x)).

    Args:
        log_density: log p up to a constant, -inf outside the support.
        init: One start per chain.
    """
    x = np.asarray(init, float).copy()
    log_p = log_density(x)
    total = burn_in + draws
    out, accepted = np.empty((x.size, total)), np.empty((x.size, total), bool)
    for t in range(total):
        proposal = x + proposal_scale * rng.standard_normal(x.size)
        log_p_new = log_density(proposal)
        # accept with probability min(1, p(x') / p(x)), in log space
        accept = np.log(rng.uniform(size=x.size)) < log_p_new - log_p
        x, log_p = np.where(accept, proposal, x), np.where(accept, log_p_new, log_p)
        out[:, t], accepted[:, t] = x, accept
    return Chains(out[:, burn_in:], accepted[:, burn_in:])


def gamma_log_density(shape: float, rate: float) -> LogDensity:
    """log Gamma(x; shape, rate) up to a constant; -inf for x <= 0."""
    def log_p(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, (shape - 1) * np.log(x) - rate * x, -np.inf)
    return log_p


class NormalMixture:
    """0.5 N(m1, sd^2) + 0.5 N(m2, sd^2): mean, variance and cdf in closed form."""

    def __init__(self, means: tuple[float, float], sd: float):
        self.means, self.sd = np.asarray(means, float), sd

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        parts = stats.norm.logpdf(np.asarray(x)[..., None], self.means, self.sd)
        return np.logaddexp.reduce(parts, axis=-1) + np.log(0.5)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return stats.norm.cdf(np.asarray(x)[..., None], self.means, self.sd).mean(-1)

    def mean(self) -> float:
        return float(self.means.mean())

    def var(self) -> float:
        # law of total variance: E[Var] + Var[E]
        return float(self.sd**2 + self.means.var())
