"""`kedro run` workers in throw-away project copies, as separate machines would
run them: each copy has its own data/, mlflow.db and checkpoints; only the
storage they are pointed at is shared."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.helpers.project import copy_project

KEDRO = Path(sys.executable).with_name("kedro")
CORA = "data/ci/02_intermediate/cora.pt"
BREAST_CANCER = tuple(f"data/ci/02_intermediate/breast_cancer_{split}.parquet"
                      for split in ("train", "test"))


def worker_env(project: Path, mirror_root: Path, **extra: str) -> dict[str, str]:
    """The environment of a `kedro run` in `project`: its own code, the
    dataset mirror, and no MLFLOW_TRACKING_URI unless given in `extra`."""
    env = {**os.environ, "GENPIPE_DATA_MIRROR": str(mirror_root),
           "PYTHONPATH": str(project / "src"), "PYTHONHASHSEED": "0"}
    env.pop("MLFLOW_TRACKING_URI", None)  # the conftest's, for in-process calls
    return {**env, **extra}


def kedro_run(project: Path, env: dict[str, str], *args: str,
              **popen: object) -> subprocess.Popen:
    """Starts `kedro run --env ci <args>` in `project` (its own process group,
    so that a test can kill it whole)."""
    return subprocess.Popen([str(KEDRO), "run", "--env", "ci", *args], cwd=project,
                            env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, **popen)


def kill(process: subprocess.Popen) -> None:
    """SIGKILLs `process` and its process group, if still running; reaps it."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def finish(process: subprocess.Popen, timeout: float = 900) -> str:
    """Waits for `process`; its output. Fails the test if it failed or ran
    past `timeout` (then it is killed)."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(process)
        raise
    assert process.returncode == 0, output[-4000:]
    return output


@contextmanager
def killed_on_exit(*processes: subprocess.Popen) -> Iterator[None]:
    """Kills whichever of `processes` still runs when the block ends (a
    failed assertion must not leave workers behind)."""
    try:
        yield
    finally:
        for process in processes:
            kill(process)


def ingested_project(destination: Path, mirror_root: Path, node: str,
                     files: tuple[str, ...], ingested: Path | None = None) -> Path:
    """A project copy holding `files` (paths in it), the `ci` outputs of the
    `data_ingestion` node `node`: copied from `ingested` (a copy made
    earlier), else made by running that node."""
    project = copy_project(destination)
    if ingested is not None:
        for name in files:
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ingested / name, project / name)
        return project
    finish(kedro_run(project, worker_env(project, mirror_root), "--pipelines",
                     "data_ingestion", "--nodes", node))
    return project


def cora_project(destination: Path, mirror_root: Path,
                 ingested: Path | None = None) -> Path:
    """A project copy holding the `ci` Cora graph (see `ingested_project`)."""
    return ingested_project(destination, mirror_root, "ingest_cora_node", (CORA,),
                            ingested)


def breast_cancer_project(destination: Path, mirror_root: Path,
                          ingested: Path | None = None) -> Path:
    """A project copy holding the `ci` Breast Cancer split (see
    `ingested_project`)."""
    return ingested_project(destination, mirror_root, "ingest_breast_cancer_node",
                            BREAST_CANCER, ingested)
