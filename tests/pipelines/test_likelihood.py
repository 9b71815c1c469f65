"""The likelihood families through the generative template (in memory)."""

import numpy as np
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from genpipe.config import ParameterError
from genpipe.pipelines.generative import family_pipelines
from genpipe.pipelines.generative.nodes import train_family
from tests.helpers.generative import EVALUATION, family_catalog, split, template_block

N = EVALUATION["protocol"]["num_samples"]  # the protocol's


def _catalog(family: str, block: dict) -> DataCatalog:
    return family_catalog({family: block}, sizes=(96, 32, 40),
                          evaluation=EVALUATION)


def test_pixelcnn_pipeline_trains_scores_nll_and_samples(tmp_path):
    model = {"channels": 4, "layers": 1, "head_channels": 8}
    block = {**template_block(tmp_path, model, binarize=True), "snapshot_samples": 3}
    block["trainer"] |= {"limit_train_batches": 2, "limit_val_batches": 1}
    pipe = family_pipelines()["pixelcnn"]
    assert not {"pixelcnn.reconstructions_plot", "pixelcnn.latent_plot"} \
        & pipe.all_outputs()  # not an autoencoder
    outputs = SequentialRunner().run(pipe, _catalog("pixelcnn", block))
    metrics = outputs["pixelcnn.test_metrics"].load()
    assert metrics["test_bits_per_dim"] == pytest.approx(
        metrics["test_nll"] / (784 * np.log(2)))
    assert outputs["pixelcnn.sampling_metrics"].load()["nfe_per_image"] == 784
    assert outputs["pixelcnn.metrics"].load()["num_samples"] == N
    entropy = outputs["pixelcnn.training_metrics"].load()["snapshot_class_entropy"]
    assert len(entropy) == 2  # one per epoch


def test_ppca_pipeline_scores_both_samplers(tmp_path):
    pipe = family_pipelines()["ppca"]
    outputs = SequentialRunner().run(
        pipe, _catalog("ppca", template_block(tmp_path, {"latent_dim": 3})))
    assert "ppca.history" not in pipe.all_outputs()  # fitted, not trained
    assert outputs["ppca.test_metrics"].load()["test_bits_per_dim"] > 0
    for sampler in ("ancestral", "noise_free"):
        assert {"fid", "precision", "recall"} <= set(
            outputs[f"ppca.{sampler}.metrics"].load())
    assert outputs["ppca.spectrum_plot"].load() is not None


def test_a_likelihood_that_does_not_fit_the_data_stops_training(tmp_path):
    with pytest.raises(ParameterError, match=r"parameters\.pixelcnn\.data\.binarize"):
        train_family(split(8, 0), split(8, 1), template_block(tmp_path, {}), 0, "cpu",
                     family="pixelcnn")


def test_batches_per_epoch_are_counts_or_fractions():
    from genpipe.config import TrainerConfig

    def trainer(**kwargs):
        return TrainerConfig(max_epochs=1, checkpoint_dir="x", **kwargs)

    assert trainer(limit_train_batches=150).limit_train_batches == 150
    assert trainer(limit_train_batches=0.5).limit_train_batches == 0.5
    assert trainer(limit_val_batches=0).limit_val_batches == 0
    for bad in (0, 1.5, -2):
        with pytest.raises(ValueError):
            trainer(limit_train_batches=bad)
