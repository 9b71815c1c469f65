"""The `evaluation` pipeline and the reusable `evaluate_samples` node set.

A family wires the node set in under its namespace::

    evaluate_samples_pipeline(namespace="vae")   # reads vae.samples

and gets `vae.metrics` (MLflow `vae/fid`, `vae/precision`, ...), `vae.sample_grid`
and `vae.scores`, all through the catalog's `{ns}.*` factories.
"""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.evaluation.nodes import compute_reference_stats, evaluate_samples

SHARED_INPUTS = {"evaluator_model", "reference_stats"}
SHARED_PARAMS = {"params:evaluator", "params:evaluation", "params:seed",
                 "params:device"}


def evaluate_samples_pipeline(namespace: str, samples: str | None = None) -> Pipeline:
    """`evaluate_samples` under `namespace`, reading `samples` (default
    `<namespace>.samples`)."""
    template = Pipeline([
        Node(evaluate_samples,
             ["samples", "evaluator_model", "reference_stats", "params:evaluator",
              "params:evaluation", "params:seed", "params:device"],
             ["metrics", "sample_grid", "scores"], name="evaluate_samples_node"),
    ])
    inputs = {name: name for name in SHARED_INPUTS}
    if samples is not None:
        inputs["samples"] = samples
    return Pipeline(template, namespace=namespace, inputs=inputs,
                    parameters=SHARED_PARAMS)


def create_pipeline(**kwargs) -> Pipeline:
    reference = Pipeline([
        Node(compute_reference_stats,
             ["evaluator_model", "mnist_train", "params:evaluator", "params:evaluation",
              "params:seed", "params:device"],
             "reference_stats", name="compute_reference_stats_node"),
    ])
    # The floor every family is compared to: real test images scored as samples.
    return reference + evaluate_samples_pipeline("reference", samples="mnist_test")
