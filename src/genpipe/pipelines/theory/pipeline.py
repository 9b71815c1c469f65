"""The `theory` pipeline: one node per demo, each tagged with its MLflow family
(`family.<demo>`, one child run each) and `group.theory`. The closed-form demos
need nothing; `gan_gradient` and `ksparse` read the ingested MNIST splits."""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.theory import nodes
from genpipe.tracking import run_tags

DEMOS = {
    "entropy": nodes.compute_entropies,
    "divergences": nodes.compare_divergences,
    "kl_fit": nodes.fit_forward_and_reverse_kl,
    "nash": nodes.play_bilinear_game,
    "sparse_kl": nodes.trace_sparsity_penalty,
}

OUTPUTS = ("table", "checks", "plot", "metrics", "scores")


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(func, f"params:theory.{demo}",
             [f"theory_{demo}_{part}" for part in OUTPUTS],
             name=f"{func.__name__}_node", tags=run_tags(demo, "theory"))
        for demo, func in DEMOS.items()
    ] + [Node(nodes.trace_generator_gradients,
              ["mnist_train", "params:theory.gan_gradient", "params:seed"],
              [f"theory_gan_gradient_{part}" for part in OUTPUTS],
              name="trace_generator_gradients_node",
              tags=run_tags("gan_gradient", "theory")),
         Node(nodes.sweep_ksparse_filters,
              ["mnist_train", "mnist_test", "params:theory.ksparse", "params:seed",
               "params:device"],
              [f"theory_ksparse_{part}" for part in OUTPUTS],
              name="sweep_ksparse_filters_node",
              tags=run_tags("ksparse_filters", "theory"))])
