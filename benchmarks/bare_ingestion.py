"""The `data_ingestion` pipeline's work without Kedro: the peer run.

Calls the pipeline's three node functions on the same merged parameters and
writes the same files, so `bench_ingestion.py` can time the framework's
overhead against it. With `--track` it also records what a `kedro run` records
in MLflow: one run in `<project>/mlflow.db` with the nodes' parameters
(flattened), the provenance tags and the size metrics, after validating every
parameter as the project's hook does.

    python benchmarks/bare_ingestion.py [--project DIR] [--env ci] [--out DIR]
                                        [--track]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from genpipe.datasets import GraphDataset, NpzDataset
from genpipe.pipelines.data_ingestion.nodes import (
    ingest_breast_cancer,
    ingest_cora,
    ingest_mnist,
)


def _params(project: Path, env: str) -> dict:
    """Every `parameters*.yml` of `base`, then of `env`, merged key by key."""
    merged: dict = {}
    for folder in ("base", env):
        for file in sorted((project / "conf" / folder).glob("parameters*.yml")):
            _merge(merged, yaml.safe_load(file.read_text()) or {})
    return merged


def _merge(into: dict, new: dict) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _flat(block: dict, prefix: str) -> dict:
    out = {}
    for key, value in block.items():
        name = f"{prefix}.{key}"
        out.update(_flat(value, name) if isinstance(value, dict) else {name: value})
    return out


def _track(project: Path, env: str, params: dict, metrics: dict) -> None:
    import mlflow

    from genpipe.config import validate_parameters
    from genpipe.hooks import provenance_tags

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    mlflow.set_experiment("genpipe")
    with mlflow.start_run(run_name="data_ingestion (bare)"):
        logged = _flat(params["data_ingestion"], "data_ingestion")
        mlflow.log_params({**logged, "seed": params["seed"]})
        mlflow.set_tags(provenance_tags(validate_parameters(params), env))
        mlflow.log_metrics(metrics)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", type=Path, default=Path(__file__).parents[1])
    parser.add_argument("--env", default="base")
    parser.add_argument("--out", type=Path, default=Path("/tmp/genpipe-bare"))
    parser.add_argument("--track", action="store_true",
                        help="record the run in MLflow as `kedro run` does")
    args = parser.parse_args()
    params = _params(args.project, args.env)
    config = params["data_ingestion"]

    train, val, test, metrics = ingest_mnist(config, params["seed"])
    for name, split in (("train", train), ("val", val), ("test", test)):
        NpzDataset(str(args.out / f"mnist_{name}.npz")).save(split)
    graph, cora_metrics = ingest_cora(config)
    GraphDataset(str(args.out / "cora.pt")).save(graph)
    bc_train, bc_test, bc_metrics = ingest_breast_cancer(config)
    bc_train.to_parquet(args.out / "breast_cancer_train.parquet")
    bc_test.to_parquet(args.out / "breast_cancer_test.parquet")

    if args.track:
        _track(args.project, args.env, params,
               {**metrics, **cora_metrics, **bc_metrics})


if __name__ == "__main__":
    main()
