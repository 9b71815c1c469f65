"""Classifier-free guidance: label dropout and the guided noise prediction."""

import pytest
import torch

from genpipe.diffusion.guidance import drop_labels, guided_eps
from genpipe.diffusion.mlp import LatentMLP


def test_labels_are_dropped_at_the_requested_rate():
    labels = torch.arange(200_000) % 10
    generator = torch.Generator().manual_seed(0)
    dropped = drop_labels(labels, 0.1, 10, generator)
    rate = (dropped == 10).float().mean().item()
    assert rate == pytest.approx(0.1, abs=0.003)
    kept = dropped != 10
    assert torch.equal(dropped[kept], labels[kept])  # the others are untouched
    assert torch.equal(drop_labels(labels, 0.0, 10), labels)
    assert (drop_labels(labels, 1.0, 10) == 10).all()
    assert torch.equal(labels, torch.arange(200_000) % 10)  # not in place


def test_guidance_formula_against_a_hand_value():
    # (1 + w) ε(x, y) − w ε(x, ∅) with ε(x, y) = 2, ε(x, ∅) = 0.5, w = 3:
    # 4 · 2 − 3 · 0.5 = 6.5; w = 0 is the conditional prediction itself.
    conditional, unconditional = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 1.0])
    assert torch.allclose(guided_eps(conditional, unconditional, 3.0),
                          torch.tensor([6.5, -7.0]))
    assert torch.equal(guided_eps(conditional, unconditional, 0.0), conditional)


def test_latent_mlp_shapes_and_null_label():
    net = LatentMLP(12, width=16, blocks=2, num_classes=10)
    z, t = torch.randn(5, 12), torch.randint(0, 50, (5,))
    assert net(z, t, torch.arange(5)).shape == (5, 12)
    assert torch.equal(net(z, t), torch.zeros(5, 12))  # the last layer starts at 0
    torch.nn.init.normal_(net.out[-1].weight)
    assert torch.equal(net(z, t), net(z, t, torch.full((5,), 10)))  # None is ∅
    assert not torch.allclose(net(z, t), net(z, t, torch.arange(5)))
