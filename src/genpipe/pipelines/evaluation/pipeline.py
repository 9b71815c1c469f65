"""The `evaluation` pipeline and the reusable `evaluate_samples` node set.

A family wires the node set in under its namespace::

    evaluate_samples_pipeline("vae", family="vae", group="latent")

and gets `vae.metrics` (`fid`, `kid`, `precision`, ... in the `vae` MLflow
run), `vae.sample_grid` and `vae.scores`, all through the catalog's `{ns}.*`
factories. The `evaluation` pipeline computes the reference statistics and
scores the real-data floor under the same protocol: held-out real images
(`reference`) and the same images binarized (`reference_binarized`).
"""

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.evaluation.nodes import (
    compute_reference_stats,
    draw_real_samples,
    evaluate_samples,
)
from genpipe.tracking import run_tags

SHARED_INPUTS = {"evaluator_model", "reference_stats", "reference_stats_binarized"}
SHARED_PARAMS = {"params:evaluator", "params:evaluation", "params:seed",
                 "params:device"}
FLOORS = {"reference": False, "reference_binarized": True}  # namespace: binarized


def evaluate_samples_pipeline(namespace: str, family: str, group: str) -> Pipeline:
    """`evaluate_samples` under `namespace`, reading `<namespace>.samples`,
    in the MLflow run of `namespace` (tagged `family`, `group`)."""
    template = Pipeline([
        Node(evaluate_samples,
             ["samples", "evaluator_model", "reference_stats",
              "reference_stats_binarized", "params:evaluator", "params:evaluation",
              "params:seed", "params:device"],
             ["metrics", "sample_grid", "scores"], name="evaluate_samples_node"),
    ], tags=run_tags(family, group, namespace))
    return Pipeline(template, namespace=namespace,
                    inputs={name: name for name in SHARED_INPUTS},
                    parameters=SHARED_PARAMS)


def _floor(namespace: str, binarized: bool) -> Pipeline:
    draw = partial(draw_real_samples, binarized=binarized)
    sampling = Pipeline([
        Node(update_wrapper(draw, draw_real_samples),
             ["mnist_test", "params:evaluation", "params:seed"], "samples",
             name="draw_real_samples_node"),
    ], tags=run_tags("reference", "reference", namespace))
    sampling = Pipeline(sampling, namespace=namespace, inputs={"mnist_test"},
                        parameters={"params:evaluation", "params:seed"})
    return sampling + evaluate_samples_pipeline(namespace, "reference", "reference")


def create_pipeline(**kwargs) -> Pipeline:
    reference = Pipeline([
        Node(compute_reference_stats,
             ["evaluator_model", "mnist_train", "params:evaluator", "params:evaluation",
              "params:seed", "params:device"],
             ["reference_stats", "reference_stats_binarized"],
             name="compute_reference_stats_node"),
    ], tags=run_tags("reference", "reference"))
    # The floor every family is compared to: real images scored as samples.
    return sum((_floor(name, binarized) for name, binarized in FLOORS.items()),
               reference)
