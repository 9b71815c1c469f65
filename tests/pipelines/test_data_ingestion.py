import hashlib

import numpy as np
import pytest

from genpipe.data import cora, mnist
from genpipe.data.fetch import DataNotFoundError
from genpipe.data.idx import encode_idx, gzip_bytes
from genpipe.pipelines.data_ingestion.nodes import (
    ingest_breast_cancer,
    ingest_cora,
    ingest_mnist,
)


def _fake_mnist(root, n_train: int = 60, n_test: int = 20) -> dict[str, str]:
    """Writes a tiny MNIST mirror under root/mnist; returns the pinned sha256s."""
    rng = np.random.default_rng(0)
    arrays = {
        mnist.TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        mnist.TRAIN_LABELS: (np.arange(n_train) % 10).astype(np.uint8),
        mnist.TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        mnist.TEST_LABELS: (np.arange(n_test) % 10).astype(np.uint8),
    }
    (root / "mnist").mkdir(parents=True)
    digests = {}
    for name, array in arrays.items():
        payload = encode_idx(array)
        (root / "mnist" / name).write_bytes(gzip_bytes(payload))
        digests[name] = hashlib.sha256(payload).hexdigest()
    return digests


def _params(tmp_path, mirror, mnist_sha256, cora_sha256=None, **mnist_extra) -> dict:
    return {
        "mirrors": [str(mirror)],
        "mnist": {"cache_dir": str(tmp_path / "cache" / "mnist"), "urls": [],
                  "sha256": mnist_sha256, "val_size": 10, **mnist_extra},
        "cora": {"cache_dir": str(tmp_path / "cache" / "cora"), "urls": [],
                 "sha256": cora_sha256 or {"ind.cora.x": "0" * 64}},
        "breast_cancer": {"test_size": 0.3, "random_state": 42},
    }


@pytest.fixture(autouse=True)
def _no_env_mirror(monkeypatch):
    monkeypatch.delenv("GENPIPE_DATA_MIRROR", raising=False)


def test_ingest_mnist_splits_the_fake_mirror(tmp_path):
    digests = _fake_mnist(tmp_path / "mirror")
    train, val, test, sizes = ingest_mnist(_params(tmp_path, tmp_path / "mirror",
                                                   digests), seed=1)
    assert train["images"].shape == (50, 28, 28) and len(val["labels"]) == 10
    assert test["images"].shape == (20, 28, 28)
    assert sizes == {"data/mnist_train_size": 50.0, "data/mnist_val_size": 10.0,
                     "data/mnist_test_size": 20.0}
    again = ingest_mnist(_params(tmp_path, tmp_path / "mirror", digests), seed=1)
    assert np.array_equal(again[1]["images"], val["images"])
    assert not (tmp_path / "cache").exists()  # mirrors are read in place


def test_ingest_mnist_caps_each_split(tmp_path):
    digests = _fake_mnist(tmp_path / "mirror")
    params = _params(tmp_path, tmp_path / "mirror", digests, max_examples_per_split=15)
    train, val, test, _ = ingest_mnist(params, seed=1)
    sizes = [len(split["labels"]) for split in (train, val, test)]
    assert sizes == [15, 10, 15]


def test_ingest_mnist_env_var_mirror_wins(tmp_path, monkeypatch):
    digests = _fake_mnist(tmp_path / "elsewhere")
    monkeypatch.setenv("GENPIPE_DATA_MIRROR", f"/nonexistent:{tmp_path / 'elsewhere'}")
    train, *_ = ingest_mnist(_params(tmp_path, tmp_path / "void", digests), seed=1)
    assert len(train["labels"]) == 50


def test_ingest_mnist_offline_without_data_names_what_was_tried(tmp_path):
    digests = _fake_mnist(tmp_path / "mirror")
    with pytest.raises(DataNotFoundError, match="GENPIPE_DATA_MIRROR") as err:
        ingest_mnist(_params(tmp_path, tmp_path / "void", digests), seed=1)
    assert str(tmp_path / "void" / "mnist") in str(err.value)


def test_ingest_mnist_needs_every_checksum(tmp_path):
    digests = _fake_mnist(tmp_path / "mirror")
    del digests[mnist.TEST_LABELS]
    with pytest.raises(ValueError, match="pins no checksum"):
        ingest_mnist(_params(tmp_path, tmp_path / "mirror", digests), seed=1)


def test_ingest_cora_from_the_mirror(tmp_path, mirror_root):
    names = cora.raw_file_names()
    sha256 = {n: hashlib.sha256((mirror_root / "cora" / n).read_bytes()).hexdigest()
              for n in names}
    params = _params(tmp_path, mirror_root, {"x": "0" * 64}, cora_sha256=sha256)
    graph, stats = ingest_cora(params)
    assert stats["data/cora_nodes"] == 2708 and stats["data/cora_train_nodes"] == 140
    assert graph.x.shape == (2708, 1433)


def test_ingest_breast_cancer_is_the_course_split(tmp_path):
    params = _params(tmp_path, tmp_path, {"x": "0" * 64})
    train, test, sizes = ingest_breast_cancer(params)
    assert (len(train), len(test)) == (398, 171)
    assert sizes["data/breast_cancer_test_size"] == 171.0
    assert "mean radius" in train.columns and "target" in test.columns
