"""The `bayes` pipeline: one node per item, each tagged with its MLflow family
(`family.<item>`, one MLflow child run each) and `group.bayes`."""

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.bayes import nodes
from genpipe.tracking import run_tags

# item: (node function, parameters block)
ITEMS = {
    "mle_map": (nodes.compare_mle_map, "mle_map"),
    "conjugacy": (nodes.update_conjugate_posteriors, "conjugacy"),
    "rejection": (nodes.sample_by_rejection, "rejection"),
    "importance": (nodes.estimate_by_importance_sampling, "importance"),
    "mcmc_gamma": (nodes.sample_gamma_posterior, "mcmc"),
    "mcmc_mixture": (nodes.sample_mixture, "mcmc"),
    "em": (nodes.label_crowd_with_em, "em"),
    "evidence": (nodes.maximise_evidence, "evidence"),
}


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(func, [f"params:bayes.{block}", "params:seed"],
             [f"bayes_{item}_table", f"bayes_{item}_checks", f"bayes_{item}_plot",
              f"bayes_{item}_metrics", f"bayes_{item}_scores"],
             name=f"{func.__name__}_node", tags=run_tags(item, "bayes"))
        for item, (func, block) in ITEMS.items()
    ])
