"""The two-stage families through the generative template (in memory): each
reads its first stage's trained model from the catalog."""

from pathlib import Path

import numpy as np
import pytest
import torch
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from genpipe.datasets import TorchDataset
from genpipe.models.generative.latent_diffusion import GUIDANCE_SWEEP
from genpipe.pipelines.generative import family_pipelines
from genpipe.pipelines.generative.nodes import sample_family, train_family
from genpipe.preflight import missing_inputs
from tests.helpers.generative import (
    EVALUATION,
    block,
    family_catalog,
    first_stage_weights,
    split,
)

ROOT = Path(__file__).resolve().parents[2]
N = EVALUATION["protocol"]["num_samples"]
VQVAE = {"channels": 8, "codebook_size": 16, "embedding_dim": 4}
AE = {"hidden": [32], "latent_dim": 6}
PRIOR = {"channels": 8, "layers": 1, "head_channels": 16, "embedding_dim": 4}
LATENT = {"timesteps": 20, "ddim_steps": 4, "preview_steps": 2, "width": 16,
          "blocks": 1, "grid_columns": 2, "test_images": 16}


def _first_stage(tmp_path, family: str, model: dict) -> dict:
    return {f"{family}.model": first_stage_weights(family, model),
            f"params:{family}": block(str(tmp_path / family), model)}


def test_first_stage_is_an_input_of_every_node_that_builds_the_model():
    pipelines = family_pipelines()
    prior, latent = pipelines["vqvae_prior"], pipelines["latent_diffusion"]
    assert {"vqvae.model", "params:vqvae"} <= prior.inputs()
    assert {"ae.model", "params:ae"} <= latent.inputs()
    assert "vqvae.model" not in prior.all_outputs()  # never retrained here
    for node in latent.nodes:
        if node.name.split(".")[-1] in ("train", "evaluate", "sample"):
            assert "ae.model" in node.inputs, node.name
    assert {f"latent_diffusion.{s}.metrics" for s in ("ddpm", "ddim",
                                                      *GUIDANCE_SWEEP)} \
        <= latent.all_outputs()
    assert {"latent_diffusion.sweep_plot", "latent_diffusion.guidance_grid_plot"} \
        <= latent.all_outputs()
    # One-stage families are untouched.
    assert not any(name.endswith(".model") for name in pipelines["vae"].inputs())


def test_vqvae_prior_pipeline_end_to_end(tmp_path):
    catalog = family_catalog(
        {"vqvae_prior": block(str(tmp_path / "prior"), PRIOR)}, sizes=(64, 16, 32),
        extra=_first_stage(tmp_path, "vqvae", VQVAE))
    outputs = SequentialRunner().run(family_pipelines()["vqvae_prior"], catalog)
    metrics = outputs["vqvae_prior.test_metrics"].load()
    assert {"test_nll_codes", "test_nll_codes_independent",
            "test_prior_bits_per_dim", "first_stage_test_mse"} <= set(metrics)
    scores = outputs["vqvae_prior.metrics"].load()
    assert scores["num_samples"] == N and "label_accuracy" not in scores
    assert outputs["vqvae_prior.sampling_metrics"].load()["nfe_per_image"] == 49
    model = outputs["vqvae_prior.mlflow_model"].load()  # holds its first stage
    assert torch.equal(model.first.codebook, catalog.load("vqvae.model")["codebook"])


def test_latent_diffusion_pipeline_scores_every_guidance_scale(tmp_path):
    catalog = family_catalog(
        {"latent_diffusion": block(str(tmp_path / "ld"), LATENT)}, sizes=(64, 16, 32),
        extra=_first_stage(tmp_path, "ae", AE))
    outputs = SequentialRunner().run(family_pipelines()["latent_diffusion"], catalog)
    for sampler, nfe in (("ddpm", 40), ("ddim", 8), ("ddim_w0", 4), ("ddim_w5", 8)):
        scores = outputs[f"latent_diffusion.{sampler}.metrics"].load()
        assert scores["num_samples"] == N and 0 <= scores["label_accuracy"] <= 1
        cost = outputs[f"latent_diffusion.{sampler}.sampling_metrics"].load()
        assert cost["nfe_per_image"] == nfe, sampler
    weights = outputs["latent_diffusion.mlflow_model"].load().state_dict()
    samples, _ = sample_family(weights, catalog.load("params:latent_diffusion"),
                               EVALUATION, 0, "cpu", catalog.load("ae.model"),
                               catalog.load("params:ae"), family="latent_diffusion",
                               sampler="ddim_w3")
    assert np.array_equal(samples["labels"], np.arange(N) % 10)  # the prompts
    sweep = outputs["latent_diffusion.sweep_plot"].load()
    assert [line.get_label() for line in sweep.axes[2].get_lines()] == \
        ["precision", "recall", "label_accuracy"]
    assert outputs["latent_diffusion.test_metrics"].load()["first_stage_test_mse"] > 0


def test_a_retrained_first_stage_is_never_resumed_on(tmp_path):
    """The first stage's weights are part of the checkpoints' fingerprint."""
    train, val = split(32, 0), split(16, 1)
    params = block(str(tmp_path / "ld"), LATENT)
    first = train_family(train, val, params, 0, "cpu",
                         first_stage_model=first_stage_weights("ae", AE, 0),
                         first_stage_params={"model": AE, **block("x", AE)},
                         family="latent_diffusion")
    other = train_family(train, val, params, 0, "cpu",
                         first_stage_model=first_stage_weights("ae", AE, 1),
                         first_stage_params={"model": AE, **block("x", AE)},
                         family="latent_diffusion")
    folders = sorted(p.name for p in (tmp_path / "ld").iterdir() if p.is_dir())
    assert len(folders) == 2
    assert not torch.equal(first["model"]["latent_mean"], other["model"]["latent_mean"])


def test_without_its_first_stage_a_family_does_not_train(tmp_path):
    with pytest.raises(ValueError, match="latent_diffusion needs the trained ae"):
        train_family(split(8, 0), split(8, 1), block(str(tmp_path), LATENT), 0,
                     "cpu", family="latent_diffusion")


def test_a_missing_first_stage_model_is_named_before_the_run(tmp_path):
    catalog = DataCatalog({"vqvae.model": TorchDataset(
        filepath=str(tmp_path / "06_models" / "vqvae.pt"))})
    missing = missing_inputs(family_pipelines()["vqvae_prior"], catalog,
                             ROOT / "dvc.yaml")
    assert missing == [f"vqvae.model ({tmp_path / '06_models' / 'vqvae.pt'}; "
                       "`kedro run --pipelines vqvae` makes it)"]
