"""Ingest MNIST, Cora, Breast Cancer and scikit-learn's digits into verified,
split Kedro datasets."""

from genpipe.pipelines.data_ingestion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
