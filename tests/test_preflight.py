"""Checks before the first node (and before any MLflow run opens): a family's
`model` block, the device, the selected pipelines' external inputs; printed as
one line by `kedro run` (the traceback only with --verbose / GENPIPE_DEBUG=1)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline

from genpipe.datasets import NpzDataset
from genpipe.preflight import PreflightError, check_device, missing_inputs
from tests.conftest import ROOT
from tests.helpers.project import copy_project

KEDRO = Path(sys.executable).with_name("kedro")


def _identity(*inputs):
    return inputs[0]


def test_missing_inputs_names_the_file_and_the_command_that_makes_it(tmp_path):
    stats = tmp_path / "data" / "04_feature" / "reference_stats.npz"
    catalog = DataCatalog({"reference_stats": NpzDataset(str(stats)),
                           "made_here": NpzDataset(str(tmp_path / "made.npz")),
                           "in_memory": MemoryDataset()})
    pipeline = Pipeline([
        Node(_identity, "reference_stats", "x1"),
        Node(_identity, "x1", "made_here"),
        Node(_identity, "made_here", "x2"),  # produced by this run: not checked
        Node(_identity, ["in_memory", "params:seed"], "x3"),
    ])
    missing = missing_inputs(pipeline, catalog, ROOT / "dvc.yaml", env="ci")
    assert missing == [f"reference_stats ({stats}; `kedro run --env ci --pipelines "
                       "evaluation` makes it)"]
    NpzDataset(str(stats)).save({"mu": np.zeros(2)})
    assert missing_inputs(pipeline, catalog, ROOT / "dvc.yaml") == []


def test_an_output_of_a_foreach_stage_names_its_own_kedro_run(tmp_path):
    """A generative family's model (a `foreach` stage's `${item}` out), e.g. the
    first stage a two-stage family reads."""
    model = tmp_path / "data" / "06_models" / "vqvae.pt"
    catalog = DataCatalog({"vqvae.model": NpzDataset(str(model))})
    pipeline = Pipeline([Node(_identity, "vqvae.model", "x")])
    assert missing_inputs(pipeline, catalog, ROOT / "dvc.yaml", env="ci") == [
        f"vqvae.model ({model}; `kedro run --env ci --pipelines vqvae` makes it)"]


def test_an_absent_device_is_one_line_naming_the_parameter():
    import torch

    check_device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(PreflightError, match=r"^parameters\.device: .*cuda"):
            check_device("cuda")
    with pytest.raises(PreflightError, match=r"^parameters\.device: "):
        check_device("tpu")


# --- through `kedro run` in a copy of the project ------------------------------

@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("preflight") / "genpipe",
                        files=("dvc.yaml",))


def _kedro_run(project: Path, local_params: str, *args: str,
               debug: bool = False) -> subprocess.CompletedProcess:
    (project / "conf" / "local" / "parameters.yml").write_text(local_params)
    for leftover in ("mlflow.db", "data"):
        path = project / leftover
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    env.pop("MLFLOW_TRACKING_URI", None)  # the project's own mlflow.yml decides
    env.pop("GENPIPE_DEBUG", None)
    if debug:
        env["GENPIPE_DEBUG"] = "1"
    return subprocess.run([str(KEDRO), "run", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)


def _runs(project: Path) -> list[tuple[str, str]]:
    database = project / "mlflow.db"
    if not database.exists():
        return []
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute(
            "select name from sqlite_master where type='table'")}
        if "runs" not in tables:
            return []
        return connection.execute("select name, status from runs").fetchall()


def _written(project: Path) -> list[str]:
    data = project / "data"
    return sorted(str(p) for p in data.rglob("*") if p.is_file()) \
        if data.exists() else []


def _error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines()
            if line.startswith("genpipe: ")]


@pytest.mark.slow
def test_a_bad_family_block_fails_before_any_mlflow_run_or_node(project):
    result = _kedro_run(project, "device: cpu\nvae:\n  model:\n    bogus: 1\n",
                        "--pipelines", "vae")
    assert result.returncode == 1
    assert _error_lines(result) == ["genpipe: ParameterError: 1 invalid "
                                    "parameter(s); nothing was run:"]
    assert "parameters.vae.model.bogus" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert _runs(project) == []  # no FINISHED (or any) run recorded
    assert _written(project) == []


@pytest.mark.slow
def test_cuda_without_cuda_fails_before_the_first_node(project):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = _kedro_run(project, "device: cuda\n", "--pipelines", "evaluator")
    assert result.returncode == 1
    [line] = _error_lines(result)
    assert line.startswith("genpipe: PreflightError: parameters.device: "
                           "device='cuda' was asked for")
    assert _runs(project) == [] and _written(project) == []
    # the traceback is one flag away
    verbose = _kedro_run(project, "device: cuda\n", "--pipelines", "evaluator",
                         debug=True)
    assert verbose.returncode != 0 and "Traceback" in verbose.stderr


@pytest.mark.slow
def test_missing_external_inputs_fail_before_the_first_node(project):
    result = _kedro_run(project, "device: cpu\n", "--pipelines", "evaluation")
    assert result.returncode == 1
    [line] = _error_lines(result)
    assert "evaluator_model" in line and "evaluator.pt" in line
    assert "`kedro run --pipelines evaluator` makes it" in line
    assert _runs(project) == [] and _written(project) == []


def test_a_second_run_writing_the_same_outputs_fails_naming_the_first(tmp_path):
    from genpipe.io import LockHeldError
    from genpipe.preflight import LOCK_DIR, PreflightHooks, output_files

    model = tmp_path / "data" / "06_models" / "vae.pt"
    catalog = DataCatalog({"vae.model": NpzDataset(str(model)),
                           "elsewhere": NpzDataset(str(tmp_path / "other.npz"))})
    pipeline = Pipeline([Node(_identity, "params:seed", "vae.model")])
    other = Pipeline([Node(_identity, "params:seed", "elsewhere")])
    assert output_files(pipeline, catalog) == {"vae.model": str(model)}

    def hooks() -> PreflightHooks:
        hook = PreflightHooks()
        hook._project_path, hook._parameters = tmp_path, {}
        return hook

    first = hooks()
    first.before_pipeline_run({}, pipeline, catalog)  # the first run holds it
    holder = subprocess.run(
        [sys.executable, "-c",
         "import sys\nfrom pathlib import Path\n"
         "from kedro.io import DataCatalog\nfrom kedro.pipeline import Node, Pipeline\n"
         "from genpipe.datasets import NpzDataset\n"
         "from genpipe.preflight import PreflightHooks\n"
         "hook = PreflightHooks(); hook._project_path = Path(sys.argv[1])\n"
         "catalog = DataCatalog({'vae.model': NpzDataset(sys.argv[2])})\n"
         "hook.before_pipeline_run({}, Pipeline([Node(lambda x: x, 'params:seed', "
         "'vae.model')]), catalog)\n",
         str(tmp_path), str(model)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert holder.returncode != 0
    line = holder.stderr.strip().splitlines()[-1]
    assert line.startswith("genpipe.io.LockHeldError: "), holder.stderr[-2000:]
    assert "vae.model" in line and str(model) in line
    assert f"pid {os.getpid()}" in line  # names the run holding it
    hooks().before_pipeline_run({}, other, catalog)  # other outputs: no conflict
    first.after_pipeline_run()
    assert (tmp_path / LOCK_DIR).is_dir()
    second = hooks()
    second.before_pipeline_run({}, pipeline, catalog)  # released: free again
    second.on_pipeline_error()
    assert not model.exists()  # nothing here writes outputs
    with pytest.raises(LockHeldError):  # in-process too: flock is per open file
        first.before_pipeline_run({}, pipeline, catalog)
        hooks().before_pipeline_run({}, pipeline, catalog)
    first.after_pipeline_run()
