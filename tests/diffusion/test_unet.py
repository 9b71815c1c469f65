import pytest
import torch

from genpipe.diffusion.unet import UNet, timestep_embedding


def test_timestep_embedding_by_hand():
    emb = timestep_embedding(torch.tensor([0, 2]), 4, max_period=100.0)
    # ω = 100^(−k/2), k = 0, 1: ω = 1, 0.1
    angles = torch.tensor([2.0, 0.2])
    expected = torch.stack([torch.tensor([0.0, 0.0, 1.0, 1.0]),
                            torch.cat([angles.sin(), angles.cos()])])
    torch.testing.assert_close(emb, expected)
    assert timestep_embedding(torch.tensor([3]), 5).shape == (1, 5)


@pytest.mark.parametrize("mults", [(1,), (1, 2), (1, 2, 2)])
def test_unet_maps_28x28_to_28x28_and_starts_at_zero(mults):
    net = UNet(channels=8, mults=mults, blocks=2, heads=2)
    x, t = torch.randn(3, 1, 28, 28), torch.tensor([0, 10, 999])
    out = net(x, t)
    assert out.shape == x.shape
    assert out.abs().max() == 0  # zero-initialised output layer
    out.sum().backward()  # and yet every layer before it gets a gradient path
    assert net.out[-1].weight.grad.abs().sum() > 0


def test_unet_is_conditioned_on_time_and_class():
    torch.manual_seed(0)
    net = UNet(channels=8, mults=(1, 2), heads=2, num_classes=10).eval()
    torch.nn.init.normal_(net.out[-1].weight)
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        at_1, at_500 = net(x, torch.tensor([1, 1])), net(x, torch.tensor([500, 500]))
        three = net(x, torch.tensor([1, 1]), torch.tensor([3, 3]))
        unconditional = net(x, torch.tensor([1, 1]), torch.tensor([10, 10]))
    assert not torch.allclose(at_1, at_500)
    assert not torch.allclose(at_1, three)
    torch.testing.assert_close(at_1, unconditional)  # no label = the "no class" token


def test_unet_attends_at_the_lowest_resolution_only():
    net = UNet(channels=8, mults=(1, 2, 2), heads=4)
    attention = [m for m in net.modules() if isinstance(m, torch.nn.MultiheadAttention)]
    assert len(attention) == 1 and attention[0].embed_dim == 16
    assert not any(isinstance(m, torch.nn.MultiheadAttention)
                   for m in UNet(channels=8, heads=0).modules())
    with pytest.raises(ValueError, match="1 to 3 levels"):
        UNet(mults=(1, 2, 2, 2))
