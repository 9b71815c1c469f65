"""Kedro pipelines: glue only; the work lives in genpipe.data, .models, .training."""
