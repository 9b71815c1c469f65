"""The `evaluator` pipeline."""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.evaluator.nodes import evaluate_evaluator, train_evaluator
from genpipe.tracking import run_tags


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(train_evaluator,
             ["mnist_train", "mnist_val", "params:evaluator", "params:seed",
              "params:device"],
             "evaluator_model", name="train_evaluator_node"),
        Node(evaluate_evaluator,
             ["evaluator_model", "mnist_test", "params:evaluator", "params:device"],
             ["evaluator_metrics", "evaluator_confusion_matrix"],
             name="evaluate_evaluator_node"),
    ], tags=run_tags("evaluator", "reference"))
