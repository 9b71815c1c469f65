"""Tiny image splits and evaluator weights for node and pipeline tests."""

from __future__ import annotations

import numpy as np

# The smallest evaluator (`evaluator` block) and scoring protocol that run.
EVALUATOR = {"model": {"channels": [4, 8], "feature_dim": 16},
             "trainer": {"max_epochs": 1, "checkpoint_dir": "unused"}}
EVALUATION = {"protocol": {"num_samples": 60, "kid_subsets": 5,
                           "kid_subset_size": 30, "is_split_size": 20,
                           "fid_bootstrap": 3},
              "batch_size": 32, "reference_size": 80, "pr_k": 3, "grid_rows": 4}


def bar_split(n: int, seed: int, thick: int = 3) -> dict[str, np.ndarray]:
    """`n` 28 x 28 uint8 images, each a horizontal and a vertical bar at
    seeded places (thickness `thick`: two "domains" differ by it); labels
    0..9 repeating (the bar's row band, so they are learnable)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    for image, label, col in zip(images, labels, rng.integers(4, 21, n),
                                 strict=True):
        row = 3 + 2 * int(label)
        image[row:row + thick, 4:24] = 255
        image[4:24, col:col + thick] = 255
    return {"images": images, "labels": labels}


def evaluator_weights() -> dict:
    """Seeded, untrained weights of the `EVALUATOR` network."""
    import torch

    from genpipe.config import MnistClassifierConfig
    from genpipe.models.mnist_classifier import MnistClassifier

    torch.manual_seed(0)
    return MnistClassifier(MnistClassifierConfig(channels=(4, 8), feature_dim=16)
                           ).state_dict()
