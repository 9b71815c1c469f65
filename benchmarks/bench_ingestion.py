"""Ingestion speed and the framework's overhead, printed as a table.

    python benchmarks/bench_ingestion.py [--repeats 3]

Rows:
* MNIST cold: verify the sha256 of the four decompressed files from the mirror,
  parse the IDX payloads, split (the `ingest_mnist` node, in-process).
* MNIST warm: load the three ingested splits through their catalog datasets.
* `kedro run --pipelines data_ingestion --env ci` against
  `benchmarks/bare_ingestion.py --env ci`, the same node functions and files
  without Kedro, both as fresh processes in a copy of the project. The peer
  runs twice: with `--track` it records the same MLflow run (parameters, tags,
  metrics in the project's SQLite store), which is the work a `kedro run`
  does, so `kedro / tracked` is the framework's overhead (Kedro and
  kedro-mlflow); without it, `kedro / untracked` also charges MLflow itself
  (its import and its SQL store) to the framework.
  Each process pays Python, torch and PyG start-up; the second row runs the
  `base` sizes, where the work itself weighs more.
Targets on a 2-core CPU: cold <= 5 s, warm <= 0.5 s, overhead <= 1.2x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml
from common import ROOT, copy_project

BIN = Path(sys.executable).parent


def _timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall seconds and peak traced memory (MiB) of `fn()`."""
    times, peak = [], 0
    for _ in range(repeats):
        tracemalloc.start()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def _process(cmd: list[str], cwd: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.chdir(ROOT)
    # The temporary project copies are not beside ../shared: name the mirror.
    os.environ.setdefault("GENPIPE_DATA_MIRROR", str(ROOT.parent / "shared/datasets"))

    from genpipe.datasets import NpzDataset
    from genpipe.pipelines.data_ingestion.nodes import ingest_mnist

    conf = ROOT / "conf/base/parameters_data_ingestion.yml"
    base = yaml.safe_load(conf.read_text())
    config = base["data_ingestion"]
    rows = []
    cold, cold_mem = _timed(lambda: ingest_mnist(config, seed=42), args.repeats)
    rows.append(("MNIST cold: verify + parse + split (70k)", cold, cold_mem, "<= 5 s"))

    with tempfile.TemporaryDirectory() as tmp:
        train, val, test, _ = ingest_mnist(config, seed=42)
        sets = {n: NpzDataset(f"{tmp}/mnist_{n}.npz") for n in ("train", "val", "test")}
        for name, split in (("train", train), ("val", val), ("test", test)):
            sets[name].save(split)
        warm, warm_mem = _timed(lambda: [d.load() for d in sets.values()],
                                args.repeats)
    rows.append(("MNIST warm: load ingested splits", warm, warm_mem, "<= 0.5 s"))

    overhead = []
    for env in ("ci", "base"):
        with tempfile.TemporaryDirectory() as tmp:
            project = copy_project(Path(tmp) / "genpipe")
            kedro = _process([str(BIN / "kedro"), "run", "--pipelines",
                              "data_ingestion", "--env", env], project, args.repeats)
            bare = [sys.executable, str(ROOT / "benchmarks/bare_ingestion.py"),
                    "--project", str(project), "--env", env, "--out", f"{tmp}/bare"]
            tracked = _process([*bare, "--track"], project, args.repeats)
            untracked = _process(bare, project, args.repeats)
        overhead.append((env, kedro, tracked, untracked))

    print(f"\n{'benchmark':<44} {'wall s':>8} {'numpy MiB':>9}  target")
    for name, seconds, mib, target in rows:
        print(f"{name:<44} {seconds:>8.3f} {mib:>9.0f}  {target}")
    print(f"\n{'data_ingestion, fresh process':<30} {'kedro s':>8} {'tracked s':>9}"
          f" {'untracked s':>11} {'kedro/tracked':>13} {'kedro/untracked':>15}"
          "  target")
    for env, kedro, tracked, untracked in overhead:
        print(f"{'--env ' + env:<30} {kedro:>8.2f} {tracked:>9.2f} {untracked:>11.2f}"
              f" {kedro / tracked:>12.2f}x {kedro / untracked:>14.2f}x"
              "  kedro/tracked <= 1.2x")


if __name__ == "__main__":
    main()
