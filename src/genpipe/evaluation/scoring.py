"""Score a set of images against reference statistics of real data."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from genpipe.evaluation import metrics
from genpipe.evaluation.extractor import FeatureExtractor


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


def score(extractor: FeatureExtractor, images: torch.Tensor,
          reference: dict[str, np.ndarray], *, batch_size: int, is_splits: int,
          k: int) -> dict[str, float]:
    """FID, IS, precision/recall and class-usage metrics of `images`.

    Raises:
        ValueError: the reference statistics were computed with another
            extractor (stale cache).
    """
    cached = str(reference["evaluator_sha256"])
    if cached != extractor.checksum:
        raise ValueError(
            f"reference statistics belong to evaluator {cached[:12]}…, not to "
            f"{extractor.checksum[:12]}…: recompute them "
            "(kedro run --pipelines evaluation)")
    fake = extractor(images, batch_size)
    mu, sigma = metrics.feature_statistics(fake.features)
    is_mean, is_std = metrics.inception_score(fake.probs, is_splits)
    precision, recall = metrics.precision_recall(reference["features"],
                                                 fake.features, k)
    histogram = metrics.class_histogram(fake.probs)
    uniform = np.full_like(histogram, 1 / len(histogram))
    return {
        "fid": metrics.frechet_distance(reference["mu"], reference["sigma"], mu, sigma),
        "inception_score": is_mean,
        "inception_score_std": is_std,
        "precision": precision,
        "recall": recall,
        # ln K when every class is used equally; near 0 flags mode collapse
        "class_entropy": metrics.entropy(histogram),
        "class_kl_uniform": metrics.kl_divergence(histogram, uniform),
        "num_samples": float(len(images)),
    }


def sample_grid(images: torch.Tensor, rows: int, title: str) -> Figure:
    """The first rows x rows images, tiled into one figure."""
    n = min(rows * rows, len(images))
    tiles = torch.zeros(rows * rows, *images.shape[2:])
    tiles[:n] = images[:n, 0]
    h, w = tiles.shape[1:]
    grid = tiles.reshape(rows, rows, h, w).permute(0, 2, 1, 3)
    grid = grid.reshape(rows * h, rows * w)
    figure = Figure(figsize=(rows * 0.6, rows * 0.6 + 0.4))
    axes = figure.subplots()
    axes.imshow(grid.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes.set_axis_off()
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure
