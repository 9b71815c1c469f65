"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _mlflow_in_tmp(tmp_path, monkeypatch):
    """Any MLflow call of a test goes to a store of its own, never mlflow.db."""
    import mlflow

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    # Lightning's MLflow logger sets the process-wide URI: reset it per test.
    mlflow.set_tracking_uri(uri)
    yield
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture(scope="session")
def mirror_root() -> Path:
    """The dataset mirror (holding mnist/ and cora/): GENPIPE_DATA_MIRROR's first
    root, else ../shared/datasets beside the project. Missing is a failure, never
    a skip: CI must not pass without having read the real data."""
    env = os.environ.get("GENPIPE_DATA_MIRROR", "")
    roots = [p for p in env.split(os.pathsep) if p]
    root = Path(roots[0]) if roots else ROOT.parent / "shared" / "datasets"
    if not ((root / "mnist").is_dir() and (root / "cora").is_dir()):
        pytest.fail(f"dataset mirror not found at {root} (needs mnist/ and cora/); "
                    "set GENPIPE_DATA_MIRROR to the folder holding them")
    return root.resolve()


@pytest.fixture(scope="session")
def postgres():
    """A throw-away PostgreSQL server on 127.0.0.1 (tests/helpers/postgres.py),
    one per test session, stopped and deleted afterwards. Where PostgreSQL is
    not installed the tests that need it skip, except under CI (CI=true),
    whose `make test` installs it: there it is a failure."""
    from tests.helpers.postgres import PostgresUnavailable, running_postgres

    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as error:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(str(error))
        pytest.skip(str(error))


@pytest.fixture
def postgres_database(postgres, request) -> str:
    """A fresh database of the session's PostgreSQL server, named after the
    test; its SQLAlchemy URL."""
    import re

    name = re.sub(r"\W", "_", request.node.name.lower())[:50]
    return postgres.create_database(f"{name}_{os.getpid()}")


@pytest.fixture(scope="session")
def cora_ingested(tmp_path_factory, mirror_root) -> Path:
    """A project copy that ingested the `ci` Cora graph with `kedro run`;
    tests/helpers/workers.cora_project copies it into other project copies."""
    from tests.helpers.workers import cora_project

    return cora_project(tmp_path_factory.mktemp("cora") / "genpipe", mirror_root)


@pytest.fixture(scope="session")
def breast_cancer_ingested(tmp_path_factory, mirror_root) -> Path:
    """A project copy that ingested the `ci` Breast Cancer split with `kedro
    run`; tests/helpers/workers.breast_cancer_project copies it into others."""
    from tests.helpers.workers import breast_cancer_project

    return breast_cancer_project(tmp_path_factory.mktemp("breast_cancer") / "genpipe",
                                 mirror_root)
