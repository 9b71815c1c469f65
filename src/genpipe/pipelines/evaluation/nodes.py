"""Nodes of the `evaluation` pipeline, and the node set every family reuses."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from genpipe import plots
from genpipe.config import EvaluationConfig
from genpipe.evaluation import scoring
from genpipe.evaluation.extractor import evaluator_extractor
from genpipe.training import seed_everything


def compute_reference_stats(evaluator_model: dict[str, torch.Tensor], real: dict,
                            evaluator: dict, params: dict, seed: int, device: str
                            ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Feature statistics of real training images, tied to the evaluator's checksum.

    Args:
        evaluator_model: The evaluator's weights.
        real: The MNIST training split.
        evaluator: The `evaluator` block (architecture).
        params: The `evaluation` block (`reference_size`, `batch_size`, extractor).
        seed: Chooses the `reference_size` images.
        device: The `device` parameter.

    Returns:
        The statistics of the 8-bit images and of the same images binarized
        (`> 0.5`), which binarized families are also compared with: each
        `mu`, `sigma`, `features`, `evaluator_sha256`
        (see `scoring.reference_statistics`).
    """
    config = EvaluationConfig.model_validate(params)
    images = scoring.as_images(real)
    size = min(config.reference_size, len(images))
    chosen = np.sort(np.random.default_rng(seed).permutation(len(images))[:size])
    extractor = evaluator_extractor(evaluator_model, evaluator, config, device)
    return tuple(scoring.reference_statistics(extractor, batch, config.batch_size)
                 for batch in (images[chosen], binarize(images[chosen])))


def binarize(images: torch.Tensor) -> torch.Tensor:
    """Binarized MNIST as the binarized families train on it: pixel > 0.5."""
    return (images > 0.5).float()


def draw_real_samples(real: dict, params: dict, seed: int, *,
                      binarized: bool) -> dict[str, np.ndarray]:
    """The real-data floor's "samples": `protocol.num_samples` held-out real
    images (a seeded draw from the test split), binarized or not.

    Returns:
        `{"images": N x 1 x 28 x 28 uint8, "binarized": bool}`, as a family's
        `sample` node writes them.
    """
    config = EvaluationConfig.model_validate(params)
    images = scoring.as_images(real)
    n = config.protocol.num_samples
    if n > len(images):
        raise ValueError(f"parameters.evaluation.protocol.num_samples = {n}, but the "
                         f"test split holds {len(images)} images")
    chosen = np.sort(np.random.default_rng(seed).permutation(len(images))[:n])
    images = binarize(images[chosen]) if binarized else images[chosen]
    return {"images": images.mul(255).round().to(torch.uint8).numpy(),
            "binarized": np.array(binarized)}


def evaluate_samples(samples: dict, evaluator_model: dict[str, torch.Tensor],
                     reference_stats: dict[str, np.ndarray],
                     reference_stats_binarized: dict[str, np.ndarray],
                     evaluator: dict, params: dict, seed: int,
                     device: str) -> tuple[dict[str, float], Figure, dict]:
    """Scores a family's samples: the node set every generative pipeline wires in.

    Args:
        samples: `{"images": N x 1 x 28 x 28, "binarized": bool}`; exactly
            `evaluation.protocol.num_samples` images; a conditional family's
            also hold the requested `labels` (scored as `label_accuracy`).
        evaluator_model, reference_stats, reference_stats_binarized: Shared
            inputs (`evaluator` and `evaluation` pipelines).
        evaluator: The `evaluator` block; params: the `evaluation` block.
        seed: The run's seed; device: the `device` parameter.

    Returns:
        Metrics under the names every family shares (`fid`, `fid_std`, `kid`,
        `kid_std`, `inception_score`, `precision`, `recall`, `class_entropy`,
        `num_samples`, ...; binarized samples also get `fid_binarized`, ...
        against binarized real data), the sample grid, and the scores with
        the evaluator checksum and protocol they were measured with.
    """
    config = EvaluationConfig.model_validate(params)
    seed_everything(seed)
    images = scoring.as_images(samples)
    binarized = bool(samples.get("binarized", False))
    references = {"": reference_stats}
    if binarized:
        references["_binarized"] = reference_stats_binarized
    extractor = evaluator_extractor(evaluator_model, evaluator, config, device)
    metrics = scoring.score(extractor, images, references, config.protocol,
                            batch_size=config.batch_size, k=config.pr_k, seed=seed,
                            labels=samples.get("labels"))
    grid = plots.sample_grid(images, config.grid_rows,
                               f"N {len(images)} · FID {metrics['fid']:.1f} · KID "
                               f"{metrics['kid']:.3f} · IS "
                               f"{metrics['inception_score']:.2f}")
    scores = {"metrics": metrics, "evaluator_sha256": extractor.checksum,
              "extractor": config.extractor.kind, "binarized": binarized,
              "protocol": config.protocol.model_dump()}
    return metrics, grid, scores
