"""Optuna tuning of the Cora GNNs with the shared tuning machinery."""

from genpipe.pipelines.gnn_tuning.pipeline import create_pipeline

__all__ = ["create_pipeline"]
