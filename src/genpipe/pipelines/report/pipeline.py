"""The `report` pipeline: reads every scored namespace's outputs from the
catalog (scores, sampling cost, the family's training cost and test metrics)
and the real-data floors, and writes the trilemma table, figure and summary
(`data/08_reporting/report/`, DVC metrics and plots, logged to the parent
MLflow run). Last in the DAG: `kedro run` ends with it.
"""

import warnings
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.evaluation.pipeline import FLOORS
from genpipe.pipelines.generative.pipeline import scored_namespaces
from genpipe.pipelines.report.nodes import Source, build_report


def sources() -> tuple[Source, ...]:
    """The floors, then every family's scored samplers."""
    floors = [Source(name, "reference", "reference", costs=False) for name in FLOORS]
    return (*floors, *(Source(namespace, family, group, costs=True)
                       for namespace, (family, group) in scored_namespaces().items()))


def create_pipeline(**kwargs) -> Pipeline:
    rows = sources()
    inputs = []
    for row in rows:
        inputs.append(f"{row.namespace}.scores")
        if row.costs:
            inputs += [f"{row.namespace}.sampling_metrics",
                       f"{row.family}.train_metrics", f"{row.family}.test_metrics"]
    build = update_wrapper(partial(build_report, sources=rows), build_report)
    with warnings.catch_warnings():  # it reads namespaced datasets by design
        warnings.filterwarnings("ignore", "One or more dataset names contain")
        node = Node(build, inputs, ["report_table", "report_markdown",
                                    "report_metrics", "report_trilemma_plot"],
                    name="build_report_node")
    return Pipeline([node])
