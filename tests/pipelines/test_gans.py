"""The GAN families through the generative template (in-memory catalog)."""

import numpy as np
from kedro.runner import SequentialRunner

from genpipe.pipelines.generative import family_pipelines
from tests.helpers.generative import family_catalog, template_block


def test_gan_pipelines_sample_and_do_not_reconstruct():
    pipelines = family_pipelines()
    for family in ("gan", "cgan", "wgan", "wgan_gp"):
        outputs = pipelines[family].all_outputs()
        assert {f"{family}.samples", f"{family}.metrics", f"{family}.curves_plot",
                f"{family}.samples_over_training_plot",
                f"{family}.training_metrics"} <= outputs
        assert f"{family}.reconstructions_plot" not in outputs
    assert "cgan.class_grid_plot" in pipelines["cgan"].all_outputs()


def test_cgan_pipeline_end_to_end(tmp_path):
    catalog = family_catalog({"cgan": template_block(tmp_path, {
        "channels": 4, "latent_dim": 8, "label_samples": 6})}, sizes=(96, 32, 32))
    outputs = SequentialRunner().run(family_pipelines()["cgan"], catalog)
    metrics = outputs["cgan.test_metrics"].load()
    assert 0 <= metrics["label_accuracy_worst_class"] <= metrics["label_accuracy"] <= 1
    # 6 samples per class: the accuracy is a multiple of 1/60.
    assert abs(metrics["label_accuracy"] * 60 - round(metrics["label_accuracy"] * 60)) \
        < 1e-9
    assert "row = label" in outputs["cgan.class_grid_plot"].load().axes[0].get_title()
    # The family's curves: D and G losses and D(G(z)), train against validation.
    curves = outputs["cgan.curves_plot"].load()
    assert [axes.get_ylabel() for axes in curves.axes] == ["d_loss", "g_loss",
                                                           "d_fake"]
    entropy = outputs["cgan.training_metrics"].load()["snapshot_class_entropy"]
    assert [point["step"] for point in entropy] == [1, 2]
    assert all(0 <= point["value"] <= np.log(10) + 1e-9 for point in entropy)
    assert {"fid", "precision", "recall", "class_entropy"} <= set(
        outputs["cgan.metrics"].load())
