"""Where a `kedro run` spent its time, as the run measured it: the seconds per
family and the slowest nodes, read from the run's MLflow record.

    python benchmarks/run_timings.py [--run-id ID] [--pipeline __default__]
                                     [--top 15] [--tracking-uri URI]

`genpipe.hooks.NodeTimingHooks` leaves `timings/node_seconds.json` and the
metric `run_wall_seconds` on every `kedro run`'s parent MLflow run. Without
`--run-id`, the latest parent run of `--pipeline` (`__default__`, i.e.
`kedro run` / `make run`; its `ci` runs are named `__default__ [ci]`) that has
them. The store is $MLFLOW_TRACKING_URI, else the project's `mlflow.db`.
Prints the same markdown table the run logged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import mlflow
from common import ROOT

from genpipe.timings import ARTIFACT, METRIC, TOP, from_dicts, timing_table


def _latest_parent(client: mlflow.MlflowClient, pipeline: str) -> str:
    experiment = client.get_experiment_by_name("genpipe")
    if experiment is None:
        sys.exit("no `genpipe` experiment in this store: run `kedro run` first")
    runs = client.search_runs([experiment.experiment_id],
                              filter_string=f"metrics.{METRIC} >= 0",
                              order_by=["attributes.start_time DESC"])
    for run in runs:
        name = run.info.run_name or ""
        if "mlflow.parentRunId" not in run.data.tags and (
                name == pipeline or name.startswith(f"{pipeline} [")):
            return run.info.run_id
    sys.exit(f"no `{pipeline}` run with timings in this store")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-id", help="a parent run (default: the latest)")
    parser.add_argument("--pipeline", default="__default__",
                        help="the run name to look for without --run-id")
    parser.add_argument("--top", type=int, default=TOP, help="slowest nodes shown")
    parser.add_argument("--tracking-uri", default=os.environ.get(
        "MLFLOW_TRACKING_URI", f"sqlite:///{ROOT}/mlflow.db"))
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(args.tracking_uri)
    client = mlflow.MlflowClient(args.tracking_uri)
    run_id = args.run_id or _latest_parent(client, args.pipeline)
    run = client.get_run(run_id)
    records = from_dicts(json.loads(
        mlflow.artifacts.load_text(f"runs:/{run_id}/{ARTIFACT}")))
    total = run.data.metrics.get(METRIC) or max(
        (r.start_offset + r.seconds for r in records), default=0.0)
    print(f"\n`{run.info.run_name}` ({run_id}), {run.info.status}, "
          f"commit {run.data.tags.get('mlflow.source.git.commit', '?')[:7]}\n")
    print(timing_table(records, total, args.top))


if __name__ == "__main__":
    main()
