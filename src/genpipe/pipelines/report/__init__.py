"""The `report` pipeline: the trilemma table, figure and summary."""

from genpipe.pipelines.report.pipeline import create_pipeline

__all__ = ["create_pipeline"]
