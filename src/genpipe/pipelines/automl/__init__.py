"""Optuna-tuned XGBoost and auto-sklearn on Breast Cancer, against the default."""

from genpipe.pipelines.automl.pipeline import create_pipeline

__all__ = ["create_pipeline"]
