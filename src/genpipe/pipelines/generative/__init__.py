"""The `generative` pipeline: one namespace per family over a shared template."""

from genpipe.pipelines.generative.pipeline import create_pipeline, family_pipelines

__all__ = ["create_pipeline", "family_pipelines"]
