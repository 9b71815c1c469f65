"""Every file dataset type the catalog writes is written atomically: a writer
killed mid-save leaves the previous file intact, and the next save of that
output removes the killed writer's temporary."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers.outputs import KINDS, dataset

SUFFIX = {"npz": ".npz", "torch": ".pt", "graph": ".pt", "figure": ".png",
          "sb3": ".zip", "csv": ".csv", "parquet": ".parquet", "json": ".json",
          "text": ".md",
          "mlflow_xgboost": ""}


def _digest(path: Path) -> str:
    """sha256 over a file, or over a folder's relative paths and contents."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() \
        else [path]
    for file in files:
        digest.update(str(file.relative_to(path.parent)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("kind", KINDS)
def test_a_killed_writer_leaves_the_old_output_and_no_temporary(tmp_path, kind):
    path = tmp_path / f"out{SUFFIX[kind]}"
    target, data = dataset(kind, str(path))
    target.save(data(1))
    before = _digest(path)

    killed = subprocess.run([sys.executable, "-m", "tests.helpers.outputs", kind,
                             str(path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert _digest(path) == before  # the old output, intact
    assert _temporaries(tmp_path), "the kill came before any temporary existed"

    dataset(kind, str(path))[0].save(data(3))  # the next run writes it again
    assert _temporaries(tmp_path) == []
    assert _digest(path) != before


def test_a_live_writers_temporary_is_kept(tmp_path):
    from genpipe.io import atomic_write, remove_stale_temporaries

    target = tmp_path / "out.bin"
    with atomic_write(target) as handle:
        handle.write(b"in progress")
        assert remove_stale_temporaries(target) == []  # ours: alive
        assert len(_temporaries(tmp_path)) == 1
    assert target.read_bytes() == b"in progress"
    assert _temporaries(tmp_path) == []


def test_a_full_disk_names_the_file(tmp_path, monkeypatch):
    import errno
    import os

    from genpipe.io import atomic_write_bytes

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "reports" / "scores.json"
    with pytest.raises(OSError, match=r"No space left on device \(writing .*"
                                      r"reports/scores\.json\)") as error:
        atomic_write_bytes(target, b"{}")
    assert error.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert _temporaries(target.parent) == []


@pytest.mark.parametrize("kind", ["csv", "parquet", "json", "text"])
def test_atomic_kedro_datasets_write_the_same_bytes_as_kedro_datasets(tmp_path, kind):
    """DVC hashes files: the atomic types must not change a byte."""
    from kedro_datasets.json import JSONDataset
    from kedro_datasets.pandas import CSVDataset, ParquetDataset
    from kedro_datasets.text import TextDataset

    theirs_type = {"csv": CSVDataset, "parquet": ParquetDataset,
                   "json": JSONDataset, "text": TextDataset}[kind]
    ours, data = dataset(kind, str(tmp_path / f"ours{SUFFIX[kind]}"))
    save_args = {"csv": {"index": False}, "json": {"indent": 2}}.get(kind, {})
    theirs = theirs_type(filepath=str(tmp_path / f"theirs{SUFFIX[kind]}"),
                         **({"save_args": save_args} if save_args else {}))
    ours.save(data(1))
    theirs.save(data(1))
    assert (tmp_path / f"ours{SUFFIX[kind]}").read_bytes() == \
        (tmp_path / f"theirs{SUFFIX[kind]}").read_bytes()


def test_every_catalog_file_dataset_is_an_atomic_type():
    """kedro-datasets' own file types write in place: the catalog uses
    genpipe's (or kedro-mlflow's wrappers and tracking datasets around them)."""
    import yaml

    def types(entry):
        if isinstance(entry, dict):
            if "type" in entry:
                yield entry["type"]
            for value in entry.values():
                yield from types(value)

    found = {kind for path in (ROOT / "conf" / "base").glob("catalog*.yml")
             for kind in types(yaml.safe_load(path.read_text()))}
    assert found, "no catalog entries read"
    assert {kind for kind in found
            if not kind.startswith(("genpipe.datasets.", "kedro_mlflow.io."))} == set()
    assert "kedro_mlflow.io.models.MlflowModelLocalFileSystemDataset" not in found
