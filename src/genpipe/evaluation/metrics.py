"""Sample-quality metrics and divergences, on numpy arrays.

Formulas as in the course material and the papers cited per function. All
functions are pure: features and probabilities in, floats out.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch

EPS = 1e-12


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of N x D features, in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need N x D features with N >= 2, got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (FID).

        FID = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))

    (Heusel et al. 2017). The matrix square root is handled as pytorch-fid does:
    when the product is near-singular (sqrtm not finite), `eps` is added to both
    diagonals; a complex result with an imaginary part below 1e-3 is rounding
    noise and its real part is taken, a larger one is an error.
    """
    mu1, sigma1 = _gaussian(mu1, sigma1)
    mu2, sigma2 = _gaussian(mu2, sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"shapes differ: {mu1.shape}/{mu2.shape}, "
                         f"{sigma1.shape}/{sigma2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products are handled just below
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(sigma1)) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        largest = np.max(np.abs(covmean.imag))
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"sqrtm(sigma1 sigma2) has imaginary component {largest}")
        covmean = covmean.real
    fid = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)
    return float(max(fid, 0.0))  # rounding can leave -1e-12 for equal sets


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) || p(y))), mean and std over `splits` chunks.

    (Salimans et al. 2016). `probs` is N x K, rows summing to 1. It ranges from
    1 (every sample gets the same prediction) to K (confident and all classes
    equally used).
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or not 1 <= splits <= len(probs):
        raise ValueError(f"need N x K probabilities and 1 <= splits <= N, got "
                         f"{probs.shape} and {splits}")
    scores = []
    for part in np.array_split(probs, splits):
        p_y = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + EPS) - np.log(p_y + EPS))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def inception_score_splits(n: int, split_size: int, max_splits: int = 10) -> int:
    """How many IS splits `n` samples get: one per `split_size` samples, at
    least 1 and at most `max_splits` (the paper's 10 splits of 5,000).

    IS is biased by the split size (it is an exponentiated KL estimated from
    each split's marginal): splits of equal size keep it comparable, and small
    splits (10 of 10 samples) would only measure noise.
    """
    if n < 1 or split_size < 1:
        raise ValueError(f"need n >= 1 and split_size >= 1, got {n} and {split_size}")
    return int(min(max_splits, max(1, n // split_size)))


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x . y / d + 1)^3, the kernel of KID (Binkowski et al. 2018)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased estimate of MMD^2 between the laws of `x` (m x D) and `y` (n x D):

        1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
        - 2/(mn) sum_{i,j} k(x_i, y_j)
    """
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"need at least 2 points in each set, got {m} and {n}")
    k_xx, k_yy = polynomial_kernel(x, x), polynomial_kernel(y, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * polynomial_kernel(x, y).mean())


def kernel_inception_distance(real: np.ndarray, fake: np.ndarray, subsets: int,
                              subset_size: int, rng: np.random.Generator
                              ) -> tuple[float, float]:
    """KID: the unbiased MMD^2 with the cubic polynomial kernel, mean and std
    over `subsets` random subsets of `subset_size` points of each set (drawn
    without replacement; at most the smaller set's size), as in Binkowski et
    al. 2018 and torch-fidelity. Unbiased at any N, so it ranks families
    where FID, biased upward by 1/N, cannot.
    """
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    m = min(subset_size, len(real), len(fake))
    values = [mmd2_unbiased(real[rng.choice(len(real), m, replace=False)],
                            fake[rng.choice(len(fake), m, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def bootstrap_fid(mu_real: np.ndarray, sigma_real: np.ndarray, fake: np.ndarray,
                  resamples: int, rng: np.random.Generator) -> float:
    """Spread of FID over the sample set: the std of FID over `resamples`
    bootstrap resamples (with replacement) of the fake features."""
    fake = np.asarray(fake, dtype=np.float64)
    values = []
    for _ in range(resamples):
        mu, sigma = feature_statistics(fake[rng.integers(0, len(fake), len(fake))])
        values.append(frechet_distance(mu_real, sigma_real, mu, sigma))
    return float(np.std(values))


def _kth_neighbour_radii(features: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance of each point to its k-th nearest neighbour in its own set."""
    radii = []
    for block in features.split(chunk):
        distances = torch.cdist(block, features)
        # k + 1: the smallest distance is the point to itself
        radii.append(distances.topk(k + 1, dim=1, largest=False).values[:, -1])
    return torch.cat(radii)


def _coverage(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor,
              chunk: int) -> float:
    """Fraction of `points` inside at least one ball (centre, radius)."""
    inside = [(torch.cdist(block, centres) <= radii).any(dim=1)
              for block in points.split(chunk)]
    return torch.cat(inside).double().mean().item()


def precision_recall(real_features: np.ndarray, fake_features: np.ndarray,
                     k: int = 3, chunk: int = 2048) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls around its points, of radius the
    distance to the k-th nearest neighbour. Precision = share of fake samples
    inside the real manifold (quality); recall = share of real samples inside
    the fake manifold (coverage of the modes).
    """
    real = torch.as_tensor(np.asarray(real_features, dtype=np.float32))
    fake = torch.as_tensor(np.asarray(fake_features, dtype=np.float32))
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"need more than k={k} samples in each set")
    precision = _coverage(fake, real, _kth_neighbour_radii(real, k, chunk), chunk)
    recall = _coverage(real, fake, _kth_neighbour_radii(fake, k, chunk), chunk)
    return precision, recall


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) = sum_i p_i log(p_i / q_i), in nats, for discrete distributions.

    Terms with p_i = 0 contribute 0; p_i > 0 where q_i = 0 gives inf.
    """
    p, q = _distribution(p), _distribution(q)
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """JS(p, q) = KL(p || m)/2 + KL(q || m)/2 with m = (p + q)/2, in nats (<= ln 2)."""
    p, q = _distribution(p), _distribution(q)
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m)


def gaussian_kl(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                sigma2: np.ndarray) -> float:
    """KL(N(mu1, sigma1) || N(mu2, sigma2)) in closed form, in nats:

        1/2 [ tr(S2^-1 S1) + (mu2 - mu1)^T S2^-1 (mu2 - mu1) - d + ln(det S2 / det S1) ]

    (Jensen-Shannon between Gaussians has no closed form: their mixture is not
    Gaussian.)
    """
    mu1, sigma1 = _gaussian(mu1, sigma1)
    mu2, sigma2 = _gaussian(mu2, sigma2)
    factor = scipy.linalg.cho_factor(sigma2)
    diff = mu2 - mu1
    trace = np.trace(scipy.linalg.cho_solve(factor, sigma1))
    mahalanobis = diff @ scipy.linalg.cho_solve(factor, diff)
    logdet2 = 2 * np.sum(np.log(np.diag(factor[0])))
    logdet1 = np.linalg.slogdet(sigma1)[1]
    return float(0.5 * (trace + mahalanobis - len(mu1) + logdet2 - logdet1))


def class_histogram(probs: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Share of samples per predicted class (argmax of each row)."""
    probs = np.asarray(probs)
    k = num_classes or probs.shape[1]
    return np.bincount(probs.argmax(axis=1), minlength=k) / len(probs)


def entropy(p: np.ndarray) -> float:
    """H(p) = -sum_i p_i ln p_i, in nats (ln K for K equally used classes)."""
    p = _distribution(p)
    support = p > 0
    return float(-np.sum(p[support] * np.log(p[support]))) + 0.0  # no -0.0


def _gaussian(mu, sigma) -> tuple[np.ndarray, np.ndarray]:
    return (np.atleast_1d(mu).astype(np.float64),
            np.atleast_2d(sigma).astype(np.float64))


def _distribution(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64).ravel()
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0, atol=1e-6):
        raise ValueError("not a probability distribution (negative or sum != 1)")
    return p
