"""DDPM (Ho et al., 2020): a U-Net ε_θ(x_t, t) trained to predict the noise.

Images are scaled to [−1, 1]; the forward process adds Gaussian noise along a
fixed schedule β_1 … β_T (linear 1e-4 → 0.02 over T = 1000, or cosine), with
the closed form x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε. Training minimises

    L_simple = E_{t, x_0, ε} ||ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)||²

with t uniform; an EMA of the weights samples. Two samplers:

* `ddpm`: ancestral sampling (Algorithm 2), σ²_t = β_t or β̃_t, over all T
  steps or, with `ddpm_steps` = S', a process respaced to S' of them (Nichol &
  Dhariwal 2021, §4; diffusion/schedule.py) — T/S' times fewer evaluations;
* `ddim`: the deterministic DDIM update (η = 0) over S ≪ T steps (Song et al.
  2021) — the same network, 1000/S times fewer evaluations.

Optionally class-conditional with classifier-free guidance (Ho & Salimans
2022): the label is dropped with probability `p_uncond` in training, and
sampling uses ε̃ = (1 + w) ε_θ(x, t, y) − w ε_θ(x, t, ∅).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from pydantic import Field

from genpipe.diffusion.figures import strip_figure
from genpipe.diffusion.sampling import ddim_sample, ddpm_sample
from genpipe.models.generative._base import Classify
from genpipe.models.generative._diffusion import (
    EMADiffusion,
    ScheduleConfig,
    UNetConfig,
    make_schedulers,
)

NUM_CLASSES = 10


class Config(UNetConfig, ScheduleConfig):
    ddim_eta: float = Field(0.0, ge=0, le=1)  # 0: deterministic DDIM
    class_conditional: bool = False
    p_uncond: float = Field(0.1, ge=0, le=1)  # label dropout in training
    guidance_scale: float = Field(0.0, ge=0)  # w; 0: the conditional model alone


class DDPM(EMADiffusion):
    Config = Config
    samplers = ("ddpm", "ddim")
    figures = ("forward_process", "reverse_process")

    def __init__(self, config: Config):
        super().__init__(config, NUM_CLASSES if config.class_conditional else 0)
        self.scheduler, self.ddpm_scheduler, self.ddpm_times = make_schedulers(config)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None,
             net: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
        """L_simple on a batch: one uniform t and one ε per image."""
        net = self.net if net is None else net
        x0 = 2 * x - 1
        t = torch.randint(0, self.scheduler.timesteps, (len(x),), device=x.device)
        noise = torch.randn_like(x0)
        xt = self.scheduler.add_noise(x0, noise, t)
        labels = None
        if self.config.class_conditional:
            labels = torch.full_like(t, NUM_CLASSES) if y is None else y.clone()
            if y is not None and self.training:  # classifier-free guidance
                drop = torch.rand(len(x), device=x.device) < self.config.p_uncond
                labels[drop] = NUM_CLASSES
        return {"loss": F.mse_loss(net(xt, t, labels), noise)}

    def _eps(self, n: int):
        """ε_θ of the EMA network for `n` images (guided if conditional)."""
        if not self.config.class_conditional:
            return lambda x, t: self.ema(x, t)
        labels = torch.arange(n, device=self.device) % NUM_CLASSES
        w = self.config.guidance_scale
        if w == 0:
            return lambda x, t: self.ema(x, t, labels)
        null = torch.full_like(labels, NUM_CLASSES)

        def guided(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            both = self.ema(torch.cat([x, x]), torch.cat([t, t]),
                            torch.cat([labels, null]))
            conditional, unconditional = both.chunk(2)
            return (1 + w) * conditional - w * unconditional  # Ho & Salimans eq. 6
        return guided

    def sample(self, n: int, sampler: str | None = None) -> torch.Tensor:
        """`ddpm` (`ddpm_steps`, else T), `ddim` (S steps), None: DDIM with
        `preview_steps`.

        A conditional model draws the classes 0, 1, …, 9, 0, … in turn.
        """
        shape, c = (n, 1, 28, 28), self.config
        if sampler == "ddpm":
            x = ddpm_sample(self._eps(n), self.ddpm_scheduler, shape, c.variance,
                            self.device, c.progress_bar, times=self.ddpm_times)
        elif sampler in ("ddim", None):
            steps = c.ddim_steps if sampler else c.preview_steps
            x = ddim_sample(self._eps(n), self.scheduler, shape, steps, c.ddim_eta,
                            self.device, c.progress_bar and sampler is not None)
        else:
            raise ValueError(f"unknown sampler {sampler!r}; known: {self.samplers}")
        return ((x + 1) / 2).clamp(0, 1)

    def sampling_cost(self, sampler: str | None = None) -> dict[str, float]:
        steps = {"ddpm": len(self.ddpm_times), "ddim": self.config.ddim_steps,
                 None: self.config.preview_steps}[sampler]
        guided = self.config.class_conditional and self.config.guidance_scale > 0
        return {"nfe_per_image": float(steps * (2 if guided else 1))}

    @torch.no_grad()
    def report(self, x: torch.Tensor, y: torch.Tensor, classify: Classify | None
               ) -> tuple[dict[str, float], dict[str, Figure]]:
        """Forward and reverse strips, the reverse one by the `ddpm` sampler
        (respaced: its columns are among the times it visits); for a conditional
        model, how often the evaluator sees the requested class in DDIM samples."""
        c, big_t, steps = self.config, self.scheduler.timesteps, len(self.ddpm_times)
        n = min(c.strip_images, len(x))
        visited = np.array([0, *(t + 1 for t in self.ddpm_times)])  # papers' times
        times = visited[np.unique(np.linspace(0, steps, c.strip_steps).round()
                                  .astype(int))]
        x0 = 2 * x[:n] - 1
        noise = torch.randn_like(x0)
        forward = [x0 if t == 0 else self.scheduler.add_noise(
            x0, noise, torch.full((n,), t - 1, device=x.device)) for t in times]
        frames: dict[int, torch.Tensor] = {}
        start = torch.randn(n, 1, 28, 28, device=self.device)
        frames[big_t] = start
        ddpm_sample(self._eps(n), self.ddpm_scheduler, start.shape, c.variance,
                    self.device, False, x=start,
                    record=lambda t, xt: frames.__setitem__(t, xt) if t in times
                    else None, times=self.ddpm_times)
        reverse = [frames[t] for t in times[::-1]]

        def shown(images: list[torch.Tensor]) -> list[torch.Tensor]:
            return [((im + 1) / 2).clamp(0, 1) for im in images]

        figures = {
            "forward_process": strip_figure(
                shown(forward), [f"t={t}" for t in times],
                f"ddpm: forward process q(x_t | x_0), {c.schedule} schedule, "
                f"T={big_t}"),
            "reverse_process": strip_figure(
                shown(reverse), [f"t={t}" for t in times[::-1]],
                f"ddpm: reverse process ({steps} of {big_t} ancestral steps, EMA)"),
        }
        metrics = {}
        if c.class_conditional and classify is not None:
            samples = self.sample(10 * NUM_CLASSES, "ddim")
            wanted = np.arange(len(samples)) % NUM_CLASSES
            metrics["conditional_accuracy"] = float(
                (classify(samples).argmax(1) == wanted).mean())
        return metrics, figures


MODEL = DDPM
