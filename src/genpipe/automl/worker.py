"""Runs auto-sklearn in its isolated Python 3.9 environment; a script, not a module.

    .venv-automl/bin/python worker.py WORKDIR

auto-sklearn 0.15 needs scikit-learn 0.24 and Python <= 3.9, so it cannot be
imported next to genpipe (Python 3.11). `genpipe.automl.bridge` writes the
inputs into WORKDIR and starts this script; it must not import genpipe.

Reads:  request.json (budgets, seed, feature names), X_train.npy, y_train.npy,
        X_test.npy.
Writes: result.json (versions, `sprint_statistics()`, the `cv_results_` rows,
        the ensemble with weights, timings) and test_proba.npy (P(class 1)).
Exit codes: 0 done, 3 auto-sklearn is not importable here, 1 anything else.
"""

import json
import sys
import time
from pathlib import Path

EXIT_NO_AUTOSKLEARN = 3


def _name(component) -> str:
    """The short name of a pipeline step (`random_forest`, `pca`, ...)."""
    choice = getattr(component, "choice", None)
    if choice is None:
        return type(component).__name__
    return type(choice).__module__.rsplit(".", 1)[-1]


def _plain(value):
    """A JSON-safe copy of numpy scalars, arrays and nested containers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _cv_rows(automl) -> list:
    cv = automl.cv_results_
    rows = []
    for i in range(len(cv["mean_test_score"])):
        rows.append({
            "rank": int(cv["rank_test_scores"][i]),
            "mean_test_score": float(cv["mean_test_score"][i]),
            "mean_fit_time": float(cv["mean_fit_time"][i]),
            "status": str(cv["status"][i]),
            "classifier": str(cv["param_classifier:__choice__"][i]),
            "feature_preprocessor": str(cv["param_feature_preprocessor:__choice__"][i]),
            "balancing": str(cv["param_balancing:strategy"][i]),
        })
    return rows


def _ensemble_rows(automl) -> tuple:
    rows = []
    for model_id, entry in automl.show_models().items():
        # cv: one fitted pipeline per fold, all of the same configuration
        parts = entry["estimators"][0] if "estimators" in entry else entry
        rows.append({
            "model_id": int(model_id),
            "rank": int(entry["rank"]),
            "ensemble_weight": float(entry["ensemble_weight"]),
            "cost": float(entry["cost"]),
            "classifier": _name(parts["classifier"]),
            "feature_preprocessor": _name(parts["feature_preprocessor"]),
            "data_preprocessor": _name(parts["data_preprocessor"]),
        })
    rows.sort(key=lambda row: (row["rank"], row["model_id"]))
    weights = [{"weight": float(weight), "config": _plain(dict(model.config))}
               for weight, model in automl.get_models_with_weights()]
    return rows, weights


def main(workdir: Path) -> int:
    request = json.loads((workdir / "request.json").read_text())
    try:
        import autosklearn
        import autosklearn.classification
        import numpy as np
        import sklearn
    except ImportError as error:
        sys.stderr.write(f"auto-sklearn is not importable by {sys.executable}: "
                         f"{error}\n")
        return EXIT_NO_AUTOSKLEARN

    X_train = np.load(workdir / "X_train.npy")
    y_train = np.load(workdir / "y_train.npy")
    X_test = np.load(workdir / "X_test.npy")
    automl = autosklearn.classification.AutoSklearnClassifier(
        time_left_for_this_task=request["time_left_for_this_task"],
        per_run_time_limit=request["per_run_time_limit"],
        memory_limit=request["memory_limit_mb"],
        n_jobs=request["n_jobs"],
        ensemble_kwargs={"ensemble_size": request["ensemble_size"]},
        seed=request["seed"],
        resampling_strategy=request.get("resampling_strategy", "holdout"),
        resampling_strategy_arguments=request.get("resampling_strategy_arguments"),
        tmp_folder=str(workdir / "autosklearn_tmp"),
        delete_tmp_folder_after_terminate=True,
    )
    start = time.perf_counter()
    automl.fit(X_train, y_train, dataset_name=request.get("dataset_name", "data"),
               feat_type=["Numerical"] * X_train.shape[1])
    fit_seconds = time.perf_counter() - start
    refit_seconds = 0.0
    if request.get("refit"):
        # holdout fitted each member on 67% of the rows, cv once per fold
        start = time.perf_counter()
        automl.refit(X_train, y_train)
        refit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    proba = automl.predict_proba(X_test)[:, 1]
    predict_seconds = time.perf_counter() - start
    np.save(workdir / "test_proba.npy", proba.astype(np.float64))
    ensemble, weights = _ensemble_rows(automl)
    result = {
        "versions": {"python": sys.version.split()[0],
                     "autosklearn": autosklearn.__version__,
                     "sklearn": sklearn.__version__, "numpy": np.__version__},
        "sprint_statistics": automl.sprint_statistics(),
        "cv_results": _cv_rows(automl),
        "ensemble": ensemble,
        "models_with_weights": weights,
        "fit_seconds": fit_seconds,
        "refit_seconds": refit_seconds,
        "predict_seconds": predict_seconds,
    }
    (workdir / "result.json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
