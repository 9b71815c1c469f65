"""Shared generative evaluation: reference statistics and `evaluate_samples`."""

from genpipe.pipelines.evaluation.pipeline import (
    create_pipeline,
    evaluate_samples_pipeline,
)

__all__ = ["create_pipeline", "evaluate_samples_pipeline"]
