"""The child run per model namespace (`genpipe.tracking`), on a real store."""

from __future__ import annotations

import mlflow
import pytest
from kedro.pipeline import Node, Pipeline

from genpipe.tracking import (
    FamilyRunOpener,
    FamilyRuns,
    RunSpec,
    node_params,
    pipeline_of,
    run_tags,
)


def _identity(x):
    return x


def _node(name: str, tags: list[str] | None = None) -> Node:
    return Node(_identity, "a", f"out_{name}", name=name, tags=tags)


def test_run_tags_name_the_run_only_when_it_is_not_the_family():
    assert run_tags("vae", "latent") == ["family.vae", "group.latent"]
    assert run_tags("ddpm", "diffusion", "ddpm.ddim") == [
        "family.ddpm", "group.diffusion", "run.ddpm.ddim"]
    assert run_tags("vae", "latent", "vae") == ["family.vae", "group.latent"]


def test_run_spec_reads_the_tags():
    assert RunSpec.of(_node("n")) is None
    spec = RunSpec.of(_node("n", run_tags("ddpm", "diffusion", "ddpm.ddim")))
    assert spec == RunSpec("ddpm.ddim", "ddpm", "diffusion")
    with pytest.raises(ValueError, match="no group.<group> tag"):
        RunSpec.of(_node("n", ["family.vae"]))


def test_node_params_are_flattened_and_only_params():
    inputs = {"params:vae": {"model": {"latent_dim": 8}, "lr": 0.1},
              "params:seed": 3, "mnist_train": object()}
    assert node_params(inputs) == {"vae.model.latent_dim": "8", "vae.lr": "0.1",
                                   "seed": "3"}


def test_each_node_belongs_to_the_smallest_pipeline_that_holds_it():
    a, b = _node("a"), _node("b")
    pipelines = {"__default__": Pipeline([a, b]), "generative": Pipeline([a, b]),
                 "vae": Pipeline([a])}
    assert pipeline_of(pipelines, ["a", "b", "c"]) == {
        "a": "vae", "b": "generative", "c": "__default__"}


def _run_nodes(hooks: FamilyRuns, opener: FamilyRunOpener, nodes, pipeline,
               monkeypatch, fail_at: str | None = None):
    """What Kedro and kedro-mlflow do around each node, in hook order."""
    monkeypatch.setattr("kedro.framework.project.pipelines",
                        {"__default__": pipeline})
    mlflow.set_experiment("genpipe")
    parent = mlflow.start_run(run_name="__default__")
    hooks.before_pipeline_run({}, pipeline)
    try:
        for node, metric in nodes:
            hooks.before_node_run(node)  # tryfirst: closes the last child
            mlflow.start_run(run_id=parent.info.run_id, nested=True)  # kedro-mlflow
            opener.before_node_run(node, {"params:seed": 7})  # trylast
            if node.name == fail_at:
                raise RuntimeError("boom")
            mlflow.log_metric("fid", metric)  # what the node's outputs log
        hooks.after_pipeline_run()
        mlflow.end_run()
    except RuntimeError:
        hooks.on_pipeline_error()
        while mlflow.active_run():
            mlflow.end_run("FAILED")
    return parent.info.run_id


def _children(parent_id: str) -> dict[str, mlflow.entities.Run]:
    client = mlflow.MlflowClient()
    runs = client.search_runs(
        [client.get_run(parent_id).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")
    return {run.info.run_name: run for run in runs}


def test_each_namespace_logs_into_its_own_tagged_child_run(monkeypatch):
    hooks = FamilyRuns()
    nodes = [(_node("ingest"), 0.0),
             (_node("vae_train", run_tags("vae", "latent")), 1.0),
             (_node("gan_train", run_tags("gan", "adversarial")), 2.0),
             (_node("vae_score", run_tags("vae", "latent")), 3.0)]
    pipeline = Pipeline([node for node, _ in nodes])
    parent = _run_nodes(hooks, FamilyRunOpener(hooks), nodes, pipeline, monkeypatch)
    children = _children(parent)
    assert set(children) == {"vae", "gan"}  # the vae run is reopened, not doubled
    assert children["vae"].data.metrics["fid"] == 3.0  # its latest value
    assert children["gan"].data.metrics["fid"] == 2.0
    assert children["vae"].data.tags["group"] == "latent"
    assert children["vae"].data.tags["pipeline"] == "__default__"
    assert children["vae"].data.params["seed"] == "7"
    assert all(run.info.status == "FINISHED" for run in children.values())
    parent_run = mlflow.MlflowClient().get_run(parent)
    assert parent_run.data.metrics["fid"] == 0.0  # the untagged node's
    assert parent_run.info.status == "FINISHED"
    experiment = mlflow.get_experiment(parent_run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_a_failing_node_fails_its_child_run(monkeypatch):
    hooks = FamilyRuns()
    nodes = [(_node("vae_train", run_tags("vae", "latent")), 1.0),
             (_node("gan_train", run_tags("gan", "adversarial")), 2.0)]
    parent = _run_nodes(hooks, FamilyRunOpener(hooks), nodes, Pipeline(
        [node for node, _ in nodes]), monkeypatch, fail_at="gan_train")
    children = _children(parent)
    assert children["vae"].info.status == "FINISHED"
    assert children["gan"].info.status == "FAILED"
    assert mlflow.MlflowClient().get_run(parent).info.status == "FAILED"
    assert mlflow.active_run() is None
