"""auto-sklearn from Python 3.11: a subprocess in its own Python 3.9 environment.

auto-sklearn 0.15 (Feurer et al., 2015, "Efficient and Robust Automated
Machine Learning") needs scikit-learn 0.24 and Python <= 3.9, so it lives in
`.venv-automl` (`make automl-env`), never in genpipe's environment. The bridge
writes the data as `.npy` files into a temporary folder, runs `worker.py` with
that interpreter under a wall-clock limit, and reads back `result.json` and
the test probabilities.

The interpreter is, in order: the `automl.autosklearn.python` parameter, the
environment variable `GENPIPE_AUTOSKLEARN_PYTHON`, then `.venv-automl/bin/python`
in the working directory (the project root under `kedro run`) or beside the
running environment (`<sys.prefix>/../.venv-automl`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

ENV_VAR = "GENPIPE_AUTOSKLEARN_PYTHON"
VENV = ".venv-automl"
WORKER = Path(__file__).with_name("worker.py")
EXIT_NO_AUTOSKLEARN = 3  # worker.py's code for "auto-sklearn is not importable"
HOW_TO = (f"Create it with `make automl-env` (a Python 3.9 venv in {VENV}/ at the "
          f"project root), or point the parameter automl.autosklearn.python or "
          f"the environment variable {ENV_VAR} at a Python 3.9 interpreter that "
          f"has auto-sklearn 0.15 installed.")


class AutoSklearnUnavailableError(RuntimeError):
    """No usable Python interpreter with auto-sklearn was found."""


class AutoSklearnRunError(RuntimeError):
    """The auto-sklearn subprocess failed or ran past its wall-clock limit."""


@dataclass(frozen=True)
class AutoSklearnResult:
    """What one auto-sklearn search brings back.

    Attributes:
        test_proba: P(class 1) of the final ensemble for every test row.
        sprint_statistics: `AutoSklearnClassifier.sprint_statistics()`.
        cv_results: One dict per pipeline tried (`cv_results_`: rank,
            mean_test_score, mean_fit_time, status, classifier, ...).
        ensemble: One dict per ensemble member (`show_models()`: model_id,
            rank, ensemble_weight, cost, classifier, preprocessors).
        models_with_weights: `get_models_with_weights()` as (weight,
            configuration dict) entries.
        versions: Python, auto-sklearn, scikit-learn, numpy of the subprocess.
        fit_seconds: auto-sklearn's `fit` (search + ensemble building).
        refit_seconds: `refit` on the whole training split (0 without it).
        wall_seconds: The whole subprocess, start-up and prediction included.
    """

    test_proba: np.ndarray
    sprint_statistics: str
    cv_results: list[dict]
    ensemble: list[dict]
    models_with_weights: list[dict]
    versions: dict[str, str]
    fit_seconds: float
    refit_seconds: float
    wall_seconds: float


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _candidates(configured: str | None) -> list[tuple[str, Path]]:
    if configured:
        return [("parameter automl.autosklearn.python", Path(configured))]
    if os.environ.get(ENV_VAR):
        return [(f"${ENV_VAR}", Path(os.environ[ENV_VAR]))]
    return [(f"{VENV} search", Path.cwd() / VENV / "bin" / "python"),
            (f"{VENV} search", Path(sys.prefix).parent / VENV / "bin" / "python")]


def find_python(configured: str | None = None) -> Path:
    """The auto-sklearn interpreter (see the module docstring for the order).

    An explicitly configured interpreter (parameter or environment variable)
    that does not exist is an error, never a silent fallback to the search.

    Raises:
        AutoSklearnUnavailableError: Nothing executable was found; the message
            lists what was tried and how to create the environment.
    """
    tried = []
    for origin, path in _candidates(configured):
        if path.is_file() and os.access(path, os.X_OK):
            return path
        tried.append(f"{path} ({origin})")
    raise AutoSklearnUnavailableError(
        "No auto-sklearn interpreter found; tried: " + "; ".join(tried) + ". "
        + HOW_TO)


def run_autosklearn(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                    *, time_left_for_this_task: int, per_run_time_limit: int,
                    seed: int, memory_limit_mb: int = 3072, n_jobs: int = 1,
                    ensemble_size: int = 50, grace_s: int = 180,
                    resampling_strategy: str = "holdout", folds: int = 5,
                    refit: bool = False, python: str | Path | None = None,
                    dataset_name: str = "data") -> AutoSklearnResult:
    """Runs an `AutoSklearnClassifier` search in the isolated environment.

    Args:
        X_train, y_train: Training features and integer labels.
        X_test: Test features (their labels never leave this process).
        time_left_for_this_task: auto-sklearn's whole budget, seconds (>= 30).
        per_run_time_limit: The limit of one pipeline's fit, seconds.
        seed: auto-sklearn's seed (SMAC's and the pipelines').
        memory_limit_mb: Per pipeline fit.
        n_jobs: Parallel pipeline fits.
        ensemble_size: Rounds of Caruana et al.'s greedy ensemble selection.
        resampling_strategy: How auto-sklearn scores a pipeline: `holdout`
            (its default, a 67/33 split of the training data) or `cv`
            (`folds`-fold cross-validation; the ensemble averages fold models).
        refit: After the search, refit the ensemble's pipelines on all of
            `X_train` (`AutoSklearnClassifier.refit`); under holdout each was
            fitted on 67% of it, under cv once per fold.
        grace_s: The subprocess is killed this long after the budget ran out.
        python: The interpreter; None searches (see `find_python`).
        dataset_name: Shown in `sprint_statistics()`.

    Raises:
        AutoSklearnUnavailableError: No interpreter, or auto-sklearn missing in it.
        AutoSklearnRunError: The search failed or overran; the message carries
            the end of its output.
    """
    interpreter = find_python(str(python) if python else None)
    request = {"time_left_for_this_task": time_left_for_this_task,
               "per_run_time_limit": per_run_time_limit, "seed": seed,
               "memory_limit_mb": memory_limit_mb, "n_jobs": n_jobs,
               "ensemble_size": ensemble_size, "dataset_name": dataset_name,
               "resampling_strategy": resampling_strategy, "refit": refit,
               "resampling_strategy_arguments":
                   {"folds": folds} if resampling_strategy == "cv" else None}
    limit = time_left_for_this_task + grace_s
    with tempfile.TemporaryDirectory(prefix="genpipe-autosklearn-") as tmp:
        workdir = Path(tmp)
        np.save(workdir / "X_train.npy", np.asarray(X_train, dtype=np.float64))
        np.save(workdir / "y_train.npy", np.asarray(y_train, dtype=np.int64))
        np.save(workdir / "X_test.npy", np.asarray(X_test, dtype=np.float64))
        (workdir / "request.json").write_text(json.dumps(request))
        logger.info("auto-sklearn: %d s budget, %d s per run, with %s",
                    time_left_for_this_task, per_run_time_limit, interpreter)
        # The worker imports nothing of genpipe: a clean environment for 3.9.
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        log = workdir / "worker.log"
        start = time.perf_counter()
        # Output to a file, in a session of its own: on a timeout the whole
        # process group (auto-sklearn's workers included) is killed.
        with log.open("w") as out, subprocess.Popen(
                [str(interpreter), str(WORKER), str(workdir)], stdout=out,
                stderr=subprocess.STDOUT, env=env, cwd=workdir,
                start_new_session=True) as process:
            try:
                returncode = process.wait(timeout=limit)
            except subprocess.TimeoutExpired as error:
                _kill_group(process)
                raise AutoSklearnRunError(
                    f"auto-sklearn ran past {limit} s (budget "
                    f"{time_left_for_this_task} s + grace {grace_s} s) and was "
                    f"killed; its output ended with:\n{_tail(log)}") from error
            except BaseException:  # e.g. Ctrl-C: leave no search running
                _kill_group(process)
                raise
        wall = time.perf_counter() - start
        if returncode == EXIT_NO_AUTOSKLEARN:
            raise AutoSklearnUnavailableError(f"{_tail(log).strip()}. {HOW_TO}")
        if returncode != 0:
            raise AutoSklearnRunError(
                f"auto-sklearn ({interpreter}) exited with {returncode}; its "
                f"output ended with:\n{_tail(log)}")
        result = json.loads((workdir / "result.json").read_text())
        proba = np.load(workdir / "test_proba.npy")
    return AutoSklearnResult(
        test_proba=proba, sprint_statistics=result["sprint_statistics"],
        cv_results=result["cv_results"], ensemble=result["ensemble"],
        models_with_weights=result["models_with_weights"],
        versions=result["versions"], fit_seconds=float(result["fit_seconds"]),
        refit_seconds=float(result["refit_seconds"]),
        wall_seconds=wall)


def sprint_numbers(statistics: str) -> dict[str, float]:
    """The counts and best score in `sprint_statistics()` as numbers.

    Lines read e.g. ``Number of successful target algorithm runs: 6``; they
    become ``successful_runs: 6.0``.
    """
    names = {"Best validation score": "best_validation_score",
             "Number of target algorithm runs": "runs",
             "Number of successful target algorithm runs": "successful_runs",
             "Number of crashed target algorithm runs": "crashed_runs",
             "Number of target algorithms that exceeded the time limit":
                 "timeout_runs",
             "Number of target algorithms that exceeded the memory limit":
                 "memout_runs"}
    numbers = {}
    for line in statistics.splitlines():
        label, _, value = line.strip().partition(":")
        if label in names:
            numbers[names[label]] = float(value)
    return numbers
