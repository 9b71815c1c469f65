"""XGBoost on Breast Cancer, explained with SHAP, its own importances, LIME and
Integrated Gradients."""

from genpipe.pipelines.xai.pipeline import create_pipeline

__all__ = ["create_pipeline"]
