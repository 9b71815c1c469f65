"""GCN on Cora, 200 epochs: through `kedro run` and as a bare PyG script.

    python benchmarks/bench_gnn.py [--repeats 3]

Both as fresh processes on the ingested `data/02_intermediate/cora.pt`. For
the pipeline, the training time is its own `gcn/seconds_per_epoch` x 200 (read
back from the MLflow run), the rest of the wall time is start-up (Python,
torch, Kedro, MLflow) and the t-SNE/plots. The ratio of training times is
the engine's (Lightning + logging + checkpoints) overhead per epoch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
from common import ROOT, copy_project

BIN = Path(sys.executable).parent
EPOCHS = 200


def _pipeline_run(project: Path) -> tuple[float, float]:
    start = time.perf_counter()
    subprocess.run([str(BIN / "kedro"), "run", "--pipelines", "gnn", "--namespaces",
                    "gcn", "--params", "gnn.seeds=1,device=cpu"],
                   cwd=project, check=True, capture_output=True)
    wall = time.perf_counter() - start
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    run = client.search_runs([client.get_experiment_by_name("genpipe").experiment_id],
                             order_by=["attributes.start_time DESC"], max_results=1)[0]
    return wall, run.data.metrics["gcn/seconds_per_epoch"] * EPOCHS


def _bare_run(*flags: str) -> tuple[float, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks/bare_gcn.py"),
                          "--graph", str(ROOT / "data/02_intermediate/cora.pt"),
                          *flags],
                         check=True, capture_output=True, text=True).stdout.split()
    return time.perf_counter() - start, float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp) / "genpipe",
                               data=("data/02_intermediate/cora.pt",))
        kedro = [_pipeline_run(project) for _ in range(args.repeats)]
    bare = [_bare_run("--sparse") for _ in range(args.repeats)]
    dense = [_bare_run() for _ in range(args.repeats)]

    def median(rows, i):
        return statistics.median(row[i] for row in rows)

    print(f"\nGCN, {EPOCHS} epochs on Cora (median of {args.repeats})")
    print(f"{'':<34} {'process s':>10} {'training s':>11} {'ms/epoch':>9}")
    for name, rows in (("kedro run (engine, MLflow)", kedro),
                       ("bare PyG script, sparse features", bare),
                       ("bare PyG script, dense features", dense)):
        print(f"{name:<34} {median(rows, 0):>10.2f} {median(rows, 1):>11.2f}"
              f" {median(rows, 1) / EPOCHS * 1000:>9.1f}")
    for name, rows in (("ratio kedro / bare sparse", bare),
                       ("ratio kedro / bare dense", dense)):
        print(f"{name:<34} {median(kedro, 0) / median(rows, 0):>9.2f}x"
              f" {median(kedro, 1) / median(rows, 1):>10.2f}x")


if __name__ == "__main__":
    main()
