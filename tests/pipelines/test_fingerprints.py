"""Every training node's checkpoint fingerprint covers its whole parameter
block, the seed and the content of its training data: a checkpoint made under
any other value (so in another `<checkpoint_dir>/<fingerprint>` folder) is
never resumed.

`fit` is replaced by a probe that records the fingerprint and stops the node,
so no training runs; what `fit` does with the fingerprint is tested in
tests/training/test_engine.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import yaml

from tests.conftest import ROOT


class Probed(Exception):
    """Raised by the probe once the fingerprint is recorded."""


@pytest.fixture
def probe(monkeypatch) -> Callable[[Any], list[str]]:
    """Patches `fit` in a node module; returns the recorded fingerprints."""
    def install(module: Any) -> list[str]:
        seen: list[str] = []

        def fake_fit(*args, run_fingerprint: str, **kwargs):
            seen.append(run_fingerprint)
            raise Probed

        monkeypatch.setattr(module, "fit", fake_fit)
        return seen
    return install


def _leaf_changes(block: Any, path: tuple = ()) -> Iterator[tuple[str, Any]]:
    """(dotted path, block with that one leaf changed) for every leaf."""
    if isinstance(block, dict):
        for key, value in block.items():
            yield from _leaf_changes(value, (*path, key))
        return
    if isinstance(block, bool):
        new = not block
    elif isinstance(block, int):
        new = block + 1
    elif isinstance(block, float):
        new = block * 0.5 if block else 0.1
    elif isinstance(block, list) and block and isinstance(block[0], int):
        new = [block[0] + 1, *block[1:]]
    elif isinstance(block, str) and "dir" in ".".join(map(str, path)):
        new = block + "_other"
    else:
        return
    yield ".".join(map(str, path)), new


def _with(block: dict, dotted: str, value: Any) -> dict:
    changed = copy.deepcopy(block)
    *parents, leaf = dotted.split(".")
    target = changed
    for key in parents:
        target = target[key]
    target[leaf] = value
    return changed


def _fingerprint(seen: list[str], node: Callable[..., Any], *args: Any) -> str | None:
    try:
        node(*args)
    except Probed:
        return seen[-1]
    except (ValueError, TypeError):  # a change the config refuses: not a run
        return None
    raise AssertionError("the node finished without calling fit")


def _assert_every_change_is_seen(seen: list[str], block: dict,
                                 run: Callable[[dict, int, Any], Any],
                                 data: Any, changed_data: list[Any]) -> None:
    base = _fingerprint(seen, run, block, 0, data)
    assert base is not None
    assert _fingerprint(seen, run, block, 0, data) == base  # stable
    tried = []
    for where, value in _leaf_changes(block):
        other = _fingerprint(seen, run, _with(block, where, value), 0, data)
        if other is not None:
            assert other != base, f"changing {where} keeps the fingerprint"
            tried.append(where)
    assert len(tried) >= 5, tried
    assert _fingerprint(seen, run, block, 1, data) != base, "seed"
    for index, other_data in enumerate(changed_data):
        assert _fingerprint(seen, run, block, 0, other_data) != base, \
            f"changed data #{index}"


def _split(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"images": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            "labels": (np.arange(n) % 10).astype(np.uint8)}


def _one_pixel_changed(split: dict) -> dict:
    images = split["images"].copy()
    images[3, 10, 10] ^= 1
    return {**split, "images": images}


def test_evaluator_fingerprint(probe, tmp_path) -> None:
    from genpipe.pipelines.evaluator import nodes

    seen = probe(nodes)
    block = {"model": {"channels": [4, 8], "feature_dim": 16, "dropout": 0.1,
                       "lr": 0.01, "max_shift": 1},
             "batch_size": 20,
             "trainer": {"max_epochs": 3, "checkpoint_dir": str(tmp_path)}}
    train, val = _split(40, 0), _split(20, 1)

    def run(params, seed, data):
        return nodes.train_evaluator(data[0], data[1], params, seed, "cpu")

    _assert_every_change_is_seen(
        seen, block, run, (train, val),
        [(_one_pixel_changed(train), val), (train, _one_pixel_changed(val)),
         ({k: v[:-1] for k, v in train.items()}, val)])


def test_generative_fingerprint(probe, tmp_path) -> None:
    from genpipe.pipelines.generative import nodes

    seen = probe(nodes)
    conf = yaml.safe_load((ROOT / "conf/base/parameters_vae.yml").read_text())
    block = copy.deepcopy(conf["vae"])
    block["trainer"]["checkpoint_dir"] = str(tmp_path)
    train, val = _split(40, 0), _split(20, 1)

    def run(params, seed, data):
        return nodes.train_family(data[0], data[1], params, seed, "cpu",
                                  family="vae")

    _assert_every_change_is_seen(
        seen, block, run, (train, val),
        [(_one_pixel_changed(train), val), (train, _one_pixel_changed(val))])


def test_gnn_fingerprint_covers_normalisation_and_the_graph(probe, tmp_path) -> None:
    from genpipe.models import gnn
    from genpipe.pipelines.gnn import nodes
    from tests.helpers.graphs import two_communities

    seen = probe(gnn)  # `train_gnn` trains through `genpipe.models.gnn.train_seed`
    block = {"seeds": 1, "normalize_features": False,
             "trainer": {"max_epochs": 4, "checkpoint_dir": str(tmp_path)},
             "tsne_perplexity": 5, "subgraph_nodes": 12}
    model = {"arch": "gcn", "hidden": 8, "dropout": 0.5, "lr": 0.05}
    graph = two_communities()

    def run(params, seed, data):
        return nodes.train_gnn(data, model, params, seed, "cpu")

    other = graph.clone()
    other.x = other.x.clone()
    other.x[0, 0] += 1.0
    moved = graph.clone()
    moved.train_mask = moved.train_mask.roll(1)
    _assert_every_change_is_seen(seen, block, run, graph, [other, moved])
    base = _fingerprint(seen, run, block, 0, graph)
    changed_model = {**model, "hidden": 16}
    assert _fingerprint(seen, nodes.train_gnn, graph, changed_model, block,
                        0, "cpu") != base


def test_tabular_mlp_fingerprint_covers_features_and_split(probe, tmp_path) -> None:
    from genpipe.data.breast_cancer import load_frame, stratified_split
    from genpipe.pipelines.xai import nodes

    seen = probe(nodes)
    conf = yaml.safe_load((ROOT / "conf/base/parameters_xai.yml").read_text())
    block = {**conf["xai"], "trainer": {**conf["xai"]["trainer"],
                                        "checkpoint_dir": str(tmp_path)}}
    train, test = stratified_split(load_frame(), 0.3, 42)

    def run(params, seed, data):
        return nodes.explain_with_integrated_gradients(data[0], data[1], params,
                                                       seed, "cpu")

    other_split = stratified_split(load_frame(), 0.3, 7)
    edited = train.copy()
    edited.loc[edited.index[0], "mean radius"] += 1.0
    _assert_every_change_is_seen(seen, block, run, (train, test),
                                 [other_split, (edited, test)])
    names = nodes.feature_names(train, None)
    five, four = {**block, "features": names[:5]}, {**block, "features": names[:4]}
    assert _fingerprint(seen, run, five, 0, (train, test)) != \
        _fingerprint(seen, run, four, 0, (train, test))
