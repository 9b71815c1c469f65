"""The generative template, instantiated once per family (its namespace).

    train  -> {ns}.model (weights), {ns}.mlflow_model (MLflow pytorch flavour)
    evaluate -> {ns}.test_metrics, {ns}.reconstructions_plot, {ns}.latent_plot,
                {ns}.curves_plot
    sample -> {ns}.samples -> the shared evaluation nodes (FID, IS, P/R)
              [families that sample]

`kedro run --pipelines vae` runs one family; `--pipelines generative` all.
"""

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from genpipe.config import family_names
from genpipe.models.generative import load_family
from genpipe.pipelines.evaluation.pipeline import evaluate_samples_pipeline
from genpipe.pipelines.generative.nodes import (
    evaluate_family,
    sample_family,
    train_family,
)

SHARED = ["params:seed", "params:device"]


def _bound(func, family: str):
    """`func` with `family` bound, keeping its name and docstring for Kedro."""
    return update_wrapper(partial(func, family=family), func)


def family_pipeline(family: str) -> Pipeline:
    """Train, evaluate and (if the family samples) score `family`."""
    nodes = [
        Node(_bound(train_family, family),
             ["mnist_train", "mnist_val", "params:block", "params:seed",
              "params:device"],
             ["model", "mlflow_model", "history"], name="train"),
        Node(_bound(evaluate_family, family),
             ["model", "history", "mnist_test", "params:block", "params:seed",
              "params:device"],
             ["test_metrics", "reconstructions_plot", "latent_plot", "curves_plot"],
             name="evaluate"),
    ]
    shared = SHARED
    pipe = Pipeline(nodes)
    if load_family(family).samples:
        shared = [*SHARED, "params:evaluation"]
        pipe += Pipeline([
            Node(_bound(sample_family, family),
                 ["model", "params:block", "params:evaluation", "params:seed",
                  "params:device"],
                 ["samples", "sampling_metrics"], name="sample"),
        ])
    pipe = Pipeline(pipe, namespace=family,
                    inputs={"mnist_train", "mnist_val", "mnist_test"},
                    parameters={"params:block": f"params:{family}", **{
                        name: name for name in shared}})
    if load_family(family).samples:
        pipe += evaluate_samples_pipeline(family)
    return pipe


def family_pipelines() -> dict[str, Pipeline]:
    """`{family: its pipeline}` for every registered family."""
    return {family: family_pipeline(family) for family in family_names()}


def create_pipeline(**kwargs) -> Pipeline:
    return sum(family_pipelines().values(), Pipeline([]))
