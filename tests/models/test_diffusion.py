"""The diffusion and score families (ddpm, ncsn) as models."""

import pytest
import torch

from genpipe.config import ParameterError
from genpipe.diffusion.sampling import ddpm_sample
from genpipe.models.generative import build, validate_models

TINY = {"channels": 8, "channel_mults": [1, 2], "attention_heads": 2,
        "progress_bar": False, "strip_images": 3, "strip_steps": 4, "test_images": 8}
DDPM = {**TINY, "timesteps": 40, "ddim_steps": 8, "preview_steps": 2}
NCSN = {**TINY, "num_scales": 4, "steps_per_level": 3, "preview_steps_per_level": 1}


@pytest.fixture(scope="module")
def batch():
    generator = torch.Generator().manual_seed(0)
    return torch.rand(16, 1, 28, 28, generator=generator), torch.arange(16) % 10


@pytest.mark.parametrize(("family", "params"), [("ddpm", DDPM), ("ncsn", NCSN)])
def test_a_training_step_moves_the_net_and_the_ema_follows(family, params, batch):
    torch.manual_seed(0)
    model = build(family, {**params, "ema_decay": 0.5})
    optimizer = model.configure_optimizers()
    # The optimizer owns the trained network only; the EMA copy has no gradients.
    assert {id(p) for g in optimizer.param_groups for p in g["params"]} == \
        {id(p) for p in model.net.parameters()}
    assert not any(p.requires_grad for p in model.ema.parameters())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    terms = model.loss(*batch)
    assert set(terms) == {"loss"} and terms["loss"].isfinite()
    optimizer.zero_grad()
    terms["loss"].backward()
    optimizer.step()
    model.update_ema()
    after = model.state_dict()
    # The output layer starts at zero, so the first step reaches it alone.
    key = "out.2.weight"
    assert not torch.equal(after[f"net.{key}"], before[f"net.{key}"])
    # d = min(0.5, 1/10) at the first update: θ_ema = 0.1 θ_ema + 0.9 θ.
    expected = 0.1 * before[f"ema.{key}"] + 0.9 * after[f"net.{key}"]
    torch.testing.assert_close(after[f"ema.{key}"], expected)
    assert after["ema_updates"].item() == 1  # checkpointed with the weights


def test_ddpm_loss_is_l_simple(batch):
    model = build("ddpm", DDPM)
    x, y = batch
    torch.manual_seed(3)
    loss = model.loss(x, y)["loss"]
    torch.manual_seed(3)  # the same draws of t and ε; the zero-initialised
    torch.randint(0, 40, (16,))  # network predicts ε_θ = 0
    noise = torch.randn_like(x)
    torch.testing.assert_close(loss, noise.pow(2).mean())


def test_ncsn_loss_is_sigma_squared_weighted_dsm(batch):
    model = build("ncsn", NCSN)
    x, y = batch
    torch.manual_seed(3)
    loss = model.loss(x, y)["loss"]
    torch.manual_seed(3)
    torch.randint(0, 4, (16,))
    z = torch.randn_like(x)
    # s_θ = 0: λ(σ) · ½ ||0 + σz/σ²||² = ½ ||z||² per image, whatever σ.
    torch.testing.assert_close(loss, 0.5 * z.pow(2).flatten(1).sum(1).mean())


@pytest.mark.parametrize(("family", "params", "costs"), [
    ("ddpm", DDPM, {"ddpm": 40, "ddim": 8, None: 2}),
    ("ddpm", {**DDPM, "ddpm_steps": 10}, {"ddpm": 10, "ddim": 8, None: 2}),
    ("ncsn", NCSN, {"langevin": 12, "langevin_denoised": 13, None: 5}),
])
def test_every_sampler_draws_unit_interval_images_from_the_torch_rng(
        family, params, costs):
    torch.manual_seed(0)
    model = build(family, params).eval()
    torch.nn.init.normal_(model.ema.out[-1].weight, std=0.1)
    assert set(costs) == {*model.samplers, None}
    for sampler, nfe in costs.items():
        torch.manual_seed(1)
        first = model.sample(5, sampler)
        torch.manual_seed(1)
        again = model.sample(5, sampler)
        assert first.shape == (5, 1, 28, 28)
        assert first.min() >= 0 and first.max() <= 1
        assert torch.equal(first, again)
        assert model.sampling_cost(sampler) == {"nfe_per_image": nfe}
    with pytest.raises(ValueError, match="unknown sampler"):
        model.sample(2, "euler")


@pytest.mark.parametrize(("steps", "variance"), [(None, "beta"), (40, "beta_tilde")])
def test_ddpm_over_all_t_steps_is_the_unrespaced_sampler_bitwise(steps, variance):
    torch.manual_seed(0)
    model = build("ddpm", {**DDPM, "ddpm_steps": steps, "variance": variance}).eval()
    torch.nn.init.normal_(model.ema.out[-1].weight, std=0.1)
    torch.manual_seed(1)
    ours = model.sample(5, "ddpm")
    torch.manual_seed(1)  # Algorithm 2 on the training scheduler, all T steps
    x = ddpm_sample(model._eps(5), model.scheduler, (5, 1, 28, 28), variance)
    assert torch.equal(ours, ((x + 1) / 2).clamp(0, 1))
    assert model.sampling_cost("ddpm") == {"nfe_per_image": 40}


@pytest.mark.parametrize(("family", "params"), [("ddpm", DDPM), ("ncsn", NCSN)])
def test_report_draws_the_declared_strips(family, params, batch):
    torch.manual_seed(0)
    model = build(family, params).eval()
    metrics, figures = model.report(*batch, classify=None)
    assert set(figures) == set(model.figures) and metrics == {}
    assert model.test_metrics(batch[0], 4)["test_loss"] > 0


def test_the_respaced_reverse_strip_shows_states_the_sampler_visits(batch):
    """T = 40 in 10 steps: τ = 0, 4, 9, 13, 17, 22, 26, 30, 35, 39
    (round(k · 39/9)), so the states are at the papers' t = 40, 36, 31, …, 5,
    1, 0; 4 columns take every third of those 11 (after x_T: t = 27, 10, 0)."""
    torch.manual_seed(0)
    model = build("ddpm", {**DDPM, "ddpm_steps": 10}).eval()
    _, figures = model.report(*batch, classify=None)
    axes = figures["reverse_process"].axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == [
        "t=40", "t=27", "t=10", "t=0"]
    assert "10 of 40 ancestral steps" in axes.get_title()


def test_classifier_free_guidance_mixes_two_predictions(batch):
    model = build("ddpm", {**DDPM, "class_conditional": True,
                           "guidance_scale": 2.0}).eval()
    assert model.sampling_cost("ddim") == {"nfe_per_image": 16.0}  # 2 per step
    torch.nn.init.normal_(model.ema.out[-1].weight)
    x, t = batch[0][:10], torch.full((10,), 5)
    with torch.no_grad():
        conditional = model.ema(x, t, torch.arange(10))
        unconditional = model.ema(x, t, torch.full((10,), 10))
        guided = model._eps(10)(x, t)
    # (batching the two halves together changes float rounding only)
    torch.testing.assert_close(guided, 3 * conditional - 2 * unconditional,
                               atol=1e-3, rtol=1e-4)
    metrics, _ = model.report(*batch, classify=lambda im: torch.eye(10)[
        torch.zeros(len(im), dtype=torch.long)].numpy())
    assert metrics["conditional_accuracy"] == pytest.approx(0.1)  # always "0"


def test_model_blocks_are_validated():
    with pytest.raises(ParameterError, match=r"parameters\.ddpm\.model"):
        validate_models({"ddpm": {"model": {"timesteps": 10, "ddim_steps": 50}}},
                        ["ddpm"])
    with pytest.raises(ParameterError, match=r"parameters\.ddpm\.model\.ddpm_steps: "
                       r"Value error, ddpm_steps must be <= timesteps \(10\)"):
        validate_models({"ddpm": {"model": {"timesteps": 10, "ddpm_steps": 11}}},
                        ["ddpm"])
    with pytest.raises(ParameterError, match=r"parameters\.ddpm\.model\.ddpm_steps"):
        validate_models({"ddpm": {"model": {"ddpm_steps": 0}}}, ["ddpm"])
    with pytest.raises(ParameterError, match=r"parameters\.ddpm\.model\.schedule"):
        validate_models({"ddpm": {"model": {"schedule": "sigmoid"}}}, ["ddpm"])
    with pytest.raises(ParameterError, match=r"parameters\.ncsn\.model"):
        validate_models({"ncsn": {"model": {"sigma_min": 2.0}}}, ["ncsn"])
