"""Where a `kedro run` spends its time: per-node records and the table of them.

`genpipe.hooks.NodeTimingHooks` measures every node of a run and hands its
records here; `benchmarks/run_timings.py` reads the same records back from the
run's MLflow artifact. Pure Python: no Kedro, no MLflow.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass

ARTIFACT = "timings/node_seconds.json"  # on the parent MLflow run
METRIC = "run_wall_seconds"  # a wall time: the reproducibility checks skip it
TOP = 15


@dataclass(frozen=True)
class NodeTiming:
    """One node of a run.

    Attributes:
        node: The node's name.
        namespace: Its Kedro namespace (`ddpm.ddim`), or None.
        seconds: Wall seconds from its first input load to its last output
            save (hooks and I/O included).
        function_seconds: Wall seconds of the node function alone.
        start_offset: Seconds from the start of the run to its first load.
        failed: Whether the node raised (its seconds end at the error).
    """

    node: str
    namespace: str | None
    seconds: float
    function_seconds: float
    start_offset: float
    failed: bool = False

    @property
    def family(self) -> str:
        return family_of(self.node, self.namespace)

    def as_dict(self) -> dict:
        return asdict(self)


def family_of(node: str, namespace: str | None) -> str:
    """The group a node's seconds are summed under: the first part of its
    namespace (`ddpm.ddim` -> `ddpm`), else of its name, which is the whole
    name unless it is dotted like a namespace (`dann.adapted.train` -> `dann`,
    `ingest_mnist_node` -> itself)."""
    return (namespace or node).split(".")[0]


def per_family(records: list[NodeTiming]) -> list[tuple[str, int, float]]:
    """`(family, nodes, seconds)`, the slowest family first."""
    seconds: dict[str, float] = defaultdict(float)
    nodes: dict[str, int] = defaultdict(int)
    for record in records:
        seconds[record.family] += record.seconds
        nodes[record.family] += 1
    return sorted(((name, nodes[name], seconds[name]) for name in seconds),
                  key=lambda row: (-row[2], row[0]))


def slowest(records: list[NodeTiming], top: int = TOP) -> list[NodeTiming]:
    return sorted(records, key=lambda r: (-r.seconds, r.node))[:top]


def _share(seconds: float, total: float) -> str:
    return f"{100 * seconds / total:.1f}%" if total > 0 else "-"


def timing_table(records: list[NodeTiming], total: float, top: int = TOP) -> str:
    """The run's account in markdown: the total, the seconds per family and
    the `top` slowest nodes, each with its share of the run's wall seconds."""
    in_nodes = sum(r.seconds for r in records)
    failed = [r.node for r in records if r.failed]
    lines = [f"Run wall time {total:.1f} s: {in_nodes:.1f} s in {len(records)} "
             f"nodes, {max(total - in_nodes, 0.0):.1f} s outside them"
             + (f"; failed: {', '.join(failed)}" if failed else ""),
             "", "| family | nodes | seconds | share |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {count} | {seconds:.1f} | {_share(seconds, total)} |"
              for name, count, seconds in per_family(records)]
    lines += ["", "| slowest node | family | seconds | function s | share |",
              "|---|---|---:|---:|---:|"]
    lines += [f"| {r.node} | {r.family} | {r.seconds:.1f} | "
              f"{r.function_seconds:.1f} | {_share(r.seconds, total)} |"
              for r in slowest(records, top)]
    return "\n".join(lines)


def from_dicts(rows: list[dict]) -> list[NodeTiming]:
    """Records read back from the JSON artifact."""
    return [NodeTiming(**row) for row in rows]
