"""The `gnn` pipeline: one namespace per model over a shared template."""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.gnn.nodes import draw_subgraph, plot_gnn, train_gnn
from genpipe.tracking import run_tags

MODELS = ("gcn", "gat")  # each has a `<name>.model` parameters block


def _model_pipeline(namespace: str) -> Pipeline:
    template = Pipeline([
        Node(train_gnn,
             ["cora_graph", "params:model", "params:gnn", "params:seed",
              "params:device"],
             ["model", "metrics", "seed_results", "history"], name="train_gnn_node"),
        Node(plot_gnn,
             ["model", "history", "cora_graph", "params:model", "params:gnn",
              "params:seed"],
             ["tsne_plot", "curves_plot"], name="plot_gnn_node"),
    ], tags=run_tags(namespace, "graph"))
    return Pipeline(template, namespace=namespace, inputs={"cora_graph"},
                    parameters={"params:gnn", "params:seed", "params:device"})


def create_pipeline(**kwargs) -> Pipeline:
    subgraph = Pipeline([
        Node(draw_subgraph, ["cora_graph", "params:gnn", "params:seed"],
             "cora_subgraph_plot", name="draw_subgraph_node"),
    ])
    return sum((_model_pipeline(name) for name in MODELS), subgraph)
