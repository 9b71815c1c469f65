"""The `dann` pipeline: one MLflow child run per mode (`dann.source_only`,
`dann.adapted`, `dann.target_only`: family `dann`, group `adaptation`) with
plain keys (`target_acc`, `source_acc`, `domain_probe_acc`, `domain_acc`,
`train_seconds`), and the comparison in the run `dann`.

    train_<mode>    -> dann.<mode>.model, dann.<mode>.train_metrics
    evaluate_<mode> -> dann.<mode>.test_metrics
    compare         -> dann.comparison, dann.tsne_plot, dann.summary_metrics
"""

import warnings
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from genpipe.models.dann import MODES
from genpipe.pipelines.dann.nodes import compare_dann, evaluate_dann, train_dann
from genpipe.tracking import run_tags

FAMILY, GROUP = "dann", "adaptation"
SHARED = ["params:dann", "params:seed", "params:device"]


def _bound(func, **kwargs):
    return update_wrapper(partial(func, **kwargs), func)


def create_pipeline(**kwargs) -> Pipeline:
    with warnings.catch_warnings():  # `dann.<mode>.*` names its runs' outputs
        warnings.filterwarnings("ignore", "One or more dataset names contain")
        return _pipeline()


def _pipeline() -> Pipeline:
    nodes = []
    for mode in MODES:
        ns = f"{FAMILY}.{mode}"
        tags = run_tags(FAMILY, GROUP, ns)
        nodes += [
            Node(_bound(train_dann, mode=mode), ["mnist_train", "digits_train",
                                                 *SHARED],
                 [f"{ns}.model", f"{ns}.train_metrics"], name=f"{ns}.train",
                 tags=tags),
            Node(_bound(evaluate_dann, mode=mode),
                 [f"{ns}.model", "mnist_test", "digits_test", *SHARED],
                 f"{ns}.test_metrics", name=f"{ns}.evaluate", tags=tags)]
    nodes.append(Node(
        compare_dann, [*(f"{FAMILY}.{mode}.test_metrics" for mode in MODES),
                       f"{FAMILY}.source_only.model", f"{FAMILY}.adapted.model",
                       "mnist_test", "digits_test", *SHARED],
        ["dann.comparison", "dann.tsne_plot", "dann.summary_metrics"],
        name="dann.compare", tags=run_tags(FAMILY, GROUP)))
    return Pipeline(nodes)
