"""The `cyclegan` pipeline: family `cyclegan`, group `translation`; one
MLflow child run per variant (`cyclegan.cycle`, `cyclegan.no_cycle`: λ = 0),
one for the judge of G(MNIST) (`cyclegan.digits_classifier`), and the
comparison with the untranslated baselines in the run `cyclegan`.

    train_digits_classifier -> cyclegan.digits_classifier.model, ...test_metrics
    <variant>.train    -> cyclegan.<variant>.model, cyclegan.<variant>.train_metrics
    <variant>.evaluate -> cyclegan.<variant>.test_metrics,
                          cyclegan.<variant>.translations_plot
    compare            -> cyclegan.comparison, cyclegan.summary_metrics
"""

import warnings
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from genpipe.pipelines.cyclegan.nodes import (
    VARIANTS,
    compare_cyclegan,
    evaluate_cyclegan,
    train_cyclegan,
    train_digits_classifier,
)
from genpipe.tracking import run_tags

FAMILY, GROUP = "cyclegan", "translation"
SHARED = ["params:cyclegan", "params:seed", "params:device"]
JUDGES = ["mnist_test", "digits_test", "evaluator_model",
          "cyclegan.digits_classifier.model", "params:cyclegan", "params:evaluator",
          "params:evaluation", "params:seed", "params:device"]


def _bound(func, **kwargs):
    return update_wrapper(partial(func, **kwargs), func)


def create_pipeline(**kwargs) -> Pipeline:
    with warnings.catch_warnings():  # `cyclegan.<variant>.*` names runs' outputs
        warnings.filterwarnings("ignore", "One or more dataset names contain")
        return _pipeline()


def _pipeline() -> Pipeline:
    judge = f"{FAMILY}.digits_classifier"
    nodes = [Node(train_digits_classifier, ["digits_train", "digits_test", *SHARED],
                  [f"{judge}.model", f"{judge}.test_metrics"], name=f"{judge}.train",
                  tags=run_tags(FAMILY, GROUP, judge))]
    for variant in VARIANTS:
        ns = f"{FAMILY}.{variant}"
        tags = run_tags(FAMILY, GROUP, ns)
        nodes += [
            Node(_bound(train_cyclegan, variant=variant),
                 ["mnist_train", "digits_train", *SHARED],
                 [f"{ns}.model", f"{ns}.train_metrics"], name=f"{ns}.train",
                 tags=tags),
            Node(_bound(evaluate_cyclegan, variant=variant), [f"{ns}.model", *JUDGES],
                 [f"{ns}.test_metrics", f"{ns}.translations_plot"],
                 name=f"{ns}.evaluate", tags=tags)]
    nodes.append(Node(
        compare_cyclegan, [*(f"{FAMILY}.{v}.test_metrics" for v in VARIANTS), *JUDGES],
        ["cyclegan.comparison", "cyclegan.summary_metrics"], name="cyclegan.compare",
        tags=run_tags(FAMILY, GROUP)))
    return Pipeline(nodes)
