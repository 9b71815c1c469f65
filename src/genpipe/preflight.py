"""Checks that run before the first node, and before any MLflow run is opened.

`PreflightHooks.before_pipeline_run` is `tryfirst`: pluggy calls it before
kedro-mlflow's own `before_pipeline_run` (which opens the MLflow run), so a run
that cannot work fails with one line and leaves no MLflow run behind, instead
of failing after ingestion, a training budget or a FINISHED empty run:

* the `model:` block of every generative family the run includes;
* the `device` parameter (e.g. `cuda` on a machine without CUDA);
* every external input of the selected pipelines (a dataset no node of this
  run produces, e.g. `reference_stats` or `evaluator_model`) exists;
* every `trainer:` block asking for DDP (`devices` or `num_nodes` > 1)
  belongs to a model the engine trains under DDP, on a device that has them;
* no other live run is writing any of this run's output files: each output
  is locked (`genpipe.io.exclusive_lock`, `.locks/`) until the run ends,
  so a second run of a family fails at once naming the first (a DDP replica
  writes no file: `genpipe.hooks.ReplicaHooks`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from kedro.framework.hooks import hook_impl

from genpipe.config import ParameterError, family_names
from genpipe.distributed import replica_rank

logger = logging.getLogger(__name__)

DVC_FILE = "dvc.yaml"
LOCK_DIR = ".locks"  # git-ignored; outside data/, which DVC hashes


class PreflightError(RuntimeError):
    """The run cannot work: said in one line before any node runs."""


def _filepath(dataset: Any) -> str | None:
    """The local file or folder a dataset reads and writes, if any (MLflow
    tracking datasets have a placeholder `.`, not a file)."""
    path = getattr(dataset, "_filepath", None)
    if path is None or PurePosixPath(str(path)).name in ("", "."):
        return None
    return str(path)


def _expanded(stages: dict) -> dict[str, Any]:
    """The stages with each `foreach` stage expanded into `<name>@<key>`
    stages, `${item}`, `${key}` and `${item.<field>}` substituted (the forms
    dvc.yaml uses), so their outs and commands match like any other's."""
    def fill(value: Any, key: str, item: Any) -> Any:
        if isinstance(value, str):
            value = value.replace("${key}", key)
            if isinstance(item, dict):
                for field, text in item.items():
                    value = value.replace(f"${{item.{field}}}", str(text))
            else:
                value = value.replace("${item}", str(item))
            return value
        if isinstance(value, list):
            return [fill(v, key, item) for v in value]
        if isinstance(value, dict):
            return {fill(k, key, item): fill(v, key, item) for k, v in value.items()}
        return value

    expanded: dict[str, Any] = {}
    for name, stage in stages.items():
        if not (isinstance(stage, dict) and "foreach" in stage and "do" in stage):
            expanded[name] = stage
            continue
        items = stage["foreach"]
        pairs = items.items() if isinstance(items, dict) else \
            ((str(item), item) for item in items)
        for key, item in pairs:
            expanded[f"{name}@{key}"] = fill(stage["do"], key, item)
    return expanded


def _producer(filepath: str, dvc_file: Path, env: str | None) -> str | None:
    """The command that makes the file: the `kedro run` of the DVC stage whose
    outs hold it, matched on the `<layer>/<name>` tail so any data root matches."""
    tail = PurePosixPath(filepath).parts[-2:]
    try:
        stages = _expanded(yaml.safe_load(dvc_file.read_text()).get("stages", {}))
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    for name, stage in stages.items():
        for out in stage.get("outs", []) if isinstance(stage, dict) else []:
            out_path = next(iter(out)) if isinstance(out, dict) else str(out)
            if PurePosixPath(out_path).parts[-2:] != tail:
                continue
            command = str(stage.get("cmd", "")).split("#")[0].strip()
            if not command.startswith("kedro run") or "${" in command:
                return f"`dvc repro {name}`"
            if env and env not in ("base", "local"):
                command = command.replace("kedro run", f"kedro run --env {env}", 1)
            return f"`{command}`"
    return None


def missing_inputs(pipeline: Any, catalog: Any, dvc_file: Path,
                   env: str | None = None) -> list[str]:
    """One description per external input of `pipeline` that does not exist."""
    missing = []
    for name in sorted(pipeline.inputs()):
        if name == "parameters" or name.startswith("params:") or name not in catalog:
            continue  # parameters, or a runtime MemoryDataset the runner checks
        dataset = catalog.get(name)
        path = _filepath(dataset)
        if path is None or catalog.exists(name):
            continue
        command = _producer(path, dvc_file, env)
        hint = f"{command} makes it" if command else "no pipeline here makes it"
        missing.append(f"{name} ({path}; {hint})")
    return missing


def output_files(pipeline: Any, catalog: Any) -> dict[str, str]:
    """{dataset name: file path} of every file output the pipeline writes."""
    files = {}
    for name in sorted(pipeline.all_outputs()):
        if name in catalog and (path := _filepath(catalog.get(name))) is not None:
            files[name] = path
    return files


def lock_outputs(files: dict[str, str], lock_dir: Path) -> contextlib.ExitStack:
    """Holds one lock per output file; raises `LockHeldError` naming the
    output and the run holding it (nothing stays locked then)."""
    from genpipe.io import LockHeldError, exclusive_lock

    stack = contextlib.ExitStack()
    try:
        for name, path in files.items():
            key = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:12]
            stack.enter_context(exclusive_lock(
                lock_dir / f"{Path(path).name}-{key}.lock", f"{name} ({path})"))
    except LockHeldError:
        stack.close()
        raise
    return stack


def check_device(spec: str) -> None:
    """Raises `PreflightError` when the `device` parameter names an absent device."""
    from genpipe.training.device import DeviceUnavailableError, torch_device

    try:
        torch_device(spec)
    except (DeviceUnavailableError, ValueError) as exc:
        raise PreflightError(f"parameters.device: {exc}") from None


# Blocks whose training runs under DDP besides the generative families (whose
# model class says so: `GenerativeModel.distributed`). The others train
# full-batch on one graph (gnn), run Optuna trials (gnn_tuning: every rank
# would run its own study), or step several optimizers themselves.
DDP_BLOCKS = {"evaluator"}


def _ddp_problem(block: str) -> str | None:
    """Why `block`'s training cannot run under DDP, or None."""
    if block in family_names():
        from genpipe.models.generative import load_family

        model = load_family(block)
        if not model.trainable:
            return (f"{block} is fitted in closed form or by EM, not by the training "
                    "engine, so DDP does not apply")
        if not model.distributed:
            return (f"{block} steps its optimizers itself (manual optimization), "
                    "which the engine does not run under DDP")
        return None
    if block in DDP_BLOCKS:
        return None
    return (f"{block}'s training does not run under DDP (it does for the evaluator "
            "and the generative families trained by one optimizer)")


def check_ddp(params: dict, blocks: set[str]) -> None:
    """Raises `PreflightError` naming the first `trainer` key of `blocks` that
    asks for DDP (`devices` or `num_nodes` > 1) where it cannot run."""
    from genpipe.training.device import DeviceUnavailableError, resolve_device

    for block in sorted(blocks):
        settings = params.get(block)
        for key, trainer in sorted(settings.items() if isinstance(settings, dict)
                                   else ()):
            if not (key.endswith("trainer") and isinstance(trainer, dict)):
                continue
            devices, nodes = trainer.get("devices", 1), trainer.get("num_nodes", 1)
            if devices * nodes == 1:
                continue
            knob = "devices" if devices > 1 else "num_nodes"
            name = f"parameters.{block}.{key}.{knob}"
            problem = _ddp_problem(block)
            if problem:
                raise PreflightError(f"{name}: {problem}; set devices and num_nodes "
                                     "to 1")
            try:
                resolve_device(str(params.get("device", "auto")), devices)
            except (DeviceUnavailableError, ValueError) as exc:
                raise PreflightError(f"{name}: {exc}") from None


def _blocks(pipeline: Any) -> set[str]:
    """The top-level parameter blocks the pipeline's nodes read."""
    return {name[len("params:"):].split(".")[0] for name in pipeline.inputs()
            if name.startswith("params:")}


def _uses(pipeline: Any, parameter: str) -> bool:
    suffix = f":{parameter}"
    return any(name.startswith("params:") and name.endswith(suffix)
               for name in pipeline.inputs())


class PreflightHooks:
    """Fails a run that cannot work before any node runs or MLflow run opens."""

    def __init__(self) -> None:
        self._parameters: dict | None = None
        self._project_path: Path = Path.cwd()
        self._locks: contextlib.ExitStack | None = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._project_path = Path(context.project_path)

    @hook_impl
    def after_catalog_created(self, parameters: dict) -> None:
        from genpipe.config import validate_parameters

        # With the schema's defaults filled in, as the nodes will see them.
        self._parameters = validate_parameters(parameters["parameters"]).model_dump()

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict, pipeline: Any,
                            catalog: Any) -> None:
        params = self._parameters or {}
        namespaces = {node.namespace.split(".")[0] for node in pipeline.nodes
                      if node.namespace}
        families = sorted(namespaces & set(family_names()))
        if families:
            # Each family's `model` block needs its torch module: checked for the
            # families this run includes only.
            from genpipe.models.generative import validate_models

            validate_models(params, families)
        if _uses(pipeline, "device") and "device" in params:
            check_device(str(params["device"]))
        check_ddp(params, _blocks(pipeline))
        missing = missing_inputs(pipeline, catalog, self._project_path / DVC_FILE,
                                 run_params.get("env"))
        if missing:
            raise PreflightError(
                f"{len(missing)} input(s) of this run do not exist (nothing ran; "
                "`dvc pull` restores DVC-tracked ones): " + "; ".join(missing))
        self._release()
        if replica_rank() is None:  # a DDP replica writes no file
            self._locks = lock_outputs(output_files(pipeline, catalog),
                                       self._project_path / LOCK_DIR)

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._release()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._release()

    def _release(self) -> None:
        if self._locks is not None:
            self._locks.close()
            self._locks = None


__all__ = ["ParameterError", "PreflightError", "PreflightHooks", "RunEnvironmentHooks",
           "missing_inputs"]


class RunEnvironmentHooks:
    """Names the environment in the MLflow run's name (`__default__ [ci]`), so
    a quick `ci` run is never mistaken for a `base` one in the UI's run list
    (the `genpipe.env` tag says it too)."""

    @hook_impl(trylast=True)  # after kedro-mlflow opened (and named) the run
    def before_pipeline_run(self, run_params: dict) -> None:
        import mlflow

        env, run = run_params.get("env"), mlflow.active_run()
        if run is None or env in (None, "base", "local"):
            return
        name = run.info.run_name or ""
        if not name.endswith(f"[{env}]"):
            mlflow.set_tag("mlflow.runName", f"{name} [{env}]".strip())
