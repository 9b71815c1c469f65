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
