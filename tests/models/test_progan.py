"""ProGAN: fade-in, the stabilisers by hand, the schedule, a training step."""

import math

import pytest
import torch

from genpipe.models.generative import build
from genpipe.models.generative.progan import (
    Config,
    EqualizedConv2d,
    ProCritic,
    ProGenerator,
    minibatch_std,
    pixel_norm,
    real_at,
    schedule,
    upsample,
)


@pytest.fixture
def nets():
    torch.manual_seed(0)
    return ProGenerator(8, 4), ProCritic(4)


@pytest.mark.parametrize("phase", [1, 2])
def test_generator_fade_in_ends_are_the_low_and_high_paths(nets, phase):
    generator, _ = nets
    z = torch.randn(3, 8)
    low = generator.low_path(z, phase)
    assert torch.allclose(generator(z, phase, 0.0), low, atol=1e-6)
    # the low path is the previous phase's finished output, upsampled
    assert torch.allclose(low, upsample(generator(z, phase - 1, 1.0)), atol=1e-6)
    assert torch.allclose(generator(z, phase, 1.0), generator.high_path(z, phase),
                          atol=1e-6)
    mid = generator(z, phase, 0.25)
    assert torch.allclose(mid, 0.75 * low + 0.25 * generator.high_path(z, phase),
                          atol=1e-5)


@pytest.mark.parametrize("phase", [1, 2])
def test_critic_fade_in_ends_are_the_low_and_high_paths(nets, phase):
    _, critic = nets
    size = 7 * 2 ** phase
    x = torch.randn(4, 1, size, size)
    # α = 0: the new block is bypassed; the critic scores pool(x) as the
    # previous phase's critic does
    assert torch.allclose(critic(x, phase, 0.0),
                          critic(torch.nn.functional.avg_pool2d(x, 2), phase - 1, 1.0),
                          atol=1e-5)
    assert not torch.allclose(critic(x, phase, 1.0), critic(x, phase, 0.0))


def test_real_images_fade_the_same_way():
    x = torch.rand(2, 1, 28, 28)
    assert real_at(x, 2, 1.0).equal(x)
    pooled = torch.nn.functional.avg_pool2d(x, 2)
    assert torch.allclose(real_at(x, 2, 0.0), upsample(pooled))
    assert real_at(x, 0, 1.0).shape == (2, 1, 7, 7)


def test_pixel_norm_by_hand():
    a = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)  # mean square 12.5
    assert torch.allclose(pixel_norm(a, eps=0).flatten(),
                          torch.tensor([3.0, 4.0]) / math.sqrt(12.5))


def test_minibatch_std_by_hand():
    x = torch.tensor([[1.0, 5.0], [3.0, 5.0]]).view(2, 2, 1, 1)
    out = minibatch_std(x, eps=0)
    # per-feature std over the batch: 1 and 0; their mean 0.5, as a new channel
    assert out.shape == (2, 3, 1, 1) and (out[:, 2] == 0.5).all()


def test_equalized_learning_rate_scales_unit_weights_by_he():
    conv = EqualizedConv2d(4, 2, 3)
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(4 * 9))
    assert conv.weight.std().item() == pytest.approx(1, abs=0.35)


def test_schedule_phases_and_fade():
    config = Config(phase_epochs=2, fade_fraction=0.5)
    assert schedule(0, 5, 10, config) == (0, 1.0)
    assert schedule(2, 0, 10, config) == (1, pytest.approx(0.1))  # 1 of 10 batches
    assert schedule(2, 9, 10, config) == (1, 1.0)
    assert schedule(3, 0, 10, config) == (1, 1.0)
    assert schedule(9, 0, 10, config) == (2, 1.0)  # stays at 28 x 28


def _batch(n=16):
    torch.manual_seed(0)
    return torch.rand(n, 1, 28, 28), torch.arange(n) % 10


def test_sample_is_28x28_in_unit_range_at_every_phase():
    model = build("progan", {"channels": 4, "latent_dim": 8}).eval()
    for phase in range(3):
        model.phase.fill_(phase)
        images = model.sample(5)
        assert images.shape == (5, 1, 28, 28)
        assert images.min() >= 0 and images.max() <= 1


def test_phase_is_saved_with_the_weights():
    model = build("progan", {"channels": 4, "latent_dim": 8})
    model.phase.fill_(2)
    again = build("progan", {"channels": 4, "latent_dim": 8})
    again.load_state_dict(model.state_dict())
    assert int(again.phase) == 2


def test_d_terms_add_penalty_and_drift():
    model = build("progan", {"channels": 4, "latent_dim": 8, "drift": 0.0,
                             "gp_weight": 0.0})
    x, _ = _batch(4)
    model.phase.fill_(2)
    real, fake = 2 * x - 1, model.generate(model.noise(4), None).detach()
    terms = model.d_terms(real, fake, None)
    assert terms["d_loss"].item() == pytest.approx(-terms["wasserstein"].item(),
                                                   abs=1e-6)
    assert "gradient_penalty" in terms
    assert "gradient_penalty" not in model.d_terms(real, fake, None, train=False)
