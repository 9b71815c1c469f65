"""Project hooks: parameter validation and run provenance tags."""

from __future__ import annotations

import subprocess

import mlflow
from kedro.framework.hooks import hook_impl

from genpipe.config import Parameters, validate_parameters


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def provenance_tags(params: Parameters, env: str | None) -> dict[str, str]:
    """Git commit, Kedro environment and the pinned sha256 of every data file.

    The ingestion pipeline refuses any file whose payload differs from these
    checksums, so they identify the data every run used.
    """
    tags = {"genpipe.env": env or "local"}
    commit = _git("rev-parse", "HEAD")
    if commit:
        tags["mlflow.source.git.commit"] = commit
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        tags["genpipe.git_dirty"] = str(bool(dirty))
    ingestion = params.data_ingestion
    for dataset, source in (("mnist", ingestion.mnist), ("cora", ingestion.cora)):
        for name, digest in source.sha256.items():
            tags[f"dataset.{dataset}.{name}.sha256"] = digest
    tags["dataset.digits.table.sha256"] = ingestion.digits.sha256
    return tags


class GenpipeHooks:
    """Validates parameters before any node runs; tags each MLflow run with
    provenance.

    kedro-mlflow is a plugin, so its `before_pipeline_run` (which opens the run)
    is called before this project hook's.
    """

    def __init__(self) -> None:
        self._params: Parameters | None = None

    @hook_impl
    def after_catalog_created(self, parameters: dict) -> None:
        # The catalog's parameter entries (`parameters`, `params:<path>`, ...):
        # Kedro loaded them for the catalog; reading `context.params` earlier
        # would load the YAML a second time.
        self._params = validate_parameters(parameters["parameters"])

    @hook_impl
    def before_pipeline_run(self, run_params: dict) -> None:
        # Family `model:` blocks, the device and missing inputs are checked
        # earlier, before the MLflow run opens (`genpipe.preflight`).
        if mlflow.active_run() is not None and self._params is not None:
            mlflow.set_tags(provenance_tags(self._params, run_params.get("env")))
