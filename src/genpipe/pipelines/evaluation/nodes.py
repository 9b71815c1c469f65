"""Nodes of the `evaluation` pipeline, and the node set every family reuses."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from genpipe.config import EvaluationConfig, EvaluatorConfig
from genpipe.evaluation import scoring
from genpipe.evaluation.extractor import build_extractor
from genpipe.training import seed_everything, torch_device


def evaluator_extractor(weights: dict[str, torch.Tensor], evaluator: dict,
                        config: EvaluationConfig, device: str):
    """The evaluator's feature extractor (features and class posterior)."""
    model_config = EvaluatorConfig.model_validate(evaluator).model
    return build_extractor(config.extractor, weights, model_config,
                           torch_device(device))


def compute_reference_stats(evaluator_model: dict[str, torch.Tensor], real: dict,
                            evaluator: dict, params: dict, seed: int,
                            device: str) -> dict[str, np.ndarray]:
    """Feature statistics of real training images, tied to the evaluator's checksum.

    Args:
        evaluator_model: The evaluator's weights.
        real: The MNIST training split.
        evaluator: The `evaluator` block (architecture).
        params: The `evaluation` block (`reference_size`, `batch_size`, extractor).
        seed: Chooses the `reference_size` images.
        device: The `device` parameter.

    Returns:
        `mu`, `sigma`, `features`, `evaluator_sha256`
        (see `scoring.reference_statistics`).
    """
    config = EvaluationConfig.model_validate(params)
    images = scoring.as_images(real)
    size = min(config.reference_size, len(images))
    chosen = np.sort(np.random.default_rng(seed).permutation(len(images))[:size])
    extractor = evaluator_extractor(evaluator_model, evaluator, config, device)
    return scoring.reference_statistics(extractor, images[chosen], config.batch_size)


def evaluate_samples(samples, evaluator_model: dict[str, torch.Tensor],
                     reference_stats: dict[str, np.ndarray], evaluator: dict,
                     params: dict, seed: int,
                     device: str) -> tuple[dict[str, float], Figure, dict]:
    """Scores a family's samples: the node set every generative pipeline wires in.

    Args:
        samples: N x 1 x 28 x 28 in [0, 1] (or uint8, or an MNIST split dict);
            the first `num_samples` are scored.
        evaluator_model, reference_stats: Shared inputs (`evaluator` and
            `evaluation` pipelines).
        evaluator: The `evaluator` block; params: the `evaluation` block.
        seed: The run's seed; device: the `device` parameter.

    Returns:
        Metrics (`fid`, `inception_score`, `precision`, `recall`,
        `class_entropy`, ...; logged as `<namespace>/<name>`), the sample grid,
        and the scores with the evaluator checksum they were measured with.
    """
    config = EvaluationConfig.model_validate(params)
    seed_everything(seed)
    images = scoring.as_images(samples)[: config.num_samples]
    extractor = evaluator_extractor(evaluator_model, evaluator, config, device)
    metrics = scoring.score(extractor, images, reference_stats,
                            batch_size=config.batch_size, is_splits=config.is_splits,
                            k=config.pr_k)
    grid = scoring.sample_grid(images, config.grid_rows,
                               f"FID {metrics['fid']:.2f} · IS "
                               f"{metrics['inception_score']:.2f}")
    scores = {"metrics": metrics, "evaluator_sha256": extractor.checksum,
              "extractor": config.extractor.kind}
    return metrics, grid, scores
