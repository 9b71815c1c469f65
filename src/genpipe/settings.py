"""Project settings: https://docs.kedro.org/en/stable/kedro_project_setup/settings.html"""

import logging
import os
from pathlib import Path

from kedro.config import OmegaConfigLoader
from kedro.utils import find_kedro_project

from genpipe.config import with_checkpoint_dirs
from genpipe.distributed import replica_rank
from genpipe.hooks import (
    MLFLOW_PREDICT_HINT,
    GenpipeHooks,
    NodeTimingHooks,
    ReplicaHooks,
)
from genpipe.preflight import PreflightHooks, RunEnvironmentHooks
from genpipe.tracking import FamilyRunOpener, FamilyRuns

# kedro-mlflow's KedroPipelineModel makes MLflow warn, 13 lines on every `kedro`
# command, that its `predict` has no type hints (genpipe logs no such model).
# Kedro routes warnings to the `py.warnings` logger; settings are imported
# before kedro-mlflow's commands and hooks, so the filter is there in time.
logging.getLogger("py.warnings").addFilter(MLFLOW_PREDICT_HINT)


def _project_root() -> str:
    """The project root, whatever the current directory below it."""
    return str(find_kedro_project(Path.cwd()) or Path.cwd())


def _mlflow_tracking_uri() -> str:
    """$MLFLOW_TRACKING_URI (MLflow's own switch: a server, or another store),
    else the embedded SQLite store at the project root. kedro-mlflow reads the
    variable only when mlflow.yml names no URI, and `--env ci` never reads
    conf/local: the variable is the one switch that works in every env."""
    return (os.environ.get("MLFLOW_TRACKING_URI")
            or f"sqlite:///{_project_root()}/mlflow.db")


def _mlflow_artifact_location() -> str | None:
    """Where a new experiment keeps its artifacts: ./mlruns beside the embedded
    store; None (the server's choice, e.g. its --artifacts-destination) when
    $MLFLOW_TRACKING_URI is a tracking server, so every client shares them."""
    if os.environ.get("MLFLOW_TRACKING_URI", "").startswith(("http://", "https://")):
        return None
    return f"{_project_root()}/mlruns"


_FAMILY_RUNS = FamilyRuns()
# One MLflow child run per model namespace (genpipe.tracking): the opener's
# `before_node_run` must run after kedro-mlflow's, the closer's before it.
# ReplicaHooks after PreflightHooks: its `tryfirst` `before_pipeline_run` then
# runs before PreflightHooks' (pluggy calls the later-registered first), so a
# DDP replica's outputs are in memory before the preflight locks output files.
# NodeTimingHooks after the opener: among `trylast` impls pluggy calls the
# later-registered *last*, so its `before_node_run` is the last hook before the
# node function and its `tryfirst` `after_node_run` the first one after it.
HOOKS = (GenpipeHooks(), PreflightHooks(), RunEnvironmentHooks(), _FAMILY_RUNS,
         FamilyRunOpener(_FAMILY_RUNS), ReplicaHooks(), NodeTimingHooks())
# A DDP replica (`genpipe.distributed`) opens no MLflow run: rank 0 logs.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow", "kedro_mlflow") if replica_rank() else ()


class GenpipeConfigLoader(OmegaConfigLoader):
    """Kedro's OmegaConfigLoader; `parameters` also get each trainer's default
    `checkpoint_dir`, `<data_root>/06_models/checkpoints/<block>`, from the
    same `data_root` as `${globals:data_root}` (`genpipe.config.with_checkpoint_dirs`).
    """

    def __getitem__(self, key: str) -> dict:
        config = super().__getitem__(key)
        if key != "parameters":
            return config
        data_root = self["globals"].get("data_root")
        if data_root is None:
            raise KeyError(f"data_root: not in {self.conf_source}/*/globals.yml")
        return with_checkpoint_dirs(config, data_root)


CONFIG_LOADER_CLASS = GenpipeConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment overrides single keys, not whole top-level blocks.
    "merge_strategy": {"parameters": "soft", "catalog": "soft", "mlflow": "soft"},
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**"]},
    "custom_resolvers": {"project_root": _project_root,
                         "mlflow_tracking_uri": _mlflow_tracking_uri,
                         "mlflow_artifact_location": _mlflow_artifact_location},
}
