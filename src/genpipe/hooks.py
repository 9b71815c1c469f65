"""Project hooks: parameter validation, run provenance tags, node timings."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.io import MemoryDataset
from kedro.pipeline import Node

from genpipe.config import Parameters, validate_parameters
from genpipe.distributed import replica_rank
from genpipe.timings import ARTIFACT, METRIC, NodeTiming, timing_table

logger = logging.getLogger(__name__)


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def provenance_tags(params: Parameters, env: str | None) -> dict[str, str]:
    """Git commit, Kedro environment and the pinned sha256 of every data file.

    The ingestion pipeline refuses any file whose payload differs from these
    checksums, so they identify the data every run used.
    """
    tags = {"genpipe.env": env or "local"}
    commit = _git("rev-parse", "HEAD")
    if commit:
        tags["mlflow.source.git.commit"] = commit
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        tags["genpipe.git_dirty"] = str(bool(dirty))
    ingestion = params.data_ingestion
    for dataset, source in (("mnist", ingestion.mnist), ("cora", ingestion.cora)):
        for name, digest in source.sha256.items():
            tags[f"dataset.{dataset}.{name}.sha256"] = digest
    tags["dataset.digits.table.sha256"] = ingestion.digits.sha256
    return tags


class WarningFilter(logging.Filter):
    """Drops one known warning, named by its text and the module that issues
    it, from the `py.warnings` logger (where Kedro's logging sends warnings).

    A `warnings.filterwarnings("ignore", ...)` cannot do it for MLflow's
    type-hint warning: MLflow issues it inside `catch_warnings()` with
    `simplefilter("once", UserWarning)`, which comes before any filter of ours.
    """

    def __init__(self, text: str, module: str) -> None:
        super().__init__()
        self.text = text
        # The record reads "<path>/mlflow/pyfunc/.../x.py:187: UserWarning: ...".
        parts = map(re.escape, module.split("."))
        self.path = re.compile(r"[\\/]".join(parts) + r"\.py:")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (self.text in message and self.path.search(message))


MLFLOW_PREDICT_HINT = WarningFilter("Add type hints to the `predict` method",
                                    "mlflow.pyfunc.utils.data_validation")


def runner_name(runner: str) -> str:
    """The runner's class name from Kedro's `run_params["runner"]`, which is
    `str(runner)` for an instance: `<kedro.runner...SequentialRunner object at
    0x...>` becomes `SequentialRunner` (a name is kept as it is)."""
    match = re.fullmatch(r"<(?:[\w.]+\.)?(\w+) object at 0x[0-9a-fA-F]+>", runner)
    return match.group(1) if match else runner


class GenpipeHooks:
    """Validates parameters before any node runs; tags each MLflow run with
    provenance.

    kedro-mlflow is a plugin, so its `before_pipeline_run` (which opens the run)
    is called before this project hook's.
    """

    def __init__(self) -> None:
        self._params: Parameters | None = None

    @hook_impl
    def after_catalog_created(self, parameters: dict) -> None:
        # The catalog's parameter entries (`parameters`, `params:<path>`, ...):
        # Kedro loaded them for the catalog; reading `context.params` earlier
        # would load the YAML a second time.
        self._params = validate_parameters(parameters["parameters"])

    @hook_impl
    def before_pipeline_run(self, run_params: dict) -> None:
        # Family `model:` blocks, the device and missing inputs are checked
        # earlier, before the MLflow run opens (`genpipe.preflight`).
        if mlflow.active_run() is None:
            return
        # kedro-mlflow has just tagged the run with every run parameter; the
        # runner's is an object repr with an address, different in every run.
        if run_params.get("runner"):
            mlflow.set_tag("runner", runner_name(str(run_params["runner"])))
        if self._params is not None:
            mlflow.set_tags(provenance_tags(self._params, run_params.get("env")))


class ReplicaError(RuntimeError):
    """A DDP replica this run launched failed."""


class ReplicaHooks:
    """The two sides of a DDP `kedro run` (`genpipe.distributed`).

    In a replica (a rank other than 0, running this same command), every
    output of the pipeline becomes an in-memory dataset before any other hook
    sees the catalog: the replica trains its shard in step with rank 0 and runs
    the other nodes too (their results feed the next training), but writes no
    file and, with kedro-mlflow's hooks off (`settings.py`), logs nothing.

    In the primary, the replicas it launched (Lightning's `ddp` re-runs this
    command once per extra local process) are waited for when the run ends,
    and a failed one fails the run; when the run fails, they are stopped.
    """

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline, catalog) -> None:
        rank = replica_rank()
        if rank is None:
            return
        outputs = sorted(pipeline.all_outputs())
        for name in outputs:
            catalog[name] = MemoryDataset()
        logger.info("DDP replica (%s): kedro-mlflow off, the %d outputs of this run "
                    "kept in memory; rank 0 logs and writes them", rank, len(outputs))

    @hook_impl
    def after_pipeline_run(self) -> None:
        if "genpipe.training.ddp" not in sys.modules:
            return  # nothing trained here, so nothing was launched
        from genpipe.training.ddp import wait_for_replicas

        failed = wait_for_replicas()
        if failed:
            raise ReplicaError(f"DDP replica {', '.join(failed)} (its log above says "
                               "why); this process's outputs are complete")

    @hook_impl
    def on_pipeline_error(self) -> None:
        if "genpipe.training.ddp" in sys.modules:
            from genpipe.training.ddp import stop_replicas

            stop_replicas()


@dataclass
class _Clock:
    """Readings of one node: first load, function start and end, last save."""

    namespace: str | None
    start: float
    function_start: float | None = None
    function_end: float | None = None
    end: float | None = None
    failed: bool = False


class NodeTimingHooks:
    """Times every node of a `kedro run` and reports where the run went.

    A node's seconds run from its first input load to its last output save
    (Kedro: loads, `before_node_run`, the function, `after_node_run`, saves),
    its function seconds from `before_node_run` to `after_node_run`. When the
    run ends, or fails (then: the nodes so far), one table goes to the log
    (`genpipe.timings.timing_table`) and, when kedro-mlflow opened a run, the
    records go to that parent run as `timings/node_seconds.json` with the
    metric `run_wall_seconds`. Only `perf_counter` readings in the hooks: no
    node's inputs or outputs are touched, and no file of the run's outputs
    holds a wall time. Registered last in `settings.HOOKS`, so its `trylast`
    `before_node_run` is the last one before the function (after the MLflow
    hooks) and its `tryfirst` `after_node_run` the first one after it.

    Under the ParallelRunner nodes run in subprocesses with their own hook
    instances: nothing is measured there.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._start: float | None = None
        self._nodes: dict[str, _Clock] = {}
        self._parent_id: str | None = None

    @hook_impl
    def before_pipeline_run(self) -> None:
        # kedro-mlflow (a plugin: its hook runs first) has opened the parent
        # run; the family child runs open later, per node (genpipe.tracking).
        run = mlflow.active_run()
        self._parent_id = run.info.run_id if run is not None else None
        self._nodes = {}
        self._start = self._clock()

    def _node(self, node: Node, now: float) -> _Clock:
        if node.name not in self._nodes:
            self._nodes[node.name] = _Clock(node.namespace, start=now)
        return self._nodes[node.name]

    @hook_impl(tryfirst=True)
    def before_dataset_loaded(self, node: Node) -> None:
        self._node(node, self._clock())

    @hook_impl(trylast=True)
    def before_node_run(self, node: Node) -> None:
        now = self._clock()
        self._node(node, now).function_start = now

    @hook_impl(tryfirst=True)
    def after_node_run(self, node: Node) -> None:
        now = self._clock()
        clock = self._node(node, now)
        clock.function_end = clock.end = now

    @hook_impl(trylast=True)
    def after_dataset_saved(self, node: Node) -> None:
        now = self._clock()
        self._node(node, now).end = now

    @hook_impl(tryfirst=True)
    def on_node_error(self, node: Node) -> None:
        now = self._clock()
        clock = self._node(node, now)
        clock.end, clock.failed = now, True
        if clock.function_start is not None:
            clock.function_end = now

    def records(self) -> list[NodeTiming]:
        """The nodes measured so far, in the order they started."""
        start = self._start if self._start is not None else 0.0
        rows = [NodeTiming(
            node=name, namespace=clock.namespace,
            seconds=clock.end - clock.start,
            function_seconds=(clock.function_end - clock.function_start
                              if clock.function_start is not None
                              and clock.function_end is not None else 0.0),
            start_offset=clock.start - start, failed=clock.failed)
            for name, clock in self._nodes.items() if clock.end is not None]
        return sorted(rows, key=lambda r: (r.start_offset, r.node))

    # tryfirst: before kedro-mlflow ends the parent run.
    @hook_impl(tryfirst=True)
    def after_pipeline_run(self) -> None:
        self._report()

    @hook_impl(tryfirst=True)
    def on_pipeline_error(self) -> None:
        self._report()

    def _report(self) -> None:
        if self._start is None:
            return
        total = self._clock() - self._start
        records = self.records()
        logger.info("Where this run's time went (genpipe.hooks.NodeTimingHooks):"
                    "\n%s", timing_table(records, total))
        if self._parent_id is not None:
            try:
                client = mlflow.MlflowClient()
                client.log_text(self._parent_id, json.dumps(
                    [r.as_dict() for r in records], indent=1), ARTIFACT)
                client.log_metric(self._parent_id, METRIC, total)
            except Exception as error:  # a timing must never fail the run
                logger.warning("node timings not logged to MLflow run %s: %s",
                               self._parent_id, error)
