"""`MLFLOW_TRACKING_URI` switches a `kedro run` (any env) from the embedded
SQLite store to an MLflow server; on a server with a PostgreSQL backend store
and served artifacts, one run records what the SQLite store records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
import sqlalchemy

from tests.helpers import measures_the_machine
from tests.helpers.postgres import free_port
from tests.helpers.workers import (
    cora_project,
    finish,
    kedro_run,
    killed_on_exit,
    worker_env,
)

pytestmark = pytest.mark.slow

MLFLOW = Path(sys.executable).with_name("mlflow")
# kedro-mlflow's tags that differ between two runs of the same thing: the
# session's timestamp and the project copy's folder.
VOLATILE_TAGS = ("run_id", "project_path")
QUICK = "gnn_tuning.seeds_per_trial=1,gnn_tuning.trainer.max_epochs=5"


@pytest.fixture
def mlflow_server(tmp_path, postgres_database) -> Iterator[tuple[str, Path]]:
    """`mlflow server` on a free port of 127.0.0.1: runs in PostgreSQL,
    artifacts served from a folder; its URL and that folder. Stopped after."""
    artifacts = tmp_path / "served-artifacts"
    port = free_port()
    log = (tmp_path / "mlflow-server.log").open("w")
    server = subprocess.Popen(
        [str(MLFLOW), "server", "--backend-store-uri", postgres_database,
         "--artifacts-destination", str(artifacts), "--serve-artifacts",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # its database migrations take a while
            assert server.poll() is None, (tmp_path / "mlflow-server.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not answer /health: "
                        + (tmp_path / "mlflow-server.log").read_text()[-3000:])
        yield url, artifacts
    finally:
        try:  # the server and its workers: one process group
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _artifacts(client: mlflow.MlflowClient, run_id: str, path: str = "") -> set:
    found = set()
    for entry in client.list_artifacts(run_id, path):
        found |= (_artifacts(client, run_id, entry.path) if entry.is_dir
                  else {entry.path})
    return found


def _record(tracking_uri: str) -> dict[str, dict]:
    """Every run of the `genpipe` experiment, by name: its parent's name,
    status, params, metrics, tags and artifact paths."""
    client = mlflow.MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("genpipe")
    runs = client.search_runs([experiment.experiment_id])
    names = {r.info.run_id: r.info.run_name for r in runs}
    assert len(set(names.values())) == len(runs), sorted(names.values())
    return {r.info.run_name: {
        "parent": names.get(r.data.tags.get("mlflow.parentRunId")),
        "status": r.info.status, "params": r.data.params,
        "metrics": r.data.metrics,
        "tags": {k: v for k, v in r.data.tags.items()
                 if not k.startswith("mlflow.") and k not in VOLATILE_TAGS},
        "artifacts": _artifacts(client, r.info.run_id),
        "artifact_uri": r.info.artifact_uri} for r in runs}


def _comparable(record: dict) -> dict:
    """A run's record without what depends on the store or the project path."""
    params = {k: v for k, v in record["params"].items() if "/" not in v}
    return {**record, "params": params, "metrics": set(record["metrics"]),
            "artifact_uri": None}


def test_a_run_logged_to_a_postgresql_server_matches_the_embedded_store(
        tmp_path, mirror_root, cora_ingested, mlflow_server, postgres_database):
    url, served = mlflow_server
    embedded, remote = (cora_project(tmp_path / name, mirror_root, cora_ingested)
                        for name in ("embedded", "remote"))
    args = ("--pipelines", "gnn_tuning", "--params", QUICK)
    runs = [kedro_run(embedded, worker_env(embedded, mirror_root), *args),
            kedro_run(remote, worker_env(remote, mirror_root,
                                         MLFLOW_TRACKING_URI=url), *args)]
    with killed_on_exit(*runs):
        for run in runs:
            finish(run)

    assert not (remote / "mlflow.db").exists()  # nothing went to the default
    assert not (remote / "mlruns").exists()
    local = _record(f"sqlite:///{embedded}/mlflow.db")
    server = _record(url)
    assert set(server) == set(local) and len(local) >= 5  # parent, family, trials
    for name, record in server.items():
        assert _comparable(record) == _comparable(local[name]), name
        for key, value in record["metrics"].items():
            if not measures_the_machine(key):  # names compared above
                assert value == pytest.approx(local[name]["metrics"][key]), (name, key)
        # The server keeps the artifacts (served), not the client's project.
        assert record["artifact_uri"].startswith("mlflow-artifacts:")
        for path in record["artifacts"]:
            assert list(served.rglob(Path(path).name)), path
    assert {r["parent"] for r in server.values()} > {None}  # child runs exist
    assert any(r["artifacts"] for r in server.values())

    # The runs are rows of the PostgreSQL store behind the server.
    engine = sqlalchemy.create_engine(postgres_database)
    try:
        with engine.connect() as connection:
            count = connection.execute(sqlalchemy.text(
                "select count(*) from runs")).scalar()
    finally:
        engine.dispose()
    assert count == len(server)
