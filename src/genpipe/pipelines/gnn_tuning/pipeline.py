"""The `gnn_tuning` pipeline."""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.gnn_tuning.nodes import tune_gnn
from genpipe.tracking import run_tags


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(tune_gnn, ["cora_graph", "params:gnn_tuning", "params:seed",
                        "params:device"],
             ["gnn_tuning_best_params", "gnn_tuning_trials",
              "gnn_tuning_history_plot", "gnn_tuning_metrics"],
             name="tune_gnn_node", tags=run_tags("gnn_tuning", "graph")),
    ])
