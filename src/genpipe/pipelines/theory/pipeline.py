"""The `theory` pipeline: one node per demo, each tagged with its MLflow family
(`family.<demo>`, one child run each) and `group.theory`."""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.theory import nodes

DEMOS = {
    "entropy": nodes.compute_entropies,
    "divergences": nodes.compare_divergences,
    "kl_fit": nodes.fit_forward_and_reverse_kl,
    "nash": nodes.play_bilinear_game,
    "sparse_kl": nodes.trace_sparsity_penalty,
}


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(func, f"params:theory.{demo}",
             [f"theory_{demo}_table", f"theory_{demo}_checks",
              f"theory_{demo}_plot", f"theory_{demo}_metrics",
              f"theory_{demo}_scores"],
             name=f"{func.__name__}_node", tags=[f"family.{demo}", "group.theory"])
        for demo, func in DEMOS.items()
    ])
