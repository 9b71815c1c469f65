"""The project's parameters as Kedro merges them for one environment."""

from __future__ import annotations

from pathlib import Path

from kedro.config import OmegaConfigLoader

from genpipe.settings import CONFIG_LOADER_ARGS

CONF = Path(__file__).resolve().parents[2] / "conf"


def parameters(env: str) -> dict:
    """`conf/base` merged with `conf/<env>` (the settings' merge strategy)."""
    args = {**CONFIG_LOADER_ARGS, "default_run_env": env}
    loader = OmegaConfigLoader(str(CONF), **args)
    return loader["parameters"]
