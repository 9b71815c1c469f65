"""The `data_ingestion` pipeline's work without Kedro or MLflow: the peer run.

Same library calls and the same files as `kedro run --pipelines data_ingestion`,
so `bench_ingestion.py` can time the framework's overhead against it.

    python benchmarks/bare_ingestion.py [--env ci] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from genpipe.data import breast_cancer, cora, mnist
from genpipe.data.fetch import fetch_file, mirror_dirs
from genpipe.datasets import NpzDataset, TorchDataset

ROOT = Path(__file__).parents[1]


def _params(env: str) -> dict:
    merged: dict = {}
    for folder in ("base", env):
        path = ROOT / "conf" / folder / "parameters_data_ingestion.yml"
        overrides = ROOT / "conf" / folder / "parameters.yml"
        for file in (path, overrides):
            if file.is_file():
                _merge(merged, yaml.safe_load(file.read_text()) or {})
    return merged


def _merge(into: dict, new: dict) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _payloads(config: dict, subdir: str, names) -> dict[str, bytes]:
    source = config[subdir]
    mirrors = mirror_dirs(config["mirrors"], subdir)
    return {name: fetch_file(name, source["sha256"][name], mirrors,
                             Path(source["cache_dir"]), source["urls"]).payload
            for name in names}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="base")
    parser.add_argument("--out", type=Path, default=Path("/tmp/genpipe-bare"))
    args = parser.parse_args()
    params = _params(args.env)
    config = params["data_ingestion"]

    train, test = mnist.parse_mnist(_payloads(config, "mnist", mnist.FILES))
    train, val = mnist.split_validation(train, config["mnist"]["val_size"],
                                        params["seed"])
    limit = config["mnist"].get("max_examples_per_split")
    for name, split in (("train", train), ("val", val), ("test", test)):
        if limit:
            split = {k: v[:limit] for k, v in split.items()}
        NpzDataset(str(args.out / f"mnist_{name}.npz")).save(split)

    graph = cora.load_planetoid(_payloads(config, "cora", cora.raw_file_names()))
    TorchDataset(str(args.out / "cora.pt")).save(graph)

    bc = config["breast_cancer"]
    bc_train, bc_test = breast_cancer.stratified_split(
        breast_cancer.load_frame(), bc["test_size"], bc["random_state"])
    bc_train.to_parquet(args.out / "breast_cancer_train.parquet")
    bc_test.to_parquet(args.out / "breast_cancer_test.parquet")


if __name__ == "__main__":
    main()
