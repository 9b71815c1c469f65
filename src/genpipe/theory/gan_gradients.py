"""The vanishing generator gradient (Goodfellow et al. 2014, sec. 3; Arjovsky &
Bottou 2017): with G fixed and D trained towards optimal, the minimax loss
E[log(1 - D(G(z)))] gives G a gradient that vanishes, the non-saturating
-E[log D(G(z))] one that does not.

In the fake logit l, d/dl log(1 - sigma(l)) = -sigma(l) = -D(G(z)) and
d/dl (-log sigma(l)) = -(1 - D(G(z))): as D rejects the fakes (D(G(z)) -> 0)
the first goes to 0 and the second to -1.

Plain torch: the networks and the losses are passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn

from genpipe.checks import Report, checks_table
from genpipe.theory.config import GanGradientConfig

Loss = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class GradientTrace:
    steps: np.ndarray  # D steps taken when measured
    grad_norms: dict[str, np.ndarray]  # loss name -> ||dL/d theta_G||
    d_fake: np.ndarray  # mean D(G(z)) on the measurement batch
    logit_grads: dict[str, np.ndarray]  # loss name -> n * dL/dl per fake (last)
    d_fake_last: np.ndarray  # D(G(z)) per fake, at the last measurement


def _grad_norm(loss: torch.Tensor, params: list[nn.Parameter]) -> float:
    grads = torch.autograd.grad(loss, params, retain_graph=True)
    return float(torch.sqrt(sum((g**2).sum() for g in grads)))


def trace_generator_gradients(generator: nn.Module, discriminator: nn.Module,
                              images: torch.Tensor, losses: dict[str, Loss],
                              d_loss: Loss, *, d_steps: int, batch_size: int,
                              measure_every: int, lr: float, betas: tuple[float, float],
                              latent_dim: int, generator_rng: torch.Generator,
                              ) -> GradientTrace:
    """Trains D alone (G frozen) and measures G's gradient norm under each loss.

    Args:
        images: Real images in [-1, 1], N x 1 x 28 x 28.
        losses: Generator losses of the fake logits, by name.
        d_loss: D's loss of (real logits, fake logits).
        generator_rng: Draws the batches, the noise and the fixed measurement z.
    """
    g_params = list(generator.parameters())
    optimiser = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    z_fixed = torch.randn(batch_size, latent_dim, generator=generator_rng)
    steps, norms, d_fake = [], {name: [] for name in losses}, []
    generator.eval()  # batch-norm statistics fixed: G does not change
    for step in range(d_steps + 1):
        if step % measure_every == 0 or step == d_steps:
            discriminator.eval()
            fake_logits = discriminator(generator(z_fixed))
            for name, loss in losses.items():
                norms[name].append(_grad_norm(loss(fake_logits), g_params))
            d_fake.append(float(torch.sigmoid(fake_logits.detach()).mean()))
            steps.append(step)
        if step == d_steps:
            break
        discriminator.train()
        rows = torch.randint(len(images), (batch_size,), generator=generator_rng)
        with torch.no_grad():
            fake = generator(torch.randn(batch_size, latent_dim,
                                         generator=generator_rng))
        loss = d_loss(discriminator(images[rows]), discriminator(fake))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    discriminator.eval()
    logits = discriminator(generator(z_fixed)).detach().requires_grad_(True)
    logit_grads = {name: batch_size * torch.autograd.grad(loss(logits), logits)[0]
                   for name, loss in losses.items()}
    return GradientTrace(np.asarray(steps),
                         {k: np.asarray(v) for k, v in norms.items()},
                         np.asarray(d_fake),
                         {k: v.numpy() for k, v in logit_grads.items()},
                         torch.sigmoid(logits).detach().numpy())


def gradient_figure(trace: GradientTrace) -> Figure:
    figure = Figure(figsize=(11, 4.2))
    left, right = figure.subplots(1, 2)
    for name, norms in trace.grad_norms.items():
        left.semilogy(trace.steps, norms, "o-", ms=3, label=name.replace("_", "-"))
    left.set(title="Generator gradient norm ‖∇_θG L_G‖ (G fixed, untrained)",
             xlabel="discriminator steps", ylabel="gradient norm")
    left.legend()
    right.semilogy(trace.steps, trace.d_fake, "k.-")
    right.set(title="Mean D(G(z)): D learns to reject the fakes",
              xlabel="discriminator steps", ylabel="D(G(z))")
    figure.tight_layout()
    return figure


def gan_gradient(config: GanGradientConfig, generator: nn.Module,
                 discriminator: nn.Module, images: torch.Tensor,
                 losses: dict[str, Loss], d_loss: Loss,
                 generator_rng: torch.Generator) -> Report:
    """The experiment end to end. Checks: per fake, n dL/dl by autograd
    against -D(G(z)) (minimax) and -(1 - D(G(z))) (non-saturating)."""
    trace = trace_generator_gradients(
        generator, discriminator, images, losses, d_loss, d_steps=config.d_steps,
        batch_size=config.batch_size, measure_every=config.measure_every,
        lr=config.lr, betas=(config.beta1, 0.999), latent_dim=config.latent_dim,
        generator_rng=generator_rng)
    closed = {"minimax": -trace.d_fake_last,
              "non_saturating": -(1 - trace.d_fake_last)}
    checks = checks_table([(f"{name}_logit_grad_fake{i}", float(g), float(c))
                           for name, grads in trace.logit_grads.items()
                           for i, (g, c) in enumerate(zip(grads, closed[name],
                                                          strict=True))][::8])
    table = pd.DataFrame({"d_step": trace.steps, "d_fake": trace.d_fake,
                          **{f"grad_norm_{k}": v for k, v in trace.grad_norms.items()}})
    metrics: dict = {"d_fake_end": float(trace.d_fake[-1]),
                     "logit_grad_max_abs_error": float(checks["abs_error"].max())}
    for name, norms in trace.grad_norms.items():
        metrics[f"grad_norm_{name}_start"] = float(norms[0])
        metrics[f"grad_norm_{name}_end"] = float(norms[-1])
        metrics[f"grad_norm_{name}"] = [  # the curve, as an MLflow history
            {"value": float(v), "step": int(s)}
            for s, v in zip(trace.steps, norms, strict=True)]
    return Report(table, checks, gradient_figure(trace), metrics)
