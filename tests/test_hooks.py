"""Project hooks and settings: the runner tag, the silenced MLflow warning."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import mlflow
from kedro.runner import SequentialRunner

from genpipe.hooks import MLFLOW_PREDICT_HINT, GenpipeHooks, runner_name
from tests.conftest import ROOT

MLFLOW_TEXT = (
    "/venv/lib/python3.11/site-packages/mlflow/pyfunc/utils/data_validation.py:187:"
    " UserWarning: \x1b[33mAdd type hints to the `predict` method to enable data"
    " validation and automatic signature inference during model logging.\x1b[0m")


def test_runner_name_is_the_class_name():
    # Kedro's run_params["runner"]: str() of the instance the CLI made.
    assert runner_name(str(SequentialRunner())) == "SequentialRunner"
    assert runner_name("<my.pkg.MyRunner object at 0x7FA1>") == "MyRunner"
    assert runner_name("ParallelRunner") == "ParallelRunner"  # a class: its __name__


def test_the_run_is_tagged_with_the_runner_class_after_kedro_mlflow():
    with mlflow.start_run() as run:
        run_params = {"runner": str(SequentialRunner()), "env": "ci"}
        mlflow.set_tags({k: v for k, v in run_params.items() if v})  # kedro-mlflow
        GenpipeHooks().before_pipeline_run(run_params)
    tags = mlflow.get_run(run.info.run_id).data.tags
    assert tags["runner"] == "SequentialRunner"


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("py.warnings", logging.WARNING, __file__, 1, message,
                             None, None)


def test_the_filter_drops_only_mlflows_type_hint_warning():
    assert not MLFLOW_PREDICT_HINT.filter(_record(MLFLOW_TEXT))
    windows = MLFLOW_TEXT.replace("/", "\\")
    assert not MLFLOW_PREDICT_HINT.filter(_record(windows))
    # The same words from another module, and other MLflow warnings, stay.
    other_module = MLFLOW_TEXT.replace("data_validation.py", "elsewhere.py")
    assert MLFLOW_PREDICT_HINT.filter(_record(other_module))
    assert MLFLOW_PREDICT_HINT.filter(_record(MLFLOW_TEXT.replace("Add type", "Fix")))


# Kedro's logging sends warnings to `py.warnings`; kedro-mlflow's
# KedroPipelineModel is created on import (its CLI commands, its hooks).
PROBE = textwrap.dedent("""
    import logging, sys
    import kedro.framework.project  # Kedro's logging: warnings -> py.warnings
    if sys.argv[1] == "settings":
        import genpipe.settings
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logging.getLogger("py.warnings").addHandler(handler)
    import kedro_mlflow.framework.cli.cli
    print("HINTS", sum("type hints to the `predict`" in m for m in seen))
""")


def _hints_logged(settings: bool) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "settings" if settings else "bare"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)
    return int(out.stdout.split("HINTS")[-1])


def test_kedro_mlflow_import_logs_no_type_hint_warning_under_the_settings():
    assert _hints_logged(settings=False) == 1  # the warning this silences
    assert _hints_logged(settings=True) == 0
