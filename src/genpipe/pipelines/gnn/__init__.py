"""GCN and GAT on Cora: multi-seed evaluation, embeddings and graph plots."""

from genpipe.pipelines.gnn.pipeline import create_pipeline

__all__ = ["create_pipeline"]
