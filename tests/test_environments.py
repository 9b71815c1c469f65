"""Each Kedro environment writes under its own data root (conf/<env>/globals.yml):
`base` the DVC-tracked `data/`, `ci` `data/ci/`, so a quick run never
overwrites base's outputs."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import yaml

from genpipe.timings import ARTIFACT, METRIC
from tests.conftest import ROOT
from tests.helpers.project import copy_project

KEDRO = Path(sys.executable).with_name("kedro")


def _config(env: str) -> tuple[dict, dict]:
    """The catalog and parameters `kedro run --env <env>` would use."""
    from genpipe.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS

    loader = CONFIG_LOADER_CLASS(str(ROOT / "conf"), env=env, **{
        k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"})
    return loader["catalog"], loader["parameters"]


def _paths(tree: object, key: str) -> list[str]:
    """Every value of `key` anywhere in a nested config."""
    if isinstance(tree, dict):
        found = [str(v) for k, v in tree.items() if k == key]
        return found + [p for v in tree.values() for p in _paths(v, key)]
    if isinstance(tree, list):
        return [p for v in tree for p in _paths(v, key)]
    return []


@pytest.mark.parametrize("env, root", [("ci", "data/ci/"), ("gpu", "data/gpu/")])
def test_every_output_and_checkpoint_of_an_env_is_under_its_root(env, root):
    catalog, params = _config(env)
    paths = _paths(catalog, "filepath") + _paths(params, "checkpoint_dir")
    assert len(paths) > 30
    assert [p for p in paths if not p.startswith(root)] == []


def test_base_writes_the_paths_dvc_tracks():
    catalog, params = _config("base")
    paths = _paths(catalog, "filepath") + _paths(params, "checkpoint_dir")
    assert all(p.startswith("data/") and not p.startswith(("data/ci/", "data/gpu/"))
               for p in paths), paths
    outs = {next(iter(o)) if isinstance(o, dict) else o
            for stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
            .values() for o in stage.get("outs", [])}
    for fixed in ("data/02_intermediate/cora.pt", "data/06_models/evaluator.pt",
                  "data/04_feature/reference_stats.npz"):
        assert fixed in paths and fixed in outs


def _tree(root: Path, skip: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and skip not in p.parents}


@pytest.mark.slow
def test_a_ci_run_changes_no_file_of_base(tmp_path, mirror_root):
    project = copy_project(tmp_path / "genpipe", files=("dvc.yaml",))
    base, _ = _config("base")
    outputs = [p for p in _paths(base, "filepath") if "{" not in p]
    for index, path in enumerate(outputs):  # base's outputs, as DVC restored them
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_bytes(f"base output {index}".encode())
    before = _tree(project / "data", project / "data" / "ci")
    env = {**os.environ, "GENPIPE_DATA_MIRROR": str(mirror_root),
           "PYTHONPATH": str(project / "src")}
    env.pop("MLFLOW_TRACKING_URI", None)
    result = subprocess.run([str(KEDRO), "run", "--env", "ci", "--pipelines",
                             "data_ingestion"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _tree(project / "data", project / "data" / "ci") == before
    assert (project / "data/ci/02_intermediate/mnist_train.npz").is_file()
    assert (project / "data/ci/02_intermediate/cora.pt").is_file()
    with sqlite3.connect(project / "mlflow.db") as db:  # the run names its env
        assert db.execute("select name, status from runs").fetchall() == [
            ("data_ingestion [ci]", "FINISHED")]
        (run_id,) = db.execute("select run_uuid from runs").fetchone()
    # ... and records where its time went (genpipe.hooks.NodeTimingHooks)
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    assert client.get_run(run_id).data.metrics[METRIC] > 0
    rows = json.loads(Path(client.download_artifacts(run_id, ARTIFACT, str(tmp_path)))
                      .read_text())
    assert {row["node"] for row in rows} == {
        f"ingest_{name}_node" for name in ("mnist", "cora", "breast_cancer", "digits")}
    assert all(row["seconds"] >= row["function_seconds"] > 0 for row in rows)


def _mlflow_config(env: str) -> dict:
    from kedro.config import OmegaConfigLoader

    from genpipe.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(str(ROOT / "conf"), env=env, **{
        k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"})
    config = loader["mlflow"]
    return {"uri": config["server"]["mlflow_tracking_uri"],
            "artifacts": config["tracking"]["experiment"]["create_experiment_kwargs"]
            ["artifact_location"]}


@pytest.mark.parametrize("env", ["base", "ci"])
def test_mlflow_tracking_uri_switches_the_store_in_every_env(env, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert _mlflow_config(env) == {"uri": f"sqlite:///{ROOT}/mlflow.db",
                                   "artifacts": f"{ROOT}/mlruns"}
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert _mlflow_config(env) == {"uri": "http://127.0.0.1:5000", "artifacts": None}
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/runs.db")
    assert _mlflow_config(env) == {"uri": "sqlite:////elsewhere/runs.db",
                                   "artifacts": f"{ROOT}/mlruns"}
