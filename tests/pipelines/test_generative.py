import numpy as np
import pytest
import torch
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from genpipe.config import family_names
from genpipe.models.generative import GenerativeModel
from genpipe.pipelines.generative import family_pipelines
from genpipe.pipelines.generative.nodes import (
    evaluate_family,
    reconstruct_family,
    train_family,
)
from tests.helpers.generative import (
    EVALUATION,
    EVALUATOR,
    evaluator_weights,
    family_catalog,
    split,
    template_block,
)


def test_each_family_is_a_pipeline_with_the_template_datasets():
    pipelines = family_pipelines()
    assert set(pipelines) == set(family_names())
    ae, vae = pipelines["ae"], pipelines["vae"]
    assert ae.all_outputs() == {"ae.model", "ae.history", "ae.mlflow_model",
                                "ae.train_metrics",
                                "ae.test_metrics", "ae.reconstruction_metrics",
                                "ae.reconstructions_plot", "ae.latent_plot",
                                "ae.curves_plot"}
    # A sampling family also draws samples and scores them with the shared
    # nodes, and shows samples over training.
    assert {"vae.samples", "vae.sampling_metrics", "vae.metrics",
            "vae.sample_grid", "vae.scores", "vae.snapshots",
            "vae.training_metrics", "vae.samples_over_training_plot"
            } <= vae.all_outputs()
    assert "params:vae" in vae.inputs() and "params:ae" not in vae.inputs()
    assert {"evaluator_model", "reference_stats"} <= vae.inputs()
    assert "evaluator_model" not in ae.inputs()


def test_vae_pipeline_end_to_end(tmp_path):
    catalog = family_catalog({"vae": template_block(tmp_path, {
        "hidden": [64], "latent_dim": 4, "nll_samples": 5, "nll_images": 20},
        binarize=True)}, sizes=(128, 32, 64))
    outputs = SequentialRunner().run(family_pipelines()["vae"], catalog)
    metrics = outputs["vae.test_metrics"].load()
    assert {"test_elbo", "test_kl", "test_nll_is"} <= set(metrics)
    assert "test_mse" in outputs["vae.reconstruction_metrics"].load()
    assert metrics["test_nll_is"] <= -metrics["test_elbo"] + 1e-4
    assert outputs["vae.metrics"].load()["num_samples"] == \
        EVALUATION["protocol"]["num_samples"]
    assert outputs["vae.sampling_metrics"].load()["sampling_images_per_s"] > 0
    # One class entropy per epoch, each that of the epoch's snapshot.
    entropy = outputs["vae.training_metrics"].load()["snapshot_class_entropy"]
    assert [point["step"] for point in entropy] == [1, 2]
    assert all(0 <= point["value"] <= np.log(10) + 1e-9 for point in entropy)


def test_training_is_reproducible_and_evaluation_reports_the_family_metrics(tmp_path):
    block = template_block(tmp_path, {"channels": 8, "codebook_size": 16,
                                      "embedding_dim": 4})
    train, val, test = split(96, 0), split(32, 1), split(48, 2)
    first = train_family(train, val, block, 3, "cpu", family="vqvae")
    again = train_family(train, val, {**block, "trainer": {
        **block["trainer"], "checkpoint_dir": str(tmp_path / "other")}}, 3, "cpu",
        family="vqvae")
    weights, history = first["model"], first["history"]
    assert all(torch.equal(weights[key], again["model"][key]) for key in weights)
    assert np.array_equal(first["snapshots"]["images"], again["snapshots"]["images"])
    assert first["snapshots"]["images"].shape == (2, 100, 1, 28, 28)
    assert len(history) == 2 and "val_loss" in history[-1]
    outputs = evaluate_family(weights, test, block, 3, "cpu", history=history,
                              snapshots=first["snapshots"],
                              evaluator_model=evaluator_weights(), evaluator=EVALUATOR,
                              evaluation=EVALUATION, family="vqvae")
    assert {"codebook_perplexity", "codebook_usage"} <= set(outputs["test_metrics"])
    curves = outputs["curves_plot"]
    assert "samples over training" in \
        outputs["samples_over_training_plot"].axes[0].get_title()
    metrics, grid, latent = reconstruct_family(weights, test, block, 3, "cpu",
                                               family="vqvae")
    assert set(metrics) == {"test_mse"}
    assert "MSE" in grid.axes[0].get_title()
    assert "t-SNE" in latent.axes[0].get_title()
    assert [axes.get_ylabel() for axes in curves.axes] == ["loss", "commitment",
                                                           "mse"]


def test_an_unknown_family_key_is_a_parameter_error(tmp_path):
    from genpipe.config import ParameterError

    with pytest.raises(ParameterError, match=r"parameters\.dae\.model\.corruption"):
        train_family(split(8, 0), split(8, 1),
                     template_block(tmp_path, {"corruption": "blur"}), 0, "cpu",
                     family="dae")


class PixelGaussian(GenerativeModel):
    """A family fitted in closed form (independent pixel Gaussians) with two
    named samplers and a figure of its own: the template's other abilities."""

    reconstructs, samples, trainable = False, True, False
    samplers = ("mean", "noisy")
    figures = ("pixel_means",)

    def __init__(self, config):
        super().__init__(config)
        self.register_buffer("mu", torch.zeros(1, 1, 28, 28))
        self.register_buffer("sd", torch.ones(1, 1, 28, 28))

    def after_fit(self, x, batch_size):
        self.mu.copy_(x.mean(0, keepdim=True))
        self.sd.copy_(x.std(0, keepdim=True))

    def sample(self, n, sampler=None):
        noise = torch.randn(n, 1, 28, 28) if sampler == "noisy" else 0
        return (self.mu + self.sd * noise).clamp(0, 1).expand(n, -1, -1, -1)

    def sampling_cost(self, sampler=None):
        return {"nfe_per_image": 0.0}

    def report(self, x, y, classify):
        figure = Figure()
        figure.subplots().imshow(self.mu[0, 0].cpu().numpy())
        assert classify(x[:10]).shape == (10, 10)  # the evaluator's posterior
        return {"test_pixel_nll": float(-torch.distributions.Normal(
            self.mu, self.sd + 1e-3).log_prob(x).sum((1, 2, 3)).mean())}, \
            {"pixel_means": figure}


def test_closed_form_family_with_named_samplers_and_figures(tmp_path, monkeypatch):
    from genpipe.models import generative
    from genpipe.pipelines.generative import pipeline as template

    monkeypatch.setattr(generative, "load_family", lambda name: PixelGaussian)
    monkeypatch.setattr(template, "load_family", lambda name: PixelGaussian)
    pipe = template.family_pipeline("pixels")
    # No training loop: no history, curves or snapshots; no reconstructions.
    assert not {"pixels.history", "pixels.snapshots", "pixels.curves_plot",
                "pixels.reconstructions_plot"} & pipe.all_outputs()
    # Each named sampler is drawn, timed and scored in its own namespace.
    assert {"pixels.mean.samples", "pixels.noisy.samples",
            "pixels.mean.sampling_metrics", "pixels.noisy.metrics",
            "pixels.pixel_means_plot"} <= pipe.all_outputs()
    catalog = family_catalog({"pixels": template_block(tmp_path, {})},
                             sizes=(64, 16, 32))
    outputs = SequentialRunner().run(pipe, catalog)
    assert "test_pixel_nll" in outputs["pixels.test_metrics"].load()
    assert {"fid", "precision"} <= set(outputs["pixels.noisy.metrics"].load())
    samples = ["pixels.mean.samples", "pixels.noisy.samples"]
    outputs = SequentialRunner().run(pipe.to_outputs(*samples), catalog)
    # Fitted by `after_fit` alone: the mean sampler draws the training mean.
    mean = outputs["pixels.mean.samples"].load()["images"]
    train = catalog.load("mnist_train")["images"]
    expected = torch.from_numpy(train).float().mean(0) / 255
    assert (mean == expected.mul(255).round().to(torch.uint8).numpy()).all()
    noisy = outputs["pixels.noisy.samples"].load()["images"]
    assert not (noisy == noisy[:1]).all()
    assert outputs["pixels.noisy.sampling_metrics"].load()[
        "nfe_per_image"] == 0


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_every_family_samples_exactly_the_protocols_n(precision):
    from genpipe.models import generative
    from genpipe.pipelines.generative.nodes import sample_family

    block = {"model": {"latent_dim": 4, "hidden": [16]},
             "data": {"binarize": True},
             "trainer": {"max_epochs": 1, "checkpoint_dir": "unused"}}
    torch.manual_seed(0)
    weights = generative.build("vae", block["model"]).state_dict()
    evaluation = {**EVALUATION, "protocol": {**EVALUATION["protocol"],
                                             "sampling_precision": precision}}
    samples, cost = sample_family(weights, block, evaluation, 0, "cpu", family="vae")
    n = EVALUATION["protocol"]["num_samples"]
    assert samples["images"].shape == (n, 1, 28, 28)
    assert samples["images"].dtype == np.uint8 and bool(samples["binarized"])
    assert cost["sampling_images_per_s"] > 0 and cost["sampling_seconds"] > 0
    again, _ = sample_family(weights, block, evaluation, 0, "cpu", family="vae")
    assert np.array_equal(samples["images"], again["images"])  # deterministic
