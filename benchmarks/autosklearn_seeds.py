"""auto-sklearn on the course split over several seeds: how much is luck?

    python benchmarks/autosklearn_seeds.py [--seeds 1,42,7] [--budget 120]
                                           [--resampling holdout] [--n-jobs 1]
                                           [--refit | --no-refit]

Runs the `automl` pipeline's auto-sklearn search (its bridge, its isolated
Python 3.9 environment: `make automl-env`) on the ingested Breast Cancer split
(`dvc pull ingest` or `kedro run --pipelines data_ingestion` first) with the
`base` budget per seed, and prints one row per seed: test accuracy, ROC AUC,
pipelines tried, best validation score and wall time. Run it on an idle
machine: the budget is wall time, so a loaded machine tries fewer pipelines.
"""

from __future__ import annotations

import argparse
import statistics

import pandas as pd
import yaml
from common import ROOT

from genpipe.automl.bridge import run_autosklearn, sprint_numbers
from genpipe.config import AutomlConfig
from genpipe.data.tabular import feature_names, features_and_target
from genpipe.models.xgb import classification_metrics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1,42,7")
    parser.add_argument("--budget", type=int, help="seconds (default: base)")
    parser.add_argument("--resampling", choices=["holdout", "cv"])
    parser.add_argument("--n-jobs", type=int, help="parallel runs (default: base)")
    parser.add_argument("--refit", action=argparse.BooleanOptionalAction,
                        help="refit the ensemble on all training rows "
                             "(default: base)")
    args = parser.parse_args()
    params = yaml.safe_load((ROOT / "conf/base/parameters_automl.yml").read_text())
    ask = AutomlConfig.model_validate(params["automl"]).autosklearn
    budget = args.budget or ask.time_left_for_this_task
    resampling = args.resampling or ask.resampling_strategy
    n_jobs = args.n_jobs or ask.n_jobs
    refit = ask.refit if args.refit is None else args.refit
    data = ROOT / "data" / "02_intermediate"
    tables = {split: f"breast_cancer_{split}" for split in ("train", "test")}
    frames = {split: pd.read_parquet(data / f"{name}.parquet")
              for split, name in tables.items()}
    names = feature_names(frames["train"])  # the 30 features: not row_id, not target
    (X, y), (X_test, y_test) = [features_and_target(frames[split], names, name)
                                for split, name in tables.items()]
    print(f"auto-sklearn, {budget} s budget, {ask.per_run_time_limit} s per run, "
          f"{resampling}{', refit' if refit else ''}, {n_jobs} job(s), "
          f"course split ({len(y)} train / {len(y_test)} test)\n")
    print(f"{'seed':>6} {'test acc':>9} {'ROC AUC':>8} {'pipelines':>10} "
          f"{'best val':>9} {'wall s':>7}")
    accuracies = []
    for seed in (int(s) for s in args.seeds.split(",")):
        result = run_autosklearn(
            X, y, X_test, time_left_for_this_task=budget,
            per_run_time_limit=min(ask.per_run_time_limit, budget),
            seed=seed, memory_limit_mb=ask.memory_limit_mb, n_jobs=n_jobs,
            ensemble_size=ask.ensemble_size, resampling_strategy=resampling,
            folds=ask.folds, refit=refit, python=ask.python,
            dataset_name="breast_cancer")
        scores = classification_metrics(y_test, result.test_proba)
        numbers = sprint_numbers(result.sprint_statistics)
        accuracies.append(scores["test_acc"])
        print(f"{seed:>6} {scores['test_acc']:>9.4f} {scores['test_roc_auc']:>8.4f} "
              f"{numbers['runs']:>10.0f} {numbers['best_validation_score']:>9.4f} "
              f"{result.wall_seconds:>7.1f}", flush=True)
    if len(accuracies) > 1:
        print(f"\nmean {statistics.mean(accuracies):.4f} ± "
              f"{statistics.stdev(accuracies):.4f} over {len(accuracies)} seeds")


if __name__ == "__main__":
    main()
