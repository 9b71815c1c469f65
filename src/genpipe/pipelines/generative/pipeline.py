"""The generative template, instantiated once per family (its namespace).

    train      -> {ns}.model (weights), {ns}.mlflow_model (MLflow pytorch flavour),
                  {ns}.train_metrics (wall seconds, parameters),
                  {ns}.history [trainable], {ns}.snapshots [trainable, samples]
    evaluate   -> {ns}.test_metrics, {ns}.curves_plot, {ns}.<figure>_plot,
                  {ns}.samples_over_training_plot, {ns}.training_metrics
    reconstruct -> {ns}.reconstruction_metrics, {ns}.reconstructions_plot,
                   {ns}.latent_plot                        [families that reconstruct]
    sample     -> {ns}.samples -> the shared evaluation nodes (FID, IS, P/R)
                  [families that sample; one `{ns}.<sampler>` namespace per
                  named sampler; a sampler that continues another's chain
                  (`GenerativeModel.continues`) is finished from that one's
                  `{ns}.<sampler>.chain` (in memory)]

A family with a `first_stage` (e.g. `vqvae_prior` on `vqvae`) reads that
family's trained `{first_stage}.model` and `params:{first_stage}` in every
node that builds its model: an input of the run, never retrained by it. A
family with a `sweep` also draws its swept samplers' scores against the swept
setting (`{ns}.sweep_plot`).

Every node is tagged with its MLflow run (`genpipe.tracking`): the family's
run `{ns}` for training and evaluation, and one run per sampler
(`ddpm.ddim`) for its samples and scores; samplerless families are scored in
their own run.

`kedro run --pipelines vae` runs one family; `--pipelines generative` all.
"""

import warnings
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from genpipe.config import family_names
from genpipe.models.generative import load_family
from genpipe.pipelines.evaluation.pipeline import evaluate_samples_pipeline
from genpipe.pipelines.generative.nodes import (
    continue_sampling,
    evaluate_family,
    plot_sweep,
    reconstruct_family,
    sample_family,
    train_family,
)
from genpipe.tracking import run_tags

MNIST = {"mnist_train", "mnist_val", "mnist_test"}
EVALUATOR = {"evaluator_model"}
SHARED = ["params:seed", "params:device"]


def _bound(func, **kwargs):
    """`func` with `kwargs` bound, keeping its name and docstring for Kedro."""
    return update_wrapper(partial(func, **kwargs), func)


def _outputs(*names: str) -> dict[str, str]:
    return {name: name for name in names}


def family_pipeline(family: str) -> Pipeline:
    """Train, evaluate, and (by the family's abilities) reconstruct and score."""
    with warnings.catch_warnings():  # a first stage's datasets are namespaced
        warnings.filterwarnings("ignore", "One or more dataset names contain")
        return _family_pipeline(family)


def _family_pipeline(family: str) -> Pipeline:
    model = load_family(family)
    # The trained first stage, read from outside the namespace.
    first = {} if model.first_stage is None else {
        "first_stage_model": f"{model.first_stage}.model",
        "first_stage_params": f"params:{model.first_stage}"}
    upstream = {first["first_stage_model"]} if first else set()
    upstream_params = {first["first_stage_params"]} if first else set()
    training = []  # what only a gradient-trained family has
    if model.trainable:
        training = ["history", "snapshots"] if model.samples else ["history"]
    evaluate_inputs = {"weights": "model", "test": "mnist_test",
                       "params": "params:block", "seed": "params:seed",
                       "device": "params:device",
                       **{name: name for name in training}, **first}
    evaluate_outputs = ["test_metrics", *(f"{name}_plot" for name in model.figures)]
    if model.trainable:
        evaluate_outputs.append("curves_plot")
    if model.samples:
        evaluate_inputs |= {"evaluator_model": "evaluator_model",
                            "evaluator": "params:evaluator",
                            "evaluation": "params:evaluation"}
    if model.samples and model.trainable:
        evaluate_outputs += ["training_metrics", "samples_over_training_plot"]
    nodes = [
        Node(_bound(train_family, family=family),
             {"train": "mnist_train", "val": "mnist_val", "params": "params:block",
              "seed": "params:seed", "device": "params:device", **first},
             _outputs("model", "mlflow_model", "train_metrics", *training),
             name="train"),
        Node(_bound(evaluate_family, family=family), evaluate_inputs,
             _outputs(*evaluate_outputs), name="evaluate"),
    ]
    if model.reconstructs:
        nodes.append(Node(_bound(reconstruct_family, family=family),
                          {"weights": "model", "test": "mnist_test",
                           "params": "params:block", "seed": "params:seed",
                           "device": "params:device", **first},
                          ["reconstruction_metrics", "reconstructions_plot",
                           "latent_plot"], name="reconstruct"))
    pipe, scored = Pipeline(nodes, tags=run_tags(family, model.group)), []
    for sampler in model.samplers or (None,) if model.samples else ():
        run = f"{family}.{sampler}" if sampler else family
        inputs = {"weights": "model", "params": "params:block",
                  "evaluation": "params:evaluation", "seed": "params:seed",
                  "device": "params:device", **first}
        continued = model.continues.get(sampler)
        if continued:  # finished from that sampler's chain, not drawn again
            inputs |= {"chain": f"{continued}.chain",
                       "chain_metrics": f"{continued}.sampling_metrics"}
            node = Node(_bound(continue_sampling, family=family, sampler=sampler),
                        inputs, ["samples", "sampling_metrics"], name="sample")
        else:
            keep = sampler in model.continues.values()
            node = Node(_bound(sample_family, family=family, sampler=sampler,
                               keep_chain=keep), inputs,
                        ["samples", "sampling_metrics", *(["chain"] if keep else [])],
                        name="sample")
        sampling = Pipeline([node], tags=run_tags(family, model.group, run))
        if sampler:  # its own namespace: {family}.{sampler}.samples, ...
            sampling = Pipeline(sampling, namespace=sampler,
                                inputs={"model", *upstream, *(
                                    [f"{continued}.chain",
                                     f"{continued}.sampling_metrics"]
                                    if continued else [])},
                                parameters={"params:block", *SHARED,
                                            "params:evaluation", *upstream_params})
        pipe += sampling
        scored.append(run)
    shared = [*SHARED, "params:evaluation", "params:evaluator"] if model.samples \
        else SHARED
    pipe = Pipeline(pipe, namespace=family,
                    inputs=MNIST | (EVALUATOR if model.samples else set()) | upstream,
                    parameters={"params:block": f"params:{family}",
                                **{name: name for name in (*shared,
                                                           *upstream_params)}})
    for namespace in scored:
        pipe += evaluate_samples_pipeline(namespace, family, model.group)
    if model.sweep:
        pipe += Pipeline([Node(
            _bound(plot_sweep, family=family, values=tuple(model.sweep.values()),
                   setting=model.sweep_setting),
            [f"{family}.{sampler}.scores" for sampler in model.sweep],
            f"{family}.sweep_plot", name=f"{family}.plot_sweep")],
            tags=run_tags(family, model.group))
    return pipe


def scored_namespaces() -> dict[str, tuple[str, str]]:
    """`{namespace: (family, group)}` of every scored sampler of every family
    (`vae`, `ddpm.ddpm`, `ddpm.ddim`, ...): what the report lines up."""
    scored = {}
    for family in family_names():
        model = load_family(family)
        if model.samples:
            for sampler in model.samplers or (None,):
                scored[f"{family}.{sampler}" if sampler else family] = (
                    family, model.group)
    return scored


def family_pipelines() -> dict[str, Pipeline]:
    """`{family: its pipeline}` for every registered family."""
    return {family: family_pipeline(family) for family in family_names()}


def create_pipeline(**kwargs) -> Pipeline:
    return sum(family_pipelines().values(), Pipeline([]))
