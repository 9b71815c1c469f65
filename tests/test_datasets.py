from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from kedro.io import DatasetError
from torch_geometric.data import Data

from genpipe.datasets import FigureDataset, GraphDataset, NpzDataset, TorchDataset
from genpipe.io import atomic_write, atomic_write_bytes


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "images": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "labels": np.arange(4, dtype=np.int64),
        "weights": rng.standard_normal((3, 5)).astype(np.float32),
        "scores": rng.standard_normal(7),
        "flags": np.array([True, False, True]),
        "scalar": np.array(3.5, dtype=np.float16),
    }


def _assert_same_arrays(loaded: dict[str, np.ndarray],
                        expected: dict[str, np.ndarray]) -> None:
    assert sorted(loaded) == sorted(expected)
    for key, array in expected.items():
        assert loaded[key].dtype == array.dtype, key
        assert loaded[key].shape == array.shape, key
        np.testing.assert_array_equal(loaded[key], array)


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_npz_round_trip(tmp_path: Path) -> None:
    dataset = NpzDataset(str(tmp_path / "arrays.npz"))
    dataset.save(_arrays())
    _assert_same_arrays(dataset.load(), _arrays())
    assert dataset.exists()


def test_npz_is_readable_by_np_load(tmp_path: Path) -> None:
    path = tmp_path / "arrays.npz"
    NpzDataset(str(path)).save(_arrays())
    with np.load(path, allow_pickle=False) as npz:
        _assert_same_arrays({key: npz[key] for key in npz.files}, _arrays())


def test_npz_bytes_identical_when_saved_twice(tmp_path: Path) -> None:
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    NpzDataset(str(first)).save(_arrays())
    time.sleep(1.1)
    NpzDataset(str(second)).save(_arrays())
    assert first.read_bytes() == second.read_bytes()


def test_npz_bytes_independent_of_key_order(tmp_path: Path) -> None:
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    arrays = _arrays()
    NpzDataset(str(first)).save(arrays)
    NpzDataset(str(second)).save(dict(reversed(list(arrays.items()))))
    assert first.read_bytes() == second.read_bytes()


def test_npz_overwrite_replaces_content(tmp_path: Path) -> None:
    dataset = NpzDataset(str(tmp_path / "arrays.npz"))
    dataset.save(_arrays())
    dataset.save({"only": np.zeros(2)})
    _assert_same_arrays(dataset.load(), {"only": np.zeros(2)})
    assert _leftovers(tmp_path) == []


def test_npz_rejects_object_arrays(tmp_path: Path) -> None:
    path = tmp_path / "objects.npz"
    with pytest.raises(DatasetError, match="allow_pickle"):
        NpzDataset(str(path)).save({"bad": np.array([{"a": 1}], dtype=object)})
    assert not path.exists()
    assert _leftovers(tmp_path) == []


def test_torch_round_trip_state_dict(tmp_path: Path) -> None:
    torch.manual_seed(0)
    state = torch.nn.Linear(4, 3).state_dict()
    dataset = TorchDataset(str(tmp_path / "weights.pt"))
    dataset.save(state)
    loaded = dataset.load()
    assert list(loaded) == list(state)
    for key, tensor in state.items():
        assert torch.equal(loaded[key], tensor)


def test_torch_round_trip_pyg_data(tmp_path: Path) -> None:
    graph = Data(
        x=torch.randn(5, 3),
        edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]),
        y=torch.tensor([0, 1, 0, 1, 1]),
        train_mask=torch.tensor([True, False, True, False, False]),
    )
    dataset = GraphDataset(str(tmp_path / "graph.pt"))
    dataset.save(graph)
    loaded = dataset.load()
    assert isinstance(loaded, Data)
    assert loaded.num_nodes == 5
    for key in ("x", "edge_index", "y", "train_mask"):
        assert torch.equal(loaded[key], graph[key]), key


def _figure():
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    figure.subplots().plot([0, 1, 2], [2, 0, 1])
    return figure


@pytest.mark.parametrize("save_args",
                         [{"dpi": 120}, {"dpi": 80, "bbox_inches": "tight"}])
def test_figure_bytes_match_kedro_datasets_matplotlib(tmp_path: Path,
                                                      save_args) -> None:
    from kedro_datasets.matplotlib import MatplotlibDataset

    figure = _figure()
    ours, theirs = tmp_path / "ours.png", tmp_path / "theirs.png"
    FigureDataset(str(ours), save_args=save_args).save(figure)
    MatplotlibDataset(filepath=str(theirs), save_args=save_args).save(figure)
    assert ours.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ours.read_bytes() == theirs.read_bytes()


def test_figure_dataset_is_write_only_and_rejects_non_figures(tmp_path: Path) -> None:
    dataset = FigureDataset(str(tmp_path / "plot.png"))
    with pytest.raises(DatasetError, match="plot.png.*expected a matplotlib Figure"):
        dataset.save(np.zeros((2, 2)))
    assert not (tmp_path / "plot.png").exists()
    with pytest.raises(DatasetError, match="write-only"):
        dataset.load()


def test_figure_failing_to_render_leaves_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "plot.png"
    target.write_bytes(b"previous")
    with pytest.raises(DatasetError, match="no-such-format"):
        FigureDataset(str(target),
                      save_args={"format": "no-such-format"}).save(_figure())
    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["plot.png"]


def test_figure_managed_by_pyplot_is_closed_once_saved(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    figure = plt.figure()
    FigureDataset(str(tmp_path / "plot.png")).save(figure)
    assert not plt.fignum_exists(figure.number)


def test_atomic_write_failure_keeps_previous_content(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    atomic_write_bytes(path, b"previous content")
    with pytest.raises(RuntimeError, match="boom"), atomic_write(path) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("boom")
    assert path.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


def test_atomic_write_failure_without_previous_file_leaves_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new.bin"
    with pytest.raises(RuntimeError), atomic_write(path) as handle:
        handle.write(b"partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "file.bin"
    atomic_write_bytes(path, b"data")
    assert path.read_bytes() == b"data"


@pytest.mark.usefixtures("umask_022")
def test_written_files_have_mode_644(tmp_path: Path) -> None:
    raw, npz, pt = tmp_path / "raw.bin", tmp_path / "a.npz", tmp_path / "w.pt"
    atomic_write_bytes(raw, b"data")
    NpzDataset(str(npz)).save(_arrays())
    TorchDataset(str(pt)).save({"w": torch.zeros(2)})
    for path in (raw, npz, pt):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_metrics_dataset_logs_plain_keys_and_keeps_a_json_file(tmp_path):
    import mlflow

    from genpipe.datasets import MlflowMetricsDataset

    path = tmp_path / "reporting" / "vae_sampling_metrics.json"
    dataset = MlflowMetricsDataset(filepath=str(path))
    metrics = {"sampling_images_per_s": 12.5,
               "snapshot_class_entropy": [{"value": 1.0, "step": 1},
                                          {"value": 2.0, "step": 2}]}
    with mlflow.start_run() as run:
        dataset.save(metrics)
    assert dataset.exists() and dataset.load() == metrics
    assert path.read_text().endswith("}\n")  # sorted, indented JSON
    client = mlflow.MlflowClient()
    assert client.get_run(run.info.run_id).data.metrics["sampling_images_per_s"] \
        == 12.5
    history = client.get_metric_history(run.info.run_id, "snapshot_class_entropy")
    assert [(m.step, m.value) for m in history] == [(1, 1.0), (2, 2.0)]
    assert not list(path.parent.glob(".*.tmp"))  # written atomically
