"""Score a set of images against reference statistics of real data."""

from __future__ import annotations

import numpy as np
import torch

from genpipe.config import ProtocolConfig
from genpipe.evaluation import metrics
from genpipe.evaluation.extractor import FeatureExtractor, Features


def as_images(samples: torch.Tensor | np.ndarray | dict) -> torch.Tensor:
    """N x 1 x 28 x 28 float in [0, 1] from a family's samples or an MNIST split.

    Accepts a tensor or array shaped N x 1 x H x W or N x H x W, float in
    [0, 1] or uint8 in [0, 255], or a split dict with `images`.
    """
    if isinstance(samples, dict):
        samples = samples["images"]
    images = torch.as_tensor(np.asarray(samples) if not torch.is_tensor(samples)
                             else samples)
    if images.dtype == torch.uint8:
        images = images.float() / 255
    if images.ndim == 3:
        images = images.unsqueeze(1)
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"samples must be N x 1 x H x W, got {tuple(images.shape)}")
    if not torch.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        raise ValueError("samples must be finite and in [0, 1]")
    return images.float()


def reference_statistics(extractor: FeatureExtractor, images: torch.Tensor,
                         batch_size: int) -> dict[str, np.ndarray]:
    """What every score is compared to: real-data feature statistics.

    Returns:
        `mu`, `sigma` (FID), `features` (the k-NN manifold of precision/recall)
        and `evaluator_sha256`, which ties the statistics to their extractor.
    """
    real = extractor(images, batch_size)
    mu, sigma = metrics.feature_statistics(real.features)
    return {"mu": mu, "sigma": sigma, "features": real.features,
            "evaluator_sha256": np.array(extractor.checksum)}


def check_reference(reference: dict[str, np.ndarray], extractor: FeatureExtractor
                    ) -> None:
    """Raises ValueError when `reference` was computed with another extractor
    (a stale cache)."""
    cached = str(reference["evaluator_sha256"])
    if cached != extractor.checksum:
        raise ValueError(
            f"reference statistics belong to evaluator {cached[:12]}…, not to "
            f"{extractor.checksum[:12]}…: recompute them "
            "(kedro run --pipelines evaluation)")


def compare(fake: Features, reference: dict[str, np.ndarray],
            protocol: ProtocolConfig, k: int, seed: int) -> dict[str, float]:
    """FID (± its bootstrap spread), KID (± its spread over subsets) and
    precision/recall of `fake` against one reference."""
    rng = np.random.default_rng(seed)
    mu, sigma = metrics.feature_statistics(fake.features)
    # KID's cubic kernel (x.y/d + 1)^3 was made for Inception features, whose
    # inner products are O(d); the evaluator's are not. Both sets are divided
    # by the reference features' RMS so real-real products are O(d) too (the
    # same scale for every family: a fixed choice of kernel bandwidth).
    scale = np.sqrt(np.mean(np.square(reference["features"])))
    kid, kid_std = metrics.kernel_inception_distance(
        reference["features"] / scale, fake.features / scale, protocol.kid_subsets,
        protocol.kid_subset_size, rng)
    precision, recall = metrics.precision_recall(reference["features"],
                                                 fake.features, k)
    return {
        "fid": metrics.frechet_distance(reference["mu"], reference["sigma"], mu, sigma),
        "fid_std": metrics.bootstrap_fid(reference["mu"], reference["sigma"],
                                         fake.features, protocol.fid_bootstrap, rng),
        "kid": kid,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
    }


def score(extractor: FeatureExtractor, images: torch.Tensor,
          references: dict[str, dict[str, np.ndarray]], protocol: ProtocolConfig,
          *, batch_size: int, k: int, seed: int,
          labels: np.ndarray | None = None) -> dict[str, float]:
    """Every score of `images` under `protocol`.

    Args:
        references: `{suffix: reference statistics}`; the scores against
            each carry the suffix (`""`: `fid`, `"_binarized"`: `fid_binarized`).
        seed: Draws the KID subsets and FID's bootstrap resamples.
        labels: The classes a conditional model was asked for, one per image:
            adds `label_accuracy`, how often the evaluator's most probable
            class is the requested one.

    Raises:
        ValueError: not exactly `protocol.num_samples` images, or reference
            statistics of another extractor.
    """
    if len(images) != protocol.num_samples:
        raise ValueError(
            f"got {len(images)} samples; the protocol scores exactly "
            f"{protocol.num_samples} (parameters.evaluation.protocol.num_samples)")
    for reference in references.values():
        check_reference(reference, extractor)
    fake = extractor(images, batch_size)
    splits = metrics.inception_score_splits(len(images), protocol.is_split_size)
    is_mean, is_std = metrics.inception_score(fake.probs, splits)
    histogram = metrics.class_histogram(fake.probs)
    uniform = np.full_like(histogram, 1 / len(histogram))
    scores = {
        "inception_score": is_mean,
        "inception_score_std": is_std,
        "inception_score_splits": float(splits),
        # ln K when every class is used equally; near 0 flags mode collapse
        "class_entropy": metrics.entropy(histogram),
        "class_kl_uniform": metrics.kl_divergence(histogram, uniform),
        "num_samples": float(len(images)),
    }
    if labels is not None:
        scores["label_accuracy"] = float(
            (fake.probs.argmax(1) == np.asarray(labels)).mean())
    for suffix, reference in references.items():
        scores |= {f"{name}{suffix}": value for name, value in
                   compare(fake, reference, protocol, k, seed).items()}
    return scores
