"""In-memory inputs of the generative pipelines: small image splits, a tiny
evaluator, its reference statistics, a protocol of N = 60, and the trained
(here: freshly initialised) first stages that two-stage families read."""

from __future__ import annotations

import numpy as np
import torch
from kedro.io import DataCatalog

from tests.helpers.images import EVALUATION, EVALUATOR, evaluator_weights

__all__ = ["EVALUATION", "EVALUATOR", "block", "evaluator_weights", "family_catalog",
           "first_stage_weights", "split", "template_block"]


def split(n: int, seed: int) -> dict:
    """Bars at random places (uint8) with labels 0, 1, …, 9, 0, …"""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    for image, (row, col) in zip(images, rng.integers(4, 21, (n, 2)), strict=True):
        image[row:row + 3, 4:24] = 255
        image[4:24, col:col + 3] = 255
    return {"images": images, "labels": (np.arange(n) % 10).astype(np.uint8)}


def block(checkpoint_dir: str, model: dict, **extra) -> dict:
    """A family's parameters block with a two-epoch trainer."""
    return {"model": model, "data": {"batch_size": 32},
            "trainer": {"max_epochs": 2, "checkpoint_dir": checkpoint_dir,
                        "progress_bar": False, "log_every_n_steps": 1},
            "snapshot_samples": 4, **extra}


def template_block(tmp_path, model: dict, binarize: bool = False) -> dict:
    """A family's block with a two-epoch trainer (checkpoints in `tmp_path/ckpt`)
    and the small figure settings of the template's evaluate/reconstruct nodes."""
    return {"model": model, "data": {"batch_size": 32, "binarize": binarize},
            "trainer": {"max_epochs": 2, "checkpoint_dir": str(tmp_path / "ckpt"),
                        "progress_bar": False, "log_every_n_steps": 1},
            "latent_map_points": 40, "tsne_perplexity": 5, "reconstruction_rows": 4}


def first_stage_weights(family: str, model: dict, seed: int = 0) -> dict:
    """The state dict of family `family` built from `model` (untrained)."""
    from genpipe.models.generative import build

    torch.manual_seed(seed)
    return build(family, model).state_dict()


def family_catalog(blocks: dict[str, dict], sizes: tuple[int, int, int],
                   extra: dict | None = None,
                   evaluation: dict = EVALUATION) -> DataCatalog:
    """What generative family pipelines read: bar-image splits of `sizes`
    (train, val, test), each `params:<family>` block, the evaluator, its
    reference statistics (always under `EVALUATION`), `evaluation` as
    `params:evaluation`, and `extra` datasets (e.g. `vqvae.model`)."""
    from genpipe.pipelines.evaluation.nodes import compute_reference_stats

    weights, train = evaluator_weights(), split(sizes[0], 0)
    catalog = DataCatalog()
    for name, value in {
        "mnist_train": train, "mnist_val": split(sizes[1], 1),
        "mnist_test": split(sizes[2], 2),
        **{f"params:{family}": value for family, value in blocks.items()},
        "params:seed": 0, "params:device": "cpu", "params:evaluator": EVALUATOR,
        "params:evaluation": evaluation, "evaluator_model": weights,
        **(extra or {}),
    }.items():
        catalog[name] = value
    references = compute_reference_stats(weights, train, EVALUATOR, EVALUATION, 0,
                                         "cpu")
    for name, value in zip(("reference_stats", "reference_stats_binarized"),
                           references, strict=True):
        catalog[name] = value
    return catalog
