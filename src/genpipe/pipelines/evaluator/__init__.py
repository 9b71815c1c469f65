"""Train the MNIST classifier that scores generative models (FID/IS features)."""

from genpipe.pipelines.evaluator.pipeline import create_pipeline

__all__ = ["create_pipeline"]
