"""CycleGAN's losses (hand values) and one training step."""

import pytest
import torch
from torch import nn

from genpipe.config import CycleGANModelConfig
from genpipe.models.cyclegan import (
    CycleGAN,
    PatchDiscriminator,
    ResnetGenerator,
    cycle_loss,
    identity_loss,
    lsgan_d_loss,
    lsgan_g_loss,
)


def test_cycle_loss_is_zero_for_identity_generators():
    x, y = torch.rand(3, 1, 28, 28), torch.rand(5, 1, 28, 28)
    assert cycle_loss(nn.Identity(), nn.Identity(), x, y) == 0
    assert identity_loss(nn.Identity(), nn.Identity(), x, y) == 0


def test_cycle_loss_by_hand():
    x, y = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    shift = lambda v: v + 0.5  # noqa: E731  (G and F both add 0.5)
    # F(G(x)) − x = 1 everywhere, G(F(y)) − y = 1: mean L1 1 + 1
    assert cycle_loss(shift, shift, x, y) == pytest.approx(2.0)


def test_lsgan_losses_by_hand():
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    # ½ (mean((1−1)², (0−1)²) + mean(0², 2²)) = ½ (0.5 + 2)
    assert lsgan_d_loss(real, fake) == pytest.approx(1.25)
    assert lsgan_g_loss(fake) == pytest.approx((1 + 1) / 2)  # mean((0−1)², (2−1)²)


def test_networks_keep_the_image_shape():
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    out = ResnetGenerator(4, 1)(x)
    assert out.shape == x.shape and out.abs().max() <= 1
    assert PatchDiscriminator(4)(x).shape == (4, 1, 6, 6)


@pytest.mark.parametrize("cycle_weight", [10.0, 0.0])
def test_cycle_weight_zero_drops_the_cycle_term(cycle_weight):
    torch.manual_seed(0)
    model = CycleGAN(CycleGANModelConfig(channels=4, residual_blocks=1,
                                         cycle_weight=cycle_weight))
    x, y = torch.rand(2, 1, 28, 28) * 2 - 1, torch.rand(2, 1, 28, 28) * 2 - 1
    terms, _, _ = model.g_terms(x, y)
    expected = terms["g_adversarial"] + cycle_weight * terms["cycle"] \
        + 5.0 * terms["identity"]
    assert terms["g_loss"].item() == pytest.approx(expected.item())
    assert (terms["cycle"] > 0) == (cycle_weight > 0)


def test_translate_maps_unit_images_to_unit_images():
    model = CycleGAN(CycleGANModelConfig(channels=4, residual_blocks=1)).eval()
    x = torch.rand(3, 1, 28, 28)
    for to in ("digits", "mnist"):
        out = model.translate(x, to)
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
