"""MNIST from its four canonical IDX files, split into train/validation/test."""

from __future__ import annotations

import numpy as np

from genpipe.data.idx import IdxFormatError, parse_idx

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

Split = dict[str, np.ndarray]  # {"images": N x 28 x 28 uint8, "labels": N uint8}


def _pair(images: bytes, labels: bytes, names: tuple[str, str]) -> Split:
    x, y = parse_idx(images, names[0]), parse_idx(labels, names[1])
    if x.ndim != 3 or x.shape[1:] != (28, 28) or x.dtype != np.uint8:
        raise IdxFormatError(f"{names[0]}: expected N x 28 x 28 uint8, got "
                             f"{x.shape} {x.dtype}")
    if y.ndim != 1 or y.dtype != np.uint8 or len(y) != len(x):
        raise IdxFormatError(f"{names[1]}: expected {len(x)} uint8 labels, got "
                             f"{y.shape} {y.dtype}")
    if y.size and y.max() > 9:
        raise IdxFormatError(f"{names[1]}: label {int(y.max())} is not a digit")
    return {"images": x, "labels": y}


def parse_mnist(payloads: dict[str, bytes]) -> tuple[Split, Split]:
    """Parses the four decompressed IDX payloads into (train, test) splits."""
    train = _pair(payloads[TRAIN_IMAGES], payloads[TRAIN_LABELS],
                  (TRAIN_IMAGES, TRAIN_LABELS))
    test = _pair(payloads[TEST_IMAGES], payloads[TEST_LABELS],
                 (TEST_IMAGES, TEST_LABELS))
    return train, test


def split_validation(train: Split, val_size: int, seed: int) -> tuple[Split, Split]:
    """Holds out `val_size` training examples, chosen by a seeded permutation.

    The permutation depends only on (seed, len(train)), so the split is the same
    on every machine; both parts keep the original order of their examples.
    """
    n = len(train["labels"])
    if not 0 < val_size < n:
        raise ValueError(f"val_size must be in (0, {n}), got {val_size}")
    order = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = np.sort(order[:val_size]), np.sort(order[val_size:])
    pick = lambda idx: {k: v[idx] for k, v in train.items()}  # noqa: E731
    return pick(train_idx), pick(val_idx)
