"""Domain-adversarial training, MNIST -> scikit-learn digits, between its
source-only and target-trained bounds (`genpipe.models.dann`)."""

from genpipe.pipelines.dann.pipeline import create_pipeline

__all__ = ["create_pipeline"]
