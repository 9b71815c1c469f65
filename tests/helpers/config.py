"""The project's parameters as Kedro merges them for one environment."""

from __future__ import annotations

from pathlib import Path

from genpipe.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS

CONF = Path(__file__).resolve().parents[2] / "conf"


def parameters(env: str) -> dict:
    """`conf/base` merged with `conf/<env>` (the settings' loader and merge
    strategy: each trainer's default `checkpoint_dir` filled in)."""
    args = {**CONFIG_LOADER_ARGS, "default_run_env": env}
    loader = CONFIG_LOADER_CLASS(str(CONF), **args)
    return loader["parameters"]
