"""Project pipelines: every package under `genpipe.pipelines`, plus one pipeline
per generative family (`vae`, `vqvae`, ...); `__default__` = everything.

Kedro 1.7 loads only the pipelines a `kedro run --pipelines ...` asks for, so
a run imports the code (torch, PyG, ...) of those pipelines only. The families
are pipelines without a package of their own, so the registry does the
discovery itself instead of `find_pipelines`.
"""

from __future__ import annotations

import importlib
from importlib.resources import files

from kedro.framework.project import pipelines as project_pipelines
from kedro.pipeline import Pipeline

from genpipe.config import family_names


def _requested() -> set[str] | None:
    """The pipelines this run asked for; None for all."""
    names = getattr(project_pipelines, "_requested_pipelines", None)
    return None if names is None or "__default__" in names else set(names)


def register_pipelines() -> dict[str, Pipeline]:
    requested = _requested()
    families = set(family_names())
    if requested is not None and requested & families:
        requested = (requested - families) | {"generative"}
    found: dict[str, Pipeline] = {}
    for entry in sorted(files("genpipe.pipelines").iterdir(), key=lambda e: e.name):
        if not entry.is_dir() or entry.name.startswith(("_", ".")):
            continue
        if requested is None or entry.name in requested:
            module = importlib.import_module(f"genpipe.pipelines.{entry.name}")
            found[entry.name] = module.create_pipeline()
    if "generative" in found:
        found.update(importlib.import_module("genpipe.pipelines.generative")
                     .family_pipelines())
    found["__default__"] = sum(
        (pipe for name, pipe in found.items() if name not in families),
        Pipeline([]))
    return found
