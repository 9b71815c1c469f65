"""scikit-learn's digits as a second domain: checked, resized, split."""

import numpy as np
import pytest

from genpipe.config import DigitsConfig
from genpipe.data import digits
from genpipe.pipelines.data_ingestion.nodes import ingest_digits

PINNED = DigitsConfig().sha256


def _params(**digits_block) -> dict:
    return {"mnist": {"cache_dir": "x", "sha256": {"a": "0" * 64}},
            "cora": {"cache_dir": "y", "sha256": {"b": "0" * 64}},
            "breast_cancer": {}, "digits": digits_block}


def test_the_package_table_matches_the_pinned_checksum():
    images, labels = digits.check_table(*digits.load_table(), PINNED)
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert images.max() == 16 and np.bincount(labels).min() >= 170


@pytest.mark.parametrize("spoil, message", [
    (lambda x, y: (x[:, :7], y), "8 x 8"),
    (lambda x, y: (x + 0.5, y), "integer grey levels"),
    (lambda x, y: (np.where(x == 16, 17, x), y), "integer grey levels"),
    (lambda x, y: (x, np.where(y == 9, 0, y)), "cover 0..9"),
    (lambda x, y: (x, y[:-1]), "labels"),
    (lambda x, y: (x[::-1].copy(), y[::-1].copy()), "sha256"),
])
def test_a_changed_table_is_refused(spoil, message):
    with pytest.raises(digits.DigitsTableError, match=message):
        digits.check_table(*spoil(*digits.load_table()), PINNED)


def test_bilinear_matrix_by_hand():
    # 2 -> 4 with centres aligned: samples at -0.25, 0.25, 0.75, 1.25 (clamped)
    assert np.allclose(digits.bilinear_matrix(2, 4),
                       [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])
    assert np.allclose(digits.bilinear_matrix(8, 20).sum(1), 1)


def test_resize_centres_a_20x20_box_and_keeps_the_range():
    full = np.full((1, 8, 8), 16)
    out = digits.to_28x28(full)
    assert out.shape == (1, 28, 28) and out.dtype == np.uint8
    assert (out[0, 4:24, 4:24] == 255).all() and out.sum() == 255 * 400
    one = np.zeros((1, 8, 8))
    one[0, 0, 0] = 8  # half intensity in the corner: stays in the box's corner
    out = digits.to_28x28(one)[0]
    assert out[4, 4] == 128 and out[:4].sum() == 0 and out[:, :4].sum() == 0


def test_ingestion_is_deterministic_checked_and_stratified():
    train, test, sizes = ingest_digits(_params(), seed=3)
    assert sizes == {"data/digits_train_size": 1257.0, "data/digits_test_size": 540.0}
    assert train["images"].shape == (1257, 28, 28) and train["images"].dtype == np.uint8
    assert np.bincount(test["labels"], minlength=10).min() >= 52  # stratified
    again = ingest_digits(_params(), seed=3)
    for first, second in zip((train, test), again[:2], strict=True):
        assert all(np.array_equal(first[k], second[k]) for k in ("images", "labels"))
    other = ingest_digits(_params(), seed=4)[1]
    assert not np.array_equal(other["labels"], test["labels"])
    # the split partitions the table: no image in both
    assert len(train["labels"]) + len(test["labels"]) == 1797


def test_a_wrong_pin_stops_ingestion():
    with pytest.raises(digits.DigitsTableError, match="data_ingestion.digits.sha256"):
        ingest_digits(_params(sha256="1" * 64), seed=0)
