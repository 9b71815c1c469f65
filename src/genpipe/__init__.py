"""genpipe: reproducible Kedro + MLflow + DVC pipelines for a course on modern ML."""

import os

# Nothing may prompt or phone home, however genpipe is started (kedro, dvc
# repro, a notebook): CI has no stdin and no network. Explicit settings win.
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # only "true" counts

__version__ = "0.1.0"
