"""What each explanation costs on the course's Breast Cancer split, and what the
auto-sklearn bridge adds to auto-sklearn's own time.

    python benchmarks/bench_tabular.py [--repeats 3] [--autosklearn]

In-process timings (median of the repeats) of the library calls the `xai`
pipeline makes: the XGBoost fit, TreeSHAP on the 171 test rows, LIME for one
patient (5000 perturbations), Integrated Gradients (100 steps) on the 171 rows.
With `--autosklearn`, one 30 s auto-sklearn search through the bridge: its
wall time against auto-sklearn's own `fit`, i.e. the cost of a separate
Python 3.9 process (start-up, imports, files in and out, prediction).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from genpipe.automl import run_autosklearn
from genpipe.config import XGBoostConfig
from genpipe.data.breast_cancer import load_frame, stratified_split
from genpipe.data.tabular import feature_names, features_and_target
from genpipe.explain import gradients, lime_tabular, tree_shap
from genpipe.models.xgb import fit_classifier


def _median_seconds(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--autosklearn", action="store_true")
    args = parser.parse_args()
    train, test = stratified_split(load_frame(), 0.3, 42)
    names = feature_names(train)
    X_train, y_train = features_and_target(train, names, "train")
    X_test, y_test = features_and_target(test, names, "test")
    params = XGBoostConfig().model_dump()
    model, _ = fit_classifier(X_train, y_train, params, 42, names)
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(30, 32), torch.nn.ReLU(),
                              torch.nn.Linear(32, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 1), torch.nn.Flatten(0))
    Z_test = (X_test - X_train.mean(0)) / X_train.std(0)
    rows = [
        ("XGBoost fit (100 trees, 398 rows)",
         lambda: fit_classifier(X_train, y_train, params, 42, names)),
        ("TreeSHAP, 171 test rows + local-accuracy check",
         lambda: tree_shap.check_local_accuracy(
             model, tree_shap.tree_shap(model, X_test, names), X_test, 1e-4)),
        ("LIME, 1 patient, 5000 perturbations",
         lambda: lime_tabular.explain_row(model.predict_proba, X_train, X_test[0],
                                          names, ["m", "b"], 10, 5000, 0)),
        ("Integrated Gradients, 171 rows x 100 steps (MLP)",
         lambda: gradients.integrated_gradients(mlp, Z_test, np.zeros(30), 100)),
    ]
    print(f"\nExplanations on Breast Cancer (median of {args.repeats})")
    print(f"{'':<52} {'wall s':>8}")
    for name, call in rows:
        print(f"{name:<52} {_median_seconds(call, args.repeats):>8.3f}")
    if args.autosklearn:
        result = run_autosklearn(X_train, y_train, X_test, time_left_for_this_task=30,
                                 per_run_time_limit=10, seed=42)
        accuracy = float(((result.test_proba >= 0.5) == y_test).mean())
        print("\nauto-sklearn through the bridge (30 s budget, one run)")
        print(f"{'auto-sklearn fit (search + ensemble)':<52} "
              f"{result.fit_seconds:>8.2f}")
        print(f"{'bridge subprocess, wall':<52} {result.wall_seconds:>8.2f}")
        print(f"{'overhead (start-up, imports, I/O, predict)':<52} "
              f"{result.wall_seconds - result.fit_seconds:>8.2f}")
        print(f"{'test accuracy':<52} {accuracy:>8.4f}")


if __name__ == "__main__":
    main()
