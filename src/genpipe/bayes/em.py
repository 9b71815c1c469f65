"""EM for crowdsourcing: the Dawid-Skene model (Dawid & Skene 1979).

Item i has a hidden true class z_i ~ Categorical(pi); annotator j reports
class l with probability theta_j[z_i, l] (its confusion matrix). The observed
data are the labels L (items x annotators, -1 where j did not label i).

- E-step: q_i(k) = p(z_i = k | L_i) ∝ pi_k prod_j theta_j[k, L_ij].
- M-step: pi_k = mean_i q_i(k); theta_j[k, l] ∝ sum_{i: L_ij = l} q_i(k).
- log-likelihood log p(L) = sum_i log sum_k pi_k prod_j theta_j[k, L_ij],
  which EM never decreases (Dempster, Laird & Rubin 1977).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

MISSING = -1


@dataclass(frozen=True)
class Crowd:
    labels: np.ndarray  # items x annotators, MISSING where not labelled
    truth: np.ndarray  # items


def simulate_crowd(rng: np.random.Generator, n_items: int, n_classes: int,
                   accuracies: tuple[float, ...], labels_per_item: int,
                   class_prior: tuple[float, ...] | None = None) -> Crowd:
    """Annotator j is right with probability accuracies[j], else names one of
    the other classes uniformly; each item gets `labels_per_item` annotators
    drawn without replacement."""
    prior = np.full(n_classes, 1 / n_classes) if class_prior is None else class_prior
    truth = rng.choice(n_classes, size=n_items, p=prior)
    n_annotators = len(accuracies)
    labels = np.full((n_items, n_annotators), MISSING)
    for i in range(n_items):
        for j in rng.choice(n_annotators, size=labels_per_item, replace=False):
            wrong = rng.choice([c for c in range(n_classes) if c != truth[i]])
            labels[i, j] = truth[i] if rng.uniform() < accuracies[j] else wrong
    return Crowd(labels, truth)


def majority_vote(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per item, the most frequent label (ties to the smallest class)."""
    return vote_fractions(labels, n_classes).argmax(axis=1)


def vote_fractions(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Items x classes: each class's share of the item's labels."""
    counts = np.stack([(labels == k).sum(axis=1) for k in range(n_classes)], axis=1)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def _log_joint(labels: np.ndarray, log_pi: np.ndarray, log_theta: np.ndarray,
               ) -> np.ndarray:
    """Items x classes: log pi_k + sum_j log theta_j[k, L_ij] (observed L_ij)."""
    out = np.broadcast_to(log_pi, (labels.shape[0], log_pi.size)).copy()
    for j in range(labels.shape[1]):
        seen = labels[:, j] != MISSING
        out[seen] += log_theta[j][:, labels[seen, j]].T
    return out


def log_likelihood(labels: np.ndarray, pi: np.ndarray, theta: np.ndarray) -> float:
    """log p(L | pi, theta) = sum_i log sum_k pi_k prod_j theta_j[k, L_ij]."""
    with np.errstate(divide="ignore"):
        return float(logsumexp(_log_joint(labels, np.log(pi), np.log(theta)),
                               axis=1).sum())


def m_step(labels: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pi_k = mean_i q_i(k);
    theta_j[k, l] = sum_{i: L_ij = l} q_i(k) / sum_{i: j labelled i} q_i(k)."""
    n_classes = q.shape[1]
    theta = np.empty((labels.shape[1], n_classes, n_classes))
    for j in range(labels.shape[1]):
        counts = np.stack([q[labels[:, j] == c].sum(axis=0)
                           for c in range(n_classes)], axis=1)  # k x l
        theta[j] = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1e-300)
    return q.mean(axis=0), theta


@dataclass(frozen=True)
class EmResult:
    posterior: np.ndarray  # items x classes, q_i(k)
    pi: np.ndarray
    theta: np.ndarray  # annotators x classes x classes
    log_likelihood: np.ndarray  # one value per iteration, of the parameters used

    @property
    def labels(self) -> np.ndarray:
        return self.posterior.argmax(axis=1)


def dawid_skene(labels: np.ndarray, n_classes: int, max_iter: int,
                tol: float) -> EmResult:
    """EM from the majority-vote soft labels; stops when the log-likelihood
    gains less than `tol`.

    Raises:
        RuntimeError: the log-likelihood decreased (beyond rounding) in an
            iteration, which EM forbids.
    """
    q = vote_fractions(labels, n_classes)
    history: list[float] = []
    for _ in range(max_iter):
        pi, theta = m_step(labels, q)
        with np.errstate(divide="ignore"):
            log_joint = _log_joint(labels, np.log(pi), np.log(theta))
        norm = logsumexp(log_joint, axis=1, keepdims=True)
        q = np.exp(log_joint - norm)  # E-step: the posterior over true classes
        history.append(float(norm.sum()))  # log p(L | pi, theta)
        if len(history) > 1:
            gain = history[-1] - history[-2]
            if gain < -1e-9 * abs(history[-2]):
                raise RuntimeError(f"EM log-likelihood decreased by {-gain:.3g}")
            if gain < tol:
                break
    return EmResult(q, pi, theta, np.asarray(history))
