"""Project settings: https://docs.kedro.org/en/stable/kedro_project_setup/settings.html"""

from pathlib import Path

from kedro.config import OmegaConfigLoader
from kedro.utils import find_kedro_project

from genpipe.hooks import GenpipeHooks
from genpipe.preflight import PreflightHooks, RunEnvironmentHooks
from genpipe.tracking import FamilyRunOpener, FamilyRuns


def _project_root() -> str:
    """The project root, whatever the current directory below it."""
    return str(find_kedro_project(Path.cwd()) or Path.cwd())


_FAMILY_RUNS = FamilyRuns()
# One MLflow child run per model namespace (genpipe.tracking): the opener's
# `before_node_run` must run after kedro-mlflow's, the closer's before it.
# Preflight checks run before kedro-mlflow opens the run (`tryfirst`).
HOOKS = (GenpipeHooks(), _FAMILY_RUNS, FamilyRunOpener(_FAMILY_RUNS), PreflightHooks(),
         RunEnvironmentHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment overrides single keys, not whole top-level blocks.
    "merge_strategy": {"parameters": "soft", "catalog": "soft", "mlflow": "soft"},
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**"]},
    "custom_resolvers": {"project_root": _project_root},
}
