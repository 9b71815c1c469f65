"""Project settings: https://docs.kedro.org/en/stable/kedro_project_setup/settings.html"""

from pathlib import Path

from kedro.config import OmegaConfigLoader
from kedro.utils import find_kedro_project

from genpipe.hooks import GenpipeHooks
from genpipe.preflight import PreflightHooks, RunEnvironmentHooks


def _project_root() -> str:
    """The project root, whatever the current directory below it."""
    return str(find_kedro_project(Path.cwd()) or Path.cwd())


HOOKS = (GenpipeHooks(), PreflightHooks(), RunEnvironmentHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment overrides single keys, not whole top-level blocks.
    "merge_strategy": {"parameters": "soft", "catalog": "soft", "mlflow": "soft"},
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**"]},
    "custom_resolvers": {"project_root": _project_root},
}
