"""A DDP `kedro run` end to end: the `ci` evaluator on 2 processes, and on 2
"nodes" started by hand on localhost, against the one-process run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from genpipe.distributed import RANK_VARIABLES
from tests.helpers.project import copy_project

pytestmark = pytest.mark.slow

KEDRO = Path(sys.executable).with_name("kedro")
KEDRO_TIMEOUT_S = 900  # a guard against hangs on a loaded machine
CI_DATA = "data/ci"
# 2 ranks x 25 images keep conf/ci's global batch of 50.
DDP = "evaluator.trainer.strategy=ddp,evaluator.batch_size=25"
# The evaluator trains with dropout and random shifts; each rank draws the same
# random numbers for its own half batch, so a DDP run differs from the
# one-process run by that noise: test accuracy within 5 points (ci: 3 epochs,
# 2000 images, ~92%).
ACCURACY_TOLERANCE = 0.05


def _env(mirror: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in (*RANK_VARIABLES, "MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE",
                        "MLFLOW_TRACKING_URI")}  # the project's mlflow.yml decides
    # COLUMNS: rich wraps log lines at 80 columns, splitting dataset names.
    return env | {"GENPIPE_DATA_MIRROR": str(mirror), "COLUMNS": "400"} | extra


def _kedro(project: Path, mirror: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([str(KEDRO), "run", "--env", "ci", *args], cwd=project,
                            env=_env(mirror, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> str:
    output, _ = proc.communicate(timeout=KEDRO_TIMEOUT_S)
    assert proc.returncode == 0, output[-4000:]
    return output


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@pytest.fixture(scope="module")
def with_mnist(tmp_path_factory, mirror_root) -> Path:
    project = copy_project(tmp_path_factory.mktemp("ddp") / "genpipe",
                           data_layers=True)
    _finish(_kedro(project, mirror_root, "--pipelines", "data_ingestion",
                   "--to-outputs", "mnist_train,mnist_val,mnist_test"))
    return project


def _copy(project: Path, name: str) -> Path:
    copy = project.parent / name
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(
        "mlflow.db", "mlruns", ".locks"))
    return copy


def _runs(project: Path) -> tuple[mlflow.entities.Run, list[mlflow.entities.Run]]:
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("genpipe")
    runs = client.search_runs([experiment.experiment_id])
    top = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(top) == 1, [r.info.run_name for r in top]  # one MLflow run
    return top[0], [r for r in runs if r not in top]


def _outcome(project: Path) -> dict[str, float]:
    """Checks one finished run of one evaluator, one checkpoint folder and one
    curve point per epoch; returns the evaluator's metrics."""
    parent, children = _runs(project)
    assert parent.info.status == "FINISHED"
    assert [(c.info.run_name, c.info.status) for c in children] == \
        [("evaluator", "FINISHED")]
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    curve = client.get_metric_history(children[0].info.run_id, "val_acc")
    assert [point.step for point in curve] == sorted({p.step for p in curve})
    assert len(curve) == 3  # one point per epoch: rank 0 alone logs
    folders = [f for f in (project / CI_DATA / "06_models/checkpoints/evaluator")
               .iterdir() if f.is_dir()]
    assert len(folders) == 1
    assert sorted(p.name for p in folders[0].iterdir()) == ["epoch=002.ckpt",
                                                            "last.ckpt"]
    assert (project / CI_DATA / "06_models/evaluator.pt").is_file()
    return children[0].data.metrics


@pytest.fixture(scope="module")
def one_process(with_mnist, mirror_root) -> dict[str, float]:
    project = _copy(with_mnist, "single")
    _finish(_kedro(project, mirror_root, "--pipelines", "evaluator"))
    return _outcome(project)


def test_ddp_on_two_processes_is_one_run_that_matches_one_process(
        with_mnist, mirror_root, one_process):
    project = _copy(with_mnist, "two_processes")
    output = _finish(_kedro(project, mirror_root, "--pipelines", "evaluator",
                            "--params", f"evaluator.trainer.devices=2,{DDP}",
                            MASTER_PORT=_free_port()))
    # Both ranks ran the node; the replica kept its outputs in memory (Kedro
    # logs loads, not saves: the replica's own line says what it did).
    flat = " ".join(output.split())
    assert "DDP replica (LOCAL_RANK=1): kedro-mlflow off, the 3 outputs of this " \
        "run kept in memory" in flat
    metrics = _outcome(project)
    assert abs(metrics["test_acc"] - one_process["test_acc"]) <= ACCURACY_TOLERANCE


def test_two_nodes_on_localhost_are_one_run_that_matches_one_process(
        with_mnist, mirror_root, one_process):
    project = _copy(with_mnist, "two_nodes")
    port = _free_port()
    nodes = [_kedro(project, mirror_root, "--pipelines", "evaluator", "--params",
                    f"evaluator.trainer.num_nodes=2,{DDP}", NODE_RANK=str(rank),
                    MASTER_ADDR="127.0.0.1", MASTER_PORT=port) for rank in (0, 1)]
    outputs = [_finish(node) for node in nodes]
    assert "DDP replica (NODE_RANK=1)" in outputs[1]
    metrics = _outcome(project)
    assert abs(metrics["test_acc"] - one_process["test_acc"]) <= ACCURACY_TOLERANCE


def test_ddp_for_a_gan_fails_before_any_node_naming_the_parameter(with_mnist,
                                                                   mirror_root):
    proc = _kedro(with_mnist, mirror_root, "--pipelines", "gan", "--params",
                  "gan.trainer.devices=2")
    output, _ = proc.communicate(timeout=KEDRO_TIMEOUT_S)
    assert proc.returncode == 1
    assert "genpipe: PreflightError: parameters.gan.trainer.devices: gan steps its " \
        "optimizers itself" in " ".join(output.split())
