"""scikit-learn's handwritten digits (UCI "optdigits"), made a second MNIST-like
domain: 1,797 labelled 8 x 8 images with 17 grey levels (0..16), resized to
28 x 28 uint8 and split into train and test.

The table is checked before use: its shape, value range, label set and a
sha256 of its content, pinned in `parameters.data_ingestion.digits.sha256`, so
a scikit-learn release that changed the data would stop the run instead of
silently changing every number downstream.

The resize (`to_28x28`) mimics how MNIST was made: MNIST's digits were
size-normalised into a 20 x 20 box and centred in a 28 x 28 frame. Each 8 x 8
image is scaled to [0, 255], upsampled to 20 x 20 by separable bilinear
interpolation with pixel-centre alignment (PIL/torch `align_corners=False`;
`bilinear_matrix`), rounded to uint8 and padded with 4 black pixels on every
side. It is a pure numpy function of the input: deterministic everywhere.
"""

from __future__ import annotations

import hashlib

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SOURCE_SIZE = 8
MAX_LEVEL = 16  # the table's 17 grey levels: 0..16 (counts of on-pixels in 4x4 blocks)
BOX = 20  # MNIST's size-normalised box
FRAME = 28
NUM_IMAGES = 1797
CLASSES = 10

Split = dict[str, np.ndarray]  # {"images": N x 28 x 28 uint8, "labels": N uint8}


class DigitsTableError(ValueError):
    """The package's digits table is not the one this project was built on."""


def load_table() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's table: (N x 8 x 8 uint8 in 0..16, N uint8 labels)."""
    bunch = load_digits()
    return bunch.images, bunch.target


def table_sha256(images: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of the table as uint8 bytes: the images, then the labels."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(images, np.uint8).tobytes())
    digest.update(np.ascontiguousarray(labels, np.uint8).tobytes())
    return digest.hexdigest()


def check_table(images: np.ndarray, labels: np.ndarray, sha256: str
                ) -> tuple[np.ndarray, np.ndarray]:
    """The table as uint8 arrays, after checking it.

    Raises:
        DigitsTableError: a wrong shape, a value that is not an integer grey
            level in 0..16, a label outside 0..9 or a missing class, or content
            whose sha256 differs from the pinned one.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (SOURCE_SIZE, SOURCE_SIZE):
        raise DigitsTableError(f"digits: expected N x 8 x 8 images, got "
                               f"{images.shape}")
    if labels.shape != (len(images),):
        raise DigitsTableError(f"digits: expected {len(images)} labels, got "
                               f"{labels.shape}")
    if not (np.isfinite(images).all() and (images == np.round(images)).all()
            and images.min() >= 0 and images.max() <= MAX_LEVEL):
        raise DigitsTableError("digits: pixels must be integer grey levels in "
                               f"0..{MAX_LEVEL}")
    if labels.min() < 0 or labels.max() >= CLASSES or \
            len(np.unique(labels)) != CLASSES:
        raise DigitsTableError(f"digits: labels must cover 0..{CLASSES - 1}, got "
                               f"{sorted(np.unique(labels).tolist())}")
    images, labels = images.astype(np.uint8), labels.astype(np.uint8)
    found = table_sha256(images, labels)
    if found != sha256:
        raise DigitsTableError(
            f"digits: the table's sha256 is {found}, not the pinned {sha256} "
            "(parameters.data_ingestion.digits.sha256): scikit-learn's data changed")
    return images, labels


def bilinear_matrix(source: int, target: int) -> np.ndarray:
    """target x source weights of 1-d linear interpolation, pixel centres
    aligned (output pixel i samples the input at (i + 0.5) * source / target
    − 0.5, clamped to the edge): rows sum to 1."""
    position = np.clip((np.arange(target) + 0.5) * source / target - 0.5,
                       0, source - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, source - 1)
    frac = position - low
    weights = np.zeros((target, source))
    weights[np.arange(target), low] += 1 - frac
    weights[np.arange(target), high] += frac
    return weights


def to_28x28(images: np.ndarray) -> np.ndarray:
    """N x 8 x 8 grey levels (0..16) -> N x 28 x 28 uint8 (see module doc)."""
    resize = bilinear_matrix(SOURCE_SIZE, BOX)
    scaled = images.astype(np.float64) * (255 / MAX_LEVEL)
    boxed = np.einsum("ij,njk,lk->nil", resize, scaled, resize)
    pad = (FRAME - BOX) // 2
    framed = np.zeros((len(images), FRAME, FRAME))
    framed[:, pad:pad + BOX, pad:pad + BOX] = boxed
    return np.clip(np.round(framed), 0, 255).astype(np.uint8)


def split(images: np.ndarray, labels: np.ndarray, test_size: float, seed: int
          ) -> tuple[Split, Split]:
    """A stratified train/test split drawn with `seed` (each split in table order)."""
    index = np.arange(len(labels))
    train, test = train_test_split(index, test_size=test_size, random_state=seed,
                                   stratify=labels)
    train, test = np.sort(train), np.sort(test)
    return ({"images": images[train], "labels": labels[train]},
            {"images": images[test], "labels": labels[test]})
