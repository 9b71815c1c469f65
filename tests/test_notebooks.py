"""The notebooks: committed without outputs, and executed on `ci` outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.helpers.project import copy_project

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KEDRO = Path(sys.executable).with_name("kedro")
# the pipelines whose `ci` outputs the notebooks read (rl, automl and the
# generative families are shown when they ran, and said missing otherwise)
PIPELINES = "data_ingestion,bayes,theory,evaluator,evaluation,gnn,xai"


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS} >= {"01_gnn_xai_rl_automl.ipynb",
                                           "02_divergences_and_gans.ipynb",
                                           "03_generative_models.ipynb",
                                           "04_bayes.ipynb",
                                           "05_diffusion_derivations.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} have outputs; clear them "
                       "(jupyter nbconvert --clear-output --inplace)")


@pytest.fixture(scope="module")
def ci_project(tmp_path_factory, mirror_root) -> Path:
    """A copy of the project with the `ci` outputs the notebooks read."""
    project = copy_project(tmp_path_factory.mktemp("notebooks") / "genpipe",
                           folders=("notebooks",), data_layers=True)
    env = {**os.environ, "GENPIPE_DATA_MIRROR": str(mirror_root)}
    env.pop("MLFLOW_TRACKING_URI", None)  # the project's own mlflow.yml decides
    result = subprocess.run(
        [str(KEDRO), "run", "--env", "ci", "--pipelines", PIPELINES], cwd=project,
        env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return project


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_on_ci_outputs(path, ci_project, monkeypatch):
    monkeypatch.setenv("KEDRO_ENV", "ci")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    notebook = nbformat.read(ci_project / "notebooks" / path.name, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ci_project /
                                                                "notebooks")}})
    client.execute()  # raises CellExecutionError, naming the cell, if one fails
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
