"""Nodes of the `report` pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from genpipe.evaluation import report


@dataclass(frozen=True)
class Source:
    """Which inputs of `build_report` belong to one row, in order: the scores,
    then (for a family's sampler) sampling, training and test metrics."""

    namespace: str
    family: str
    group: str
    costs: bool


def build_report(*tables: dict, sources: tuple[Source, ...]
                 ) -> tuple[pd.DataFrame, str, dict, Figure]:
    """The trilemma report of every scored family, sampler and floor.

    Args:
        tables: Per source, its `scores`, and when `costs`, its
            `sampling_metrics`, the family's `train_metrics` and `test_metrics`.
        sources: What `tables` hold (bound by the pipeline).

    Returns:
        The table (CSV), its Markdown with the generated summary, the
        `{namespace: {metric: value}}` of `dvc metrics`, and the trilemma figure.
    """
    rows, remaining = [], list(tables)
    for source in sources:
        scores = remaining.pop(0)
        costs = [remaining.pop(0) for _ in range(3)] if source.costs else [None] * 3
        rows.append(report.Row(source.namespace, source.family, source.group,
                               scores, *costs))
    frame = report.table(rows)
    return (frame, report.markdown(frame), report.dvc_metrics(frame),
            report.trilemma_figure(frame))
