"""One MLflow child run per model namespace, under the run of a `kedro run`.

kedro-mlflow opens one run per `kedro run` (its parameters and provenance tags).
Every node that belongs to a model (a generative family or one of its
samplers, `gcn`, `xgboost`, `ppo`, the `reference` floor, ...) carries Kedro
tags that name its run::

    family.<family>   the model family (`vae`, `ddpm`, `xgboost`, ...)
    group.<group>     latent | adversarial | diffusion | autoregressive |
                      classical | graph | tabular | rl | reference | ...
    run.<name>        the run's name when it is not the family's
                      (a sampler's `ddpm.ddim`)

`FamilyRuns` opens that nested run just before the node runs and closes it
when the next node starts or the pipeline ends, so everything the node's
outputs log through the catalog (metrics, artifacts, models) and the training
engine's curves land in the model's own run under plain keys (`fid`,
`test_acc`): the MLflow UI lines families up on one `fid` chart.

kedro-mlflow logs each node's parameters into the parent run in its own
`before_node_run` (it re-activates the parent there), so the child is closed
*before* that hook (`tryfirst`) and opened *after* it (`trylast`); the child
also receives the node's parameters so the compare view shows each model's
configuration beside its scores.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.pipeline import Node, Pipeline
from mlflow.entities import RunStatus

logger = logging.getLogger(__name__)

FAMILY, GROUP, RUN = "family.", "group.", "run."
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a parameter's value


def run_tags(family: str, group: str, run: str | None = None) -> list[str]:
    """The Kedro node tags that put a node into the MLflow run of `family`
    (or of `run`, e.g. a sampler's `ddpm.ddim`)."""
    tags = [f"{FAMILY}{family}", f"{GROUP}{group}"]
    return [*tags, f"{RUN}{run}"] if run and run != family else tags


@dataclass(frozen=True)
class RunSpec:
    """Which child run a node logs into, and the tags that run carries."""

    name: str
    family: str
    group: str

    @classmethod
    def of(cls, node: Node) -> RunSpec | None:
        found = {prefix: tag[len(prefix):] for tag in node.tags
                 for prefix in (FAMILY, GROUP, RUN) if tag.startswith(prefix)}
        if FAMILY not in found:
            return None
        if GROUP not in found:
            raise ValueError(f"node {node.name!r} is tagged {FAMILY}{found[FAMILY]} "
                             f"but has no {GROUP}<group> tag")
        return cls(found.get(RUN, found[FAMILY]), found[FAMILY], found[GROUP])


def _flat(params: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= _flat(value, f"{name}.")
        else:
            flat[name] = str(value)
    return flat


def node_params(inputs: dict) -> dict[str, str]:
    """The node's `params:` inputs flattened as kedro-mlflow logs them."""
    params = {name[len("params:"):]: value for name, value in inputs.items()
              if name.startswith("params:")}
    return {key: value for key, value in _flat(params).items()
            if len(value) <= MAX_PARAM_LENGTH}


def pipeline_of(pipelines: dict[str, Pipeline], names: Iterable[str]
                ) -> dict[str, str]:
    """`{node name: the smallest registered pipeline that holds it}`."""
    owner: dict[str, str] = {}
    ranked = sorted((len(pipe.nodes), name) for name, pipe in pipelines.items()
                    if name != "__default__")
    for _, name in reversed(ranked):  # the smallest pipeline writes last
        owner |= {node.name: name for node in pipelines[name].nodes}
    return {name: owner.get(name, "__default__") for name in names}


@dataclass
class _State:
    parent_id: str | None = None
    children: dict[str, str] = field(default_factory=dict)  # name -> run id
    open_child: str | None = None
    pipelines: dict[str, str] = field(default_factory=dict)  # node -> pipeline


class FamilyRuns:
    """Opens and closes the nested run of each tagged node (see module doc)."""

    def __init__(self) -> None:
        self._state = _State()

    @property
    def children(self) -> dict[str, str]:
        """`{run name: run id}` of the child runs of the current `kedro run`."""
        return dict(self._state.children)

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline: Pipeline) -> None:
        # kedro-mlflow (a plugin) opened the parent run in its own hook, before
        # this project hook.
        run = mlflow.active_run()
        self._state = _State(parent_id=run.info.run_id if run else None)
        if run is None:
            return
        client = mlflow.MlflowClient()
        # The UI opens on training runs, not on the GenAI overview.
        for key, value in EXPERIMENT_KIND.items():
            client.set_experiment_tag(run.info.experiment_id, key, value)
        from kedro.framework.project import pipelines

        self._state.pipelines = pipeline_of(dict(pipelines),
                                            [node.name for node in pipeline.nodes])

    @hook_impl(tryfirst=True)
    def before_node_run(self, node: Node) -> None:
        self._close(RunStatus.FINISHED)

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self) -> None:
        self._close(RunStatus.FINISHED)

    @hook_impl(tryfirst=True)
    def on_pipeline_error(self) -> None:
        self._close(RunStatus.FAILED)

    def open(self, node: Node, inputs: dict) -> None:
        """Activates `node`'s child run (created on first use) on top of the
        parent; called by `FamilyRunOpener` after kedro-mlflow's node hook."""
        spec = RunSpec.of(node)
        state = self._state
        if spec is None or state.parent_id is None:
            return
        run_id = state.children.get(spec.name)
        if run_id is None:
            run = mlflow.start_run(
                run_name=spec.name, nested=True, parent_run_id=state.parent_id,
                tags={"family": spec.family, "group": spec.group,
                      "pipeline": state.pipelines.get(node.name, "__default__")})
            state.children[spec.name] = run.info.run_id
        else:
            mlflow.start_run(run_id=run_id, nested=True)
        state.open_child = spec.name
        params = node_params(inputs)
        if params:
            mlflow.log_params(params)

    def _close(self, status: RunStatus) -> None:
        state = self._state
        if state.open_child is None:
            return
        run = mlflow.active_run()
        if run is not None and run.info.run_id == state.children[state.open_child]:
            mlflow.end_run(RunStatus.to_string(status))
        state.open_child = None


class FamilyRunOpener:
    """The second half of `FamilyRuns`: its `before_node_run` runs last."""

    def __init__(self, runs: FamilyRuns) -> None:
        self._runs = runs

    @hook_impl(trylast=True)
    def before_node_run(self, node: Node, inputs: dict) -> None:
        self._runs.open(node, inputs)
