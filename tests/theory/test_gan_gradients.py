import torch
from torch import nn

from genpipe.models.generative._gan import (
    discriminator_loss,
    minimax_generator_loss,
    non_saturating_generator_loss,
)
from genpipe.theory.gan_gradients import trace_generator_gradients


class _Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 4)

    def forward(self, z):
        return torch.tanh(self.linear(z))


def test_minimax_gradient_vanishes_as_d_wins_and_non_saturating_does_not():
    torch.manual_seed(0)
    generator = _Generator()
    discriminator = nn.Sequential(nn.Linear(4, 1), nn.Flatten(0))  # one logit
    images = torch.ones(256, 4) * 3  # real data far from G's range (-1, 1)
    losses = {"minimax": minimax_generator_loss,
              "non_saturating": non_saturating_generator_loss}
    trace = trace_generator_gradients(
        generator, discriminator, images, losses, discriminator_loss,
        d_steps=400, batch_size=32, measure_every=100, lr=0.05, betas=(0.5, 0.999),
        latent_dim=2, generator_rng=torch.Generator().manual_seed(0))
    assert trace.steps.tolist() == [0, 100, 200, 300, 400]
    assert trace.d_fake[-1] < 0.05 < trace.d_fake[0]
    minimax, non_saturating = (trace.grad_norms[k] for k in losses)
    assert minimax[-1] < 0.2 * non_saturating[-1]
    # per fake logit: n dL/dl = -D (minimax), -(1 - D) (non-saturating)
    torch.testing.assert_close(torch.as_tensor(trace.logit_grads["minimax"]),
                               -torch.as_tensor(trace.d_fake_last))
    torch.testing.assert_close(torch.as_tensor(trace.logit_grads["non_saturating"]),
                               -(1 - torch.as_tensor(trace.d_fake_last)))
