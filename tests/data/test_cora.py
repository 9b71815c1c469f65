from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genpipe.data.cora import (
    load_planetoid,
    model_input,
    raw_file_names,
    row_normalized,
)


def _cora_payloads(mirror_root: Path) -> dict[str, bytes]:
    folder = mirror_root / "cora"
    if not folder.is_dir():
        pytest.fail(f"Cora mirror folder {folder} is missing; set GENPIPE_DATA_MIRROR")
    return {name: (folder / name).read_bytes() for name in raw_file_names()}


@pytest.fixture(scope="module")
def cora(mirror_root: Path):
    return load_planetoid(_cora_payloads(mirror_root))


def test_raw_file_names_are_the_eight_planetoid_files() -> None:
    names = raw_file_names()
    assert len(names) == len(set(names)) == 8
    assert all(name.startswith("ind.cora.") for name in names)
    assert raw_file_names("Cora") == names


def test_cora_graph_sizes(cora) -> None:
    assert cora.num_nodes == 2708
    assert cora.x.shape == (2708, 1433)
    assert cora.edge_index.shape == (2, 10556)
    assert int(cora.y.max()) + 1 == 7
    assert set(cora.y.unique().tolist()) == set(range(7))


def test_cora_public_split_masks(cora) -> None:
    masks = (cora.train_mask, cora.val_mask, cora.test_mask)
    assert [int(mask.sum()) for mask in masks] == [140, 500, 1000]
    assert all(mask.dtype == torch.bool and mask.shape == (2708,) for mask in masks)
    overlap = (cora.train_mask.int() + cora.val_mask.int() + cora.test_mask.int())
    assert int(overlap.max()) == 1


def test_row_normalized_features_sum_to_one_and_leave_the_input(cora) -> None:
    graph = cora
    normalized = row_normalized(graph)
    sums = normalized.x.sum(dim=1)
    nonempty = graph.x.sum(dim=1) > 0
    assert torch.allclose(sums[nonempty], torch.ones(int(nonempty.sum())))
    assert graph.x.max() == 1.0  # the input graph is untouched


@pytest.mark.parametrize("normalize", [True, False])
def test_model_input_stores_the_features_sparse(cora, normalize) -> None:
    graph = model_input(cora, normalize)
    assert graph.x.is_sparse and graph.x.is_coalesced()
    expected = row_normalized(cora).x if normalize else cora.x
    assert torch.equal(graph.x.to_dense(), expected)
    assert graph.x._nnz() == int((cora.x != 0).sum())
    assert not cora.x.is_sparse  # the input graph is untouched
