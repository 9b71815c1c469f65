"""`progan` through the generative template (in-memory catalog): trained in
three phases, scored under the shared protocol."""

from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from genpipe.pipelines.evaluation.nodes import compute_reference_stats
from genpipe.pipelines.generative import family_pipelines
from genpipe.pipelines.generative.pipeline import scored_namespaces
from tests.helpers.images import EVALUATION, EVALUATOR, bar_split, evaluator_weights


def _catalog(tmp_path) -> DataCatalog:
    weights, train = evaluator_weights(), bar_split(96, 0)
    block = {"model": {"channels": 4, "latent_dim": 8, "d_steps": 2},
             "data": {"batch_size": 32},
             "trainer": {"max_epochs": 3, "checkpoint_dir": str(tmp_path / "ckpt"),
                         "progress_bar": False, "log_every_n_steps": 1},
             "snapshot_samples": 10}
    catalog = DataCatalog()
    for name, value in {"mnist_train": train, "mnist_val": bar_split(32, 1),
                        "mnist_test": bar_split(32, 2), "params:progan": block,
                        "params:seed": 0, "params:device": "cpu",
                        "params:evaluator": EVALUATOR, "params:evaluation": EVALUATION,
                        "evaluator_model": weights}.items():
        catalog[name] = value
    references = compute_reference_stats(weights, train, EVALUATOR, EVALUATION, 0,
                                         "cpu")
    catalog["reference_stats"], catalog["reference_stats_binarized"] = references
    return catalog


def test_progan_is_a_scored_adversarial_family():
    assert scored_namespaces()["progan"] == ("progan", "adversarial")
    outputs = family_pipelines()["progan"].all_outputs()
    assert {"progan.samples", "progan.metrics", "progan.phases_plot",
            "progan.samples_over_training_plot"} <= outputs


def test_progan_pipeline_end_to_end_grows_to_28(tmp_path):
    outputs = SequentialRunner().run(family_pipelines()["progan"], _catalog(tmp_path))
    out = {name: dataset.load() for name, dataset in outputs.items()}
    scores = out["progan.metrics"]
    assert {"fid", "kid", "kid_std", "precision", "recall"} <= set(scores)
    assert out["progan.metrics"]["num_samples"] == 60
    # one snapshot per phase: 7, 14, 28
    assert len(out["progan.training_metrics"]["snapshot_class_entropy"]) == 3
    title = out["progan.phases_plot"].axes[0].get_title()
    assert "trained to 28 x 28" in title
    curves = out["progan.curves_plot"]
    assert [axes.get_ylabel() for axes in curves.axes] == ["d_loss", "g_loss", "alpha"]
