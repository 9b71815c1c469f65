"""Node timings (`genpipe.hooks.NodeTimingHooks`, `genpipe.timings`): a real
Kedro runner on a 3-node pipeline whose I/O and functions advance a fake clock,
so every number has a hand value."""

from __future__ import annotations

import json
import logging

import mlflow
import pytest
from kedro.framework.hooks import hook_impl
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import AbstractDataset, DataCatalog
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner

from genpipe.hooks import NodeTimingHooks
from genpipe.settings import HOOKS
from genpipe.timings import ARTIFACT, METRIC, NodeTiming, family_of, timing_table
from genpipe.tracking import FamilyRunOpener, FamilyRuns, run_tags

LOAD, SAVE = 0.5, 0.25  # fake seconds of every dataset load and save


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SlowDataset(AbstractDataset):
    """A dataset whose load and save take fake time."""

    def __init__(self, clock: FakeClock, data: object = None) -> None:
        self._clock, self._data = clock, data

    def load(self) -> object:
        self._clock.advance(LOAD)
        return self._data

    def save(self, data: object) -> None:
        self._clock.advance(SAVE)
        self._data = data

    def _describe(self) -> dict:
        return {}


def _work(clock: FakeClock, seconds: float, fail: bool = False):
    def function(x):
        clock.advance(seconds)
        if fail:
            raise RuntimeError("boom")
        return x
    return function


def _pipeline_and_catalog(clock: FakeClock, fail: bool = False
                          ) -> tuple[Pipeline, DataCatalog]:
    """ingest (no namespace, 1 s) -> ddpm.train (4 s) -> ddpm.ddim.sample (2 s);
    the ddpm nodes log into a family run (genpipe.tracking)."""
    ddpm = run_tags("ddpm", "diffusion")
    pipeline = Pipeline([
        Node(_work(clock, 1.0), "raw", "x", name="ingest_node"),
        Node(_work(clock, 4.0), "x", "model", name="train", namespace="ddpm",
             tags=ddpm),
        Node(_work(clock, 2.0, fail), "model", "samples", name="sample",
             namespace="ddpm.ddim", tags=ddpm)])
    return pipeline, DataCatalog({name: SlowDataset(clock, 1) for name in
                                  ("raw", "x", "model", "samples")})


def _run(clock: FakeClock, *hooks: object, fail: bool = False) -> None:
    """The pipeline as a KedroSession runs it: the pipeline hooks around the
    runner's node and dataset hooks."""
    manager = _create_hook_manager()
    for hook in hooks:
        manager.register(hook)
    pipeline, catalog = _pipeline_and_catalog(clock, fail)
    args = {"run_params": {}, "pipeline": pipeline, "catalog": catalog}
    manager.hook.before_pipeline_run(**args)
    clock.advance(0.5)  # the session's own work before the first node
    try:
        SequentialRunner().run(pipeline, catalog, manager)
    except RuntimeError as error:
        manager.hook.on_pipeline_error(error=error, **args)
        return
    clock.advance(0.25)  # ... and after the last
    manager.hook.after_pipeline_run(run_result={}, **args)


# per node: one load + its function + one save
HAND = {"ingest_node": (LOAD + 1.0 + SAVE, 1.0, 0.5),
        "ddpm.train": (LOAD + 4.0 + SAVE, 4.0, 0.5 + 1.75),
        "ddpm.ddim.sample": (LOAD + 2.0 + SAVE, 2.0, 0.5 + 1.75 + 4.75)}
TOTAL = 0.5 + 1.75 + 4.75 + 2.75 + 0.25


def test_each_node_is_timed_from_its_first_load_to_its_last_save(caplog):
    clock = FakeClock()
    hooks = NodeTimingHooks(clock)
    with caplog.at_level(logging.INFO, logger="genpipe.hooks"):
        _run(clock, hooks)
    records = hooks.records()
    assert [r.node for r in records] == list(HAND)  # in the order they started
    for record in records:
        seconds, function_seconds, start = HAND[record.node]
        assert record.seconds == pytest.approx(seconds), record.node
        assert record.function_seconds == pytest.approx(function_seconds)
        assert record.start_offset == pytest.approx(start)
        assert not record.failed
    assert [r.namespace for r in records] == [None, "ddpm", "ddpm.ddim"]
    table = caplog.text
    assert f"Run wall time {TOTAL:.1f} s: 9.2 s in 3 nodes, 0.8 s outside them" \
        in table  # 9.25 and 0.75, rounded half to even
    # ddpm: 4.75 + 2.75 s of 10.0 s
    assert "| ddpm | 2 | 7.5 | 75.0% |" in table
    assert "| ingest_node | 1 | 1.8 | 17.5% |" in table
    assert table.index("| ddpm.train | ddpm | 4.8 | 4.0 | 47.5% |") < \
        table.index("| ddpm.ddim.sample | ddpm | 2.8 | 2.0 | 27.5% |") < \
        table.index("| ingest_node | ingest_node | 1.8 | 1.0 | 17.5% |")


class SlowHooks:
    """Other node hooks (kedro-mlflow's parameters, the family runs) that take
    1 s before and after each node function."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock

    @hook_impl(trylast=True)
    def before_node_run(self) -> None:
        self._clock.advance(1.0)

    @hook_impl
    def after_node_run(self) -> None:
        self._clock.advance(1.0)


def test_other_hooks_count_in_a_nodes_seconds_not_in_its_functions():
    clock = FakeClock()
    hooks = NodeTimingHooks(clock)
    _run(clock, SlowHooks(clock), hooks)  # registered before it, as in settings
    for record in hooks.records():
        seconds, function_seconds, _ = HAND[record.node]
        assert record.seconds == pytest.approx(seconds + 2.0), record.node
        assert record.function_seconds == pytest.approx(function_seconds)
    assert isinstance(HOOKS[-1], NodeTimingHooks)  # registered last


def test_the_records_go_to_the_parent_run_not_the_open_family_run(monkeypatch):
    monkeypatch.setattr("kedro.framework.project.pipelines", {})
    clock = FakeClock()
    hooks = NodeTimingHooks(clock)
    with mlflow.start_run() as parent:  # kedro-mlflow's
        family_runs = FamilyRuns()
        _run(clock, hooks, family_runs, FamilyRunOpener(family_runs))
        child = family_runs.children["ddpm"]
    client = mlflow.MlflowClient()
    run = client.get_run(parent.info.run_id)
    assert run.data.metrics[METRIC] == pytest.approx(TOTAL)
    rows = json.loads(mlflow.artifacts.load_text(
        f"runs:/{parent.info.run_id}/{ARTIFACT}"))
    assert [row["node"] for row in rows] == list(HAND)
    assert rows[1] == {"node": "ddpm.train", "namespace": "ddpm", "seconds": 4.75,
                       "function_seconds": 4.0, "start_offset": 2.25,
                       "failed": False}
    assert client.get_run(child).data.metrics == {}
    assert client.list_artifacts(child) == []


def test_a_failed_run_reports_the_nodes_so_far_and_the_failing_one(caplog):
    clock = FakeClock()
    hooks = NodeTimingHooks(clock)
    with caplog.at_level(logging.INFO, logger="genpipe.hooks"):
        _run(clock, hooks, fail=True)
    records = {r.node: r for r in hooks.records()}
    assert set(records) == set(HAND)
    assert records["ddpm.ddim.sample"].failed
    assert records["ddpm.ddim.sample"].seconds == pytest.approx(LOAD + 2.0)
    assert records["ddpm.ddim.sample"].function_seconds == pytest.approx(2.0)
    assert "failed: ddpm.ddim.sample" in caplog.text
    assert mlflow.active_run() is None  # no run: the table only, no error


def test_families_are_the_first_part_of_the_namespace_or_dotted_name():
    assert family_of("ddpm.ddim.sample", "ddpm.ddim") == "ddpm"
    assert family_of("dann.adapted.train", None) == "dann"  # a namespace-like name
    assert family_of("ingest_mnist_node", None) == "ingest_mnist_node"


def test_the_table_sums_families_and_keeps_only_the_top_nodes():
    records = [NodeTiming(f"vae.n{i}", "vae", float(i), 0.0, 0.0) for i in range(5)]
    records.append(NodeTiming("report_node", None, 10.0, 9.0, 10.0))
    table = timing_table(records, total=40.0, top=2)
    assert "| report_node | 1 | 10.0 | 25.0% |" in table
    assert "| vae | 5 | 10.0 | 25.0% |" in table
    assert table.index("| report_node | 1 |") < table.index("| vae | 5 |")  # ties: name
    assert "| vae.n4 | vae | 4.0 | 0.0 | 10.0% |" in table
    assert "vae.n3" not in table  # top 2 only
    assert "20.0 s outside them" in table
