"""The `data_ingestion` pipeline."""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.data_ingestion.nodes import (
    ingest_breast_cancer,
    ingest_cora,
    ingest_digits,
    ingest_mnist,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(ingest_mnist, ["params:data_ingestion", "params:seed"],
             ["mnist_train", "mnist_val", "mnist_test", "mnist_metrics"],
             name="ingest_mnist_node"),
        Node(ingest_cora, "params:data_ingestion", ["cora_graph", "cora_metrics"],
             name="ingest_cora_node"),
        Node(ingest_breast_cancer, "params:data_ingestion",
             ["breast_cancer_train", "breast_cancer_test", "breast_cancer_metrics"],
             name="ingest_breast_cancer_node"),
        Node(ingest_digits, ["params:data_ingestion", "params:seed"],
             ["digits_train", "digits_test", "digits_metrics"],
             name="ingest_digits_node"),
    ])
