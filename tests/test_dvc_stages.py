"""dvc.yaml against the pipeline registry and the catalog (env `base`).

- every registered pipeline, and every generative family, has a stage (or a
  `foreach` item) whose `cmd` runs it;
- a stage's outputs (`outs`, `metrics`, `plots`) are exactly the file outputs
  the catalog gives the datasets its pipelines write (MemoryDatasets and
  MLflow-only datasets have no file, so no DVC output);
- a stage's `deps` hold every file its pipelines read that another stage
  writes (so `dvc repro` runs them in order; the report's deps are thus every
  family's scores and metrics).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml
from kedro.config import OmegaConfigLoader
from kedro.io.catalog_config_resolver import CatalogConfigResolver
from kedro.pipeline import Pipeline

from genpipe.config import family_names
from genpipe.settings import CONFIG_LOADER_ARGS

ROOT = Path(__file__).resolve().parents[1]
# Pipelines no stage runs by name: `generative` is the union of the families,
# each of which has its own stage.
AGGREGATES = {"__default__", "generative"}
# Files a stage writes that are no catalog dataset, and why.
NOT_IN_CATALOG = {
    "data/07_model_output/optuna.db",  # gnn_tuning's Optuna study (its RDB)
    "data/07_model_output/automl_optuna.db",  # automl's Optuna study
}
OUTPUT_SECTIONS = ("outs", "metrics", "plots")


@dataclass(frozen=True)
class Stage:
    name: str  # `gans@wgan` for a foreach item
    pipelines: tuple[str, ...]
    outputs: frozenset[str]
    deps: frozenset[str]


def _paths(entries: list) -> set[str]:
    """The paths of a `deps`/`outs` list (an entry is a path or {path: options})."""
    return {next(iter(entry)) if isinstance(entry, dict) else entry
            for entry in entries or []}


def _substitute(value, key: str, item):
    """`${key}`, `${item}` and `${item.field}` of a foreach body, filled in."""
    if isinstance(value, dict):
        return {_substitute(k, key, item): _substitute(v, key, item)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, key, item) for v in value]
    if not isinstance(value, str):
        return value

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name == "key":
            return key
        if name == "item":
            return str(item)
        return str(item[name.removeprefix("item.")])
    return re.sub(r"\$\{(key|item(?:\.\w+)?)\}", fill, value)


def pipelines_of(cmd: str) -> tuple[str, ...]:
    """The pipelines a `kedro run --pipelines a,b` command runs."""
    words = shlex.split(cmd)
    if words[:2] != ["kedro", "run"]:
        raise ValueError(f"not a `kedro run`: {cmd!r}")
    for flag in ("--pipelines", "--pipeline"):
        for index, word in enumerate(words):
            if word == flag:
                return tuple(words[index + 1].split(","))
            if word.startswith(f"{flag}="):
                return tuple(word.split("=", 1)[1].split(","))
    return ("__default__",)


def expand(stages: dict) -> list[Stage]:
    """dvc.yaml's stages, one per `foreach` item."""
    expanded = []
    for name, body in stages.items():
        if "foreach" in body:
            items = body["foreach"]
            pairs = items.items() if isinstance(items, dict) else \
                ((str(item), item) for item in items)
            bodies = [(f"{name}@{key}", _substitute(body["do"], key, item))
                      for key, item in pairs]
        else:
            bodies = [(name, body)]
        for stage_name, stage in bodies:
            outputs = set().union(*(_paths(stage.get(s)) for s in OUTPUT_SECTIONS))
            expanded.append(Stage(stage_name, pipelines_of(stage["cmd"]),
                                  frozenset(outputs), frozenset(_paths(stage["deps"]))))
    return expanded


@cache
def dvc_stages() -> tuple[Stage, ...]:
    return tuple(expand(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]))


@cache
def registry() -> dict[str, Pipeline]:
    from genpipe.pipeline_registry import register_pipelines

    return register_pipelines()


@cache
def resolver() -> CatalogConfigResolver:
    args = {**CONFIG_LOADER_ARGS, "default_run_env": "base"}
    return CatalogConfigResolver(
        config=OmegaConfigLoader(str(ROOT / "conf"), **args)["catalog"],
        default_runtime_patterns={"{default}": {"type": "kedro.io.MemoryDataset"}})


def file_of(dataset: str) -> str | None:
    """The file the base catalog gives `dataset` (None: memory or MLflow only)."""
    if dataset.startswith("params:") or dataset == "parameters":
        return None
    config = resolver().resolve_pattern(dataset)
    path = config.get("filepath") or (config.get("dataset") or {}).get("filepath")
    return None if path is None else str(path)


def files(datasets: set[str]) -> dict[str, str]:
    """{file: dataset} of the datasets that have one."""
    return {path: name for name in sorted(datasets) if (path := file_of(name))}


def _pipeline(stage: Stage) -> Pipeline:
    return sum((registry()[name] for name in stage.pipelines), Pipeline([]))


def test_every_pipeline_and_family_has_a_stage():
    run = {name for stage in dvc_stages() for name in stage.pipelines}
    wanted = (set(registry()) - AGGREGATES) | set(family_names())
    missing = sorted(wanted - run)
    assert not missing, f"no dvc.yaml stage runs: {', '.join(missing)}"
    unknown = sorted(run - set(registry()))
    assert not unknown, f"dvc.yaml runs unregistered pipelines: {', '.join(unknown)}"


def test_stage_outputs_are_the_catalogs_file_outputs():
    problems = []
    for stage in dvc_stages():
        written = files(_pipeline(stage).all_outputs())
        problems += [f"stage {stage.name}: {path} (dataset {dataset}) is written by "
                     f"`{' '.join(stage.pipelines)}` but is not a DVC output"
                     for path, dataset in written.items()
                     if path not in stage.outputs]
        problems += [f"stage {stage.name}: DVC output {path} is no file output of "
                     f"`{' '.join(stage.pipelines)}` in the base catalog"
                     for path in sorted(stage.outputs - set(written) - NOT_IN_CATALOG)]
    assert not problems, "\n".join(problems)


def test_stage_deps_hold_the_outputs_of_other_stages_it_reads():
    producer = {path: stage.name for stage in dvc_stages() for path in stage.outputs}
    problems = []
    for stage in dvc_stages():
        read = files(_pipeline(stage).inputs())
        problems += [f"stage {stage.name}: reads {path} (dataset {dataset}, written "
                     f"by stage {producer[path]}) but does not list it in deps"
                     for path, dataset in read.items()
                     if path in producer and producer[path] != stage.name
                     and path not in stage.deps]
    assert not problems, "\n".join(problems)


def test_no_two_stages_write_one_file():
    seen: dict[str, str] = {}
    clashes = []
    for stage in dvc_stages():
        for path in sorted(stage.outputs):
            if path in seen:
                clashes.append(f"{path}: stages {seen[path]} and {stage.name}")
            seen.setdefault(path, stage.name)
    assert not clashes, "\n".join(clashes)


def test_foreach_items_are_expanded_and_commands_parsed():
    stages = expand({
        "gans": {"foreach": ["gan", "wgan"], "do": {
            "cmd": "kedro run --pipelines ${item}", "deps": ["a"],
            "outs": ["data/06_models/${item}.pt",
                     {"m/${item}.json": {"cache": False}}]}},
        "diffusion": {"foreach": {"ddpm": {"first": "ddim"}}, "do": {
            "cmd": "kedro run --pipelines=${key},report", "deps": [],
            "plots": ["${key}.${item.first}_samples.png"]}},
    })
    assert [(s.name, s.pipelines, sorted(s.outputs)) for s in stages] == [
        ("gans@gan", ("gan",), ["data/06_models/gan.pt", "m/gan.json"]),
        ("gans@wgan", ("wgan",), ["data/06_models/wgan.pt", "m/wgan.json"]),
        ("diffusion@ddpm", ("ddpm", "report"), ["ddpm.ddim_samples.png"]),
    ]
    with pytest.raises(ValueError, match="not a `kedro run`"):
        pipelines_of("python train.py")


def test_the_catalog_resolves_factories_and_skips_mlflow_only_datasets():
    assert file_of("vae.model") == "data/06_models/vae.pt"
    assert file_of("ddpm.ddim.sampling_metrics") == \
        "data/08_reporting/ddpm.ddim_sampling_metrics.json"
    assert file_of("vae.mlflow_model") is None  # an MLflow model, no file
    assert file_of("gnn_metrics") is None  # MLflow metrics only
    assert file_of("an_unlisted_dataset") is None  # a MemoryDataset
