"""The two-stage families: `vqvae_prior` (a Gated PixelCNN over VQ-VAE codes)
and `latent_diffusion` (a DDPM on autoencoder latents, classifier-free
guidance)."""

import math

import pytest
import torch

from genpipe.models.generative import build
from genpipe.models.generative.latent_diffusion import GUIDANCE_SWEEP, NULL_LABEL
from genpipe.models.generative.vqvae import GRID

VQVAE = {"channels": 8, "codebook_size": 16, "embedding_dim": 4}
PRIOR = {"channels": 8, "layers": 2, "first_kernel": 5, "head_channels": 16,
         "embedding_dim": 4}
AE = {"hidden": [32], "latent_dim": 6}
LATENT = {"timesteps": 20, "ddim_steps": 5, "preview_steps": 2, "width": 16,
          "blocks": 1, "grid_columns": 2, "test_images": 16}


def _prior(seed: int = 0):
    torch.manual_seed(seed)
    model = build("vqvae_prior", PRIOR)
    model.attach_first_stage(build("vqvae", VQVAE).eval())
    return model


def _latent(seed: int = 0, **model):
    torch.manual_seed(seed)
    latent = build("latent_diffusion", {**LATENT, **model})
    latent.attach_first_stage(build("ae", AE).eval())
    return latent


# --- vqvae_prior ------------------------------------------------------------------
def test_no_code_depends_on_itself_or_later_codes():
    """The gradient of position p's logits reaches the embedded input at
    positions before p (raster order) only, and does reach its neighbours
    above and to the left (no blind spot)."""
    model = _prior()
    for parameter in model.parameters():  # no dead paths hiding a dependence
        torch.nn.init.normal_(parameter, std=0.3)
    e = torch.randn(8, PRIOR["embedding_dim"], GRID, GRID, requires_grad=True)
    logits = model.logits_of_embedding(e)
    for p in range(GRID * GRID):
        row, col = divmod(p, GRID)
        (grad,) = torch.autograd.grad(logits[:, :, row, col].sum(), e,
                                      retain_graph=True)
        reach = grad.abs().sum((0, 1))  # 7 x 7 positions
        assert torch.all(reach.flatten()[p:] == 0), \
            f"position {p} sees itself or later"
        if row > 0:
            assert reach[row - 1, col] > 0, f"position {p} does not see above"
        if col > 0:
            assert reach[row, col - 1] > 0, f"position {p} does not see left"


def test_code_grids_nll_and_sampling_shapes():
    model = _prior()
    images = torch.rand(6, 1, 28, 28)
    codes, val = model.training_inputs(images, images[:2], batch_size=4)
    assert codes.shape == (6, GRID, GRID) and val.shape == (2, GRID, GRID)
    assert codes.dtype == torch.long and codes.min() >= 0 and codes.max() < 16
    logits = model.logits(codes)
    assert logits.shape == (6, 16, GRID, GRID)
    by_hand = -logits.log_softmax(1).gather(1, codes[:, None])[:, 0].sum((1, 2))
    assert torch.allclose(model.nll(codes), by_hand)
    terms = model.loss(codes, None)
    assert terms["bits_per_code"] == pytest.approx(
        terms["nll"].item() / (49 * math.log(2)), rel=1e-5)
    sampled = model.sample_codes(3)
    assert sampled.shape == (3, GRID, GRID) and sampled.max() < 16
    images = model.sample(3)
    assert images.shape == (3, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1
    assert model.first.decode_codes(sampled.flatten(1)).shape == (3, 1, 28, 28)


def test_prior_metrics_compare_with_the_independent_prior():
    model = _prior()
    metrics = model.test_metrics(torch.rand(8, 1, 28, 28), batch_size=4)
    # Untrained: uniform-ish logits, both near 49 ln K nats per grid.
    assert metrics["test_nll_codes_independent"] == pytest.approx(49 * math.log(16))
    assert metrics["test_prior_bits_per_dim"] == pytest.approx(
        metrics["test_nll_codes"] / (784 * math.log(2)))
    assert metrics["first_stage_test_mse"] > 0


def test_training_moves_the_prior_but_not_the_frozen_vqvae():
    model = _prior()
    first = {k: v.clone() for k, v in model.first.state_dict().items()}
    prior = {k: v.clone() for k, v in model.head.state_dict().items()}
    optimizer = model.configure_optimizers()
    assert all(not name.startswith("first.") for name, p in model.named_parameters()
               if any(p is q for g in optimizer.param_groups for q in g["params"]))
    model.train()
    assert not model.first.training
    codes = torch.randint(0, 16, (4, GRID, GRID))
    model.loss(codes, None)["loss"].backward()
    optimizer.step()
    assert all(torch.equal(first[k], v) for k, v in model.first.state_dict().items())
    assert any(not torch.equal(prior[k], v) for k, v in model.head.state_dict().items())


def test_prior_state_dict_round_trip():
    model, again = _prior(0), _prior(1)
    again.load_state_dict(model.state_dict())
    codes = torch.randint(0, 16, (2, GRID, GRID))
    assert torch.equal(model.logits(codes), again.logits(codes))


# --- latent_diffusion -------------------------------------------------------------
def test_latents_are_standardised_and_decode_to_images():
    model = _latent()
    train = torch.rand(40, 1, 28, 28)
    z0, val = model.training_inputs(train, train[:8], batch_size=16)
    assert z0.shape == (40, 6) and val.shape == (8, 6)
    assert torch.allclose(z0.mean(0), torch.zeros(6), atol=1e-5)
    assert torch.allclose(z0.std(0), torch.ones(6), atol=1e-4)
    assert torch.allclose(model.to_latent(train), z0, atol=1e-5)
    images = model.decode(z0[:3])
    assert images.shape == (3, 1, 28, 28) and 0 <= images.min() <= images.max() <= 1
    assert torch.allclose(images, model.first.reconstruct(train[:3]), atol=1e-5)


def test_training_drops_labels_at_p_uncond_and_evaluation_does_not():
    model = _latent(p_uncond=0.25)
    seen = []
    model.net.forward = lambda z, t, y: seen.append(y.clone()) or torch.zeros_like(z)
    labels = torch.arange(4000) % 10
    model.train()
    model.loss(torch.randn(4000, 6), labels)
    assert (seen[-1] == NULL_LABEL).float().mean().item() == pytest.approx(0.25,
                                                                            abs=0.03)
    model.eval()
    model.loss(torch.randn(4000, 6), labels)
    assert torch.equal(seen[-1], labels)
    model.loss(torch.randn(10, 6), None)  # no labels: the unconditional model
    assert (seen[-1] == NULL_LABEL).all()


def test_sampling_uses_the_guided_prediction():
    """ε̃ = (1 + w) ε(z, y) − w ε(z, ∅), with an ε that returns its label."""
    class LabelAsEps(torch.nn.Module):
        def forward(self, z, t, y):
            return y.float()[:, None].expand_as(z)

    model = _latent()
    model.ema = LabelAsEps()
    z, t = torch.zeros(2, 6), torch.zeros(2, dtype=torch.long)
    labels = torch.tensor([7, 2])
    guided = model.eps(labels, 3.0)(z, t)  # 4 · 7 − 3 · 10 = −2; 4 · 2 − 30 = −22
    assert torch.equal(guided[:, 0], torch.tensor([-2.0, -22.0]))
    assert torch.equal(model.eps(labels, 0.0)(z, t)[:, 0], torch.tensor([7.0, 2.0]))


def test_samplers_shapes_and_costs():
    model = _latent().eval()
    assert set(GUIDANCE_SWEEP) <= set(model.samplers) and model.sweep == GUIDANCE_SWEEP
    for sampler in model.samplers:
        images = model.sample(10, sampler)
        assert images.shape == (10, 1, 28, 28), sampler
        assert images.min() >= 0 and images.max() <= 1
    assert torch.equal(model.requested_labels(12), torch.arange(12) % 10)
    assert model.sampling_cost("ddpm")["nfe_per_image"] == 40  # T = 20, guided
    assert model.sampling_cost("ddim_w0")["nfe_per_image"] == 5  # unguided
    assert model.sampling_cost("ddim_w3")["nfe_per_image"] == 10
    with pytest.raises(ValueError, match="unknown sampler"):
        model.sample(2, "nope")


def test_respaced_ddpm_sampler():
    model = _latent(ddpm_steps=5).eval()
    assert model.ddpm_times == [0, 5, 10, 14, 19]  # round(k · 19/4)
    assert model.sample(10, "ddpm").shape == (10, 1, 28, 28)
    assert model.sampling_cost("ddpm")["nfe_per_image"] == 10  # 5 steps, guided


def test_latent_metrics_and_guidance_grid():
    model = _latent().eval()
    model.training_inputs(torch.rand(20, 1, 28, 28), torch.rand(4, 1, 28, 28), 8)
    metrics = model.test_metrics(torch.rand(20, 1, 28, 28), batch_size=8)
    assert metrics["first_stage_test_mse"] > 0 and metrics["test_loss"] > 0
    reported, figures = model.report(torch.rand(4, 1, 28, 28), None, None)
    assert set(figures) == set(model.figures) == {"guidance_grid"}
    image = figures["guidance_grid"].axes[0].images[0].get_array()
    assert image.shape == (280, len(GUIDANCE_SWEEP) * 2 * 28)
