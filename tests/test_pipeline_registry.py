from importlib.resources import files

from kedro.framework.project import pipelines

from genpipe.config import family_names
from genpipe.pipeline_registry import register_pipelines

PACKAGES = {entry.name for entry in files("genpipe.pipelines").iterdir()
            if entry.is_dir() and not entry.name.startswith(("_", "."))}


def test_everything_is_registered_and_default_runs_it_once(monkeypatch):
    monkeypatch.setattr(pipelines, "_requested_pipelines", None)
    found = register_pipelines()
    assert {"data_ingestion", "gnn", "generative"} <= PACKAGES
    assert set(found) >= PACKAGES
    assert set(family_names()) <= set(found)
    # Families are inside `generative`: the default pipeline holds them once.
    every = {node.name for name in PACKAGES for node in found[name].nodes}
    assert {node.name for node in found["__default__"].nodes} == every


def test_a_run_loads_only_the_pipelines_it_asks_for(monkeypatch):
    monkeypatch.setattr(pipelines, "_requested_pipelines", ["data_ingestion"])
    assert set(register_pipelines()) == {"data_ingestion", "__default__"}
    monkeypatch.setattr(pipelines, "_requested_pipelines", ["vae"])
    found = register_pipelines()
    assert "vae" in found and "gnn" not in found
