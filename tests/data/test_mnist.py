from __future__ import annotations

import numpy as np
import pytest

from genpipe.data import mnist
from genpipe.data.idx import IdxFormatError, encode_idx
from genpipe.data.mnist import parse_mnist, split_validation


def _fake_images(n: int, shape: tuple[int, int] = (28, 28)) -> np.ndarray:
    images = np.random.default_rng(n).integers(0, 256, (n, *shape), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n, dtype=np.uint8)
    return images


def _fake_labels(n: int) -> np.ndarray:
    return (np.arange(n) % 10).astype(np.uint8)


def _payloads(
    n_train: int = 50,
    n_test: int = 20,
    train_images: np.ndarray | None = None,
    train_labels: np.ndarray | None = None,
) -> dict[str, bytes]:
    images = _fake_images(n_train) if train_images is None else train_images
    labels = _fake_labels(n_train) if train_labels is None else train_labels
    return {
        mnist.TRAIN_IMAGES: encode_idx(images),
        mnist.TRAIN_LABELS: encode_idx(labels),
        mnist.TEST_IMAGES: encode_idx(_fake_images(n_test)),
        mnist.TEST_LABELS: encode_idx(_fake_labels(n_test)),
    }


def test_parse_mnist_shapes_and_dtypes() -> None:
    train, test = parse_mnist(_payloads())
    assert train["images"].shape == (50, 28, 28)
    assert train["labels"].shape == (50,)
    assert test["images"].shape == (20, 28, 28)
    assert test["labels"].shape == (20,)
    for split in (train, test):
        assert split["images"].dtype == np.uint8
        assert split["labels"].dtype == np.uint8
    np.testing.assert_array_equal(train["images"], _fake_images(50))
    np.testing.assert_array_equal(test["labels"], _fake_labels(20))


def test_wrong_image_shape_is_rejected() -> None:
    payloads = _payloads(train_images=_fake_images(50, shape=(27, 28)))
    with pytest.raises(IdxFormatError, match=mnist.TRAIN_IMAGES):
        parse_mnist(payloads)


def test_non_uint8_images_are_rejected() -> None:
    payloads = _payloads(train_images=_fake_images(50).astype(np.float32))
    with pytest.raises(IdxFormatError):
        parse_mnist(payloads)


def test_label_ten_is_rejected() -> None:
    labels = _fake_labels(50)
    labels[7] = 10
    with pytest.raises(IdxFormatError, match="10"):
        parse_mnist(_payloads(train_labels=labels))


def test_label_count_mismatch_is_rejected() -> None:
    with pytest.raises(IdxFormatError, match=mnist.TRAIN_LABELS):
        parse_mnist(_payloads(train_labels=_fake_labels(49)))


def test_test_split_is_validated_too() -> None:
    payloads = _payloads()
    payloads[mnist.TEST_LABELS] = encode_idx(_fake_labels(19))
    with pytest.raises(IdxFormatError, match=mnist.TEST_LABELS):
        parse_mnist(payloads)


def _train_split(n: int = 50) -> dict[str, np.ndarray]:
    return {"images": _fake_images(n), "labels": _fake_labels(n)}


def _ids(split: dict[str, np.ndarray]) -> np.ndarray:
    return split["images"][:, 0, 0].astype(int)


def test_split_validation_sizes() -> None:
    train, val = split_validation(_train_split(), val_size=12, seed=0)
    assert len(train["images"]) == len(train["labels"]) == 38
    assert len(val["images"]) == len(val["labels"]) == 12


def test_split_validation_is_disjoint_and_covers_all_examples() -> None:
    train, val = split_validation(_train_split(), val_size=12, seed=0)
    train_ids, val_ids = _ids(train), _ids(val)
    assert set(train_ids).isdisjoint(val_ids)
    assert sorted([*train_ids, *val_ids]) == list(range(50))


def test_split_validation_keeps_images_and_labels_aligned_and_ordered() -> None:
    train, val = split_validation(_train_split(), val_size=12, seed=3)
    for split in (train, val):
        ids = _ids(split)
        np.testing.assert_array_equal(split["labels"], ids % 10)
        assert (np.diff(ids) > 0).all()


def test_split_validation_same_seed_same_split() -> None:
    first = split_validation(_train_split(), val_size=12, seed=7)
    second = split_validation(_train_split(), val_size=12, seed=7)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(_ids(a), _ids(b))


def test_split_validation_different_seed_different_split() -> None:
    _, val_a = split_validation(_train_split(), val_size=12, seed=7)
    _, val_b = split_validation(_train_split(), val_size=12, seed=8)
    assert set(_ids(val_a)) != set(_ids(val_b))


@pytest.mark.parametrize("val_size", [0, 50, -1, 51])
def test_split_validation_rejects_invalid_size(val_size: int) -> None:
    with pytest.raises(ValueError, match="val_size"):
        split_validation(_train_split(), val_size=val_size, seed=0)
