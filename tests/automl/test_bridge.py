"""The auto-sklearn bridge: interpreter discovery, failures, and a real run."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from genpipe.automl import bridge
from genpipe.automl.bridge import (
    AutoSklearnRunError,
    AutoSklearnUnavailableError,
    find_python,
    run_autosklearn,
    sprint_numbers,
)

STATISTICS = """auto-sklearn results:
  Dataset name: breast_cancer
  Metric: accuracy
  Best validation score: 0.977273
  Number of target algorithm runs: 10
  Number of successful target algorithm runs: 8
  Number of crashed target algorithm runs: 1
  Number of target algorithms that exceeded the time limit: 1
  Number of target algorithms that exceeded the memory limit: 0
"""


def executable(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No $GENPIPE_AUTOSKLEARN_PYTHON, nothing beside the running environment."""
    monkeypatch.delenv(bridge.ENV_VAR, raising=False)
    monkeypatch.setattr(bridge.sys, "prefix", str(tmp_path / "env" / ".venv"))
    monkeypatch.chdir(tmp_path)


def test_sprint_statistics_numbers():
    assert sprint_numbers(STATISTICS) == {
        "best_validation_score": 0.977273, "runs": 10.0, "successful_runs": 8.0,
        "crashed_runs": 1.0, "timeout_runs": 1.0, "memout_runs": 0.0}


def test_discovery_order_parameter_then_variable_then_search(no_env, tmp_path,
                                                            monkeypatch):
    searched = executable(tmp_path / ".venv-automl/bin/python", "exit 0")
    assert find_python() == searched  # .venv-automl in the working directory
    variable = executable(tmp_path / "var/python", "exit 0")
    monkeypatch.setenv(bridge.ENV_VAR, str(variable))
    assert find_python() == variable
    parameter = executable(tmp_path / "param/python", "exit 0")
    assert find_python(str(parameter)) == parameter


def test_search_also_looks_beside_the_running_environment(no_env, tmp_path):
    beside = executable(tmp_path / "env/.venv-automl/bin/python", "exit 0")
    assert find_python() == beside


def test_missing_interpreter_says_how_to_create_it(no_env, tmp_path, monkeypatch):
    with pytest.raises(AutoSklearnUnavailableError,
                       match=r"(?s)tried: .*\.venv-automl/bin/python.*make automl-env"):
        find_python()
    # an explicit choice that does not exist is an error, not a fallback
    executable(tmp_path / ".venv-automl/bin/python", "exit 0")
    monkeypatch.setenv(bridge.ENV_VAR, str(tmp_path / "nowhere/python"))
    with pytest.raises(AutoSklearnUnavailableError,
                       match=r"nowhere/python \(\$GENPIPE_AUTOSKLEARN_PYTHON\)"):
        find_python()


def _run(python: Path, **kwargs):
    X = np.zeros((4, 2))
    return run_autosklearn(X, np.array([0, 1, 0, 1]), X, seed=0, python=python,
                           **{"time_left_for_this_task": 30,
                              "per_run_time_limit": 10, **kwargs})


def test_interpreter_without_autosklearn_is_reported_as_unavailable(tmp_path):
    python = executable(tmp_path / "python",
                        "echo 'auto-sklearn is not importable by x' >&2; exit 3")
    with pytest.raises(AutoSklearnUnavailableError,
                       match="not importable by x. Create it with `make automl-env`"):
        _run(python)


def test_failing_search_carries_its_output(tmp_path):
    python = executable(tmp_path / "python", "echo 'Traceback: boom'; exit 1")
    with pytest.raises(AutoSklearnRunError, match=r"(?s)exited with 1.*boom"):
        _run(python)


@pytest.mark.parametrize(("strategy", "arguments", "refit"),
                         [("holdout", None, True), ("cv", {"folds": 3}, False)])
def test_the_request_carries_the_resampling_strategy(tmp_path, strategy, arguments,
                                                     refit):
    # A stand-in interpreter that keeps the request it was given, then fails.
    kept = tmp_path / "request.json"
    python = executable(tmp_path / "python", f'cp "$2/request.json" {kept}; exit 1')
    with pytest.raises(AutoSklearnRunError):
        _run(python, resampling_strategy=strategy, folds=3, refit=refit)
    request = json.loads(kept.read_text())
    assert request["resampling_strategy"] == strategy
    assert request["resampling_strategy_arguments"] == arguments
    assert request["refit"] is refit


def test_overrunning_search_is_killed(tmp_path):
    python = executable(tmp_path / "python", "echo started; exec sleep 60")
    with pytest.raises(AutoSklearnRunError,
                       match=r"(?s)ran past 2 s \(budget 1 s \+ grace 1 s\).*started"):
        _run(python, time_left_for_this_task=1, grace_s=1)


@pytest.mark.slow
@pytest.mark.parametrize(("resampling", "refit"), [("holdout", True), ("cv", False)])
def test_real_autosklearn_run_in_the_isolated_environment(resampling, refit):
    """Needs `make automl-env` (make test builds it): fails, never skips. With
    `cv`, auto-sklearn describes each ensemble member per fold; `refit` fits
    the ensemble's pipelines again on all training rows."""
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=42, stratify=y)
    result = run_autosklearn(X_train, y_train, X_test, time_left_for_this_task=30,
                             per_run_time_limit=10, seed=1,
                             resampling_strategy=resampling, folds=3, refit=refit)
    assert result.versions["python"].startswith("3.9.")
    assert result.versions["autosklearn"] == "0.15.0"
    assert result.test_proba.shape == (len(y_test),)
    assert ((result.test_proba >= 0) & (result.test_proba <= 1)).all()
    assert ((result.test_proba >= 0.5) == y_test).mean() > 0.9
    numbers = sprint_numbers(result.sprint_statistics)
    assert numbers["runs"] == len(result.cv_results) >= 1
    assert numbers["successful_runs"] == sum(
        row["status"] == "Success" for row in result.cv_results)
    weights = [member["ensemble_weight"] for member in result.ensemble]
    assert sum(weights) == pytest.approx(1.0)
    assert sorted(w["weight"] for w in result.models_with_weights) == sorted(weights)
    assert (result.refit_seconds > 0) is refit
    busy = result.fit_seconds + result.refit_seconds
    assert 0 < busy < result.wall_seconds < 30 + 180
