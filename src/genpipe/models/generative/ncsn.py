"""NCSN (Song & Ermon, 2019): a noise-conditional score network s_θ(x, σ_i)
trained by denoising score matching, sampled by annealed Langevin dynamics.

The noise levels form a geometric sequence σ_1 > … > σ_L. For x̃ = x + σ z the
score of the perturbation kernel is −(x̃ − x)/σ², so the loss at level σ is

    ℓ(θ; σ) = ½ E ||s_θ(x̃, σ) + (x̃ − x)/σ²||²,

weighted by λ(σ) = σ² (which makes every level's term of order one) and
averaged over a uniformly drawn level per image. The network is the DDPM's
U-Net conditioned on the level index i instead of a time step; with
`scale_by_sigma` its output is divided by σ_i (Song & Ermon 2020), so it
predicts −z and the score's 1/σ growth is not learnt.

As in the paper, images stay in [0, 1] (σ_1 = 1, σ_L = 0.01, L = 10).
Two samplers: `langevin`, the paper's Algorithm 1, ending with σ_L noise in
the images, and `langevin_denoised`, the same chain plus one Tweedie step
x + σ_L² s_θ(x, σ_L) (Song & Ermon 2020; Jolicoeur-Martineau et al. 2021)
that removes it — a large difference in FID for one more network evaluation.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from pydantic import Field, model_validator

from genpipe.diffusion.figures import strip_figure
from genpipe.diffusion.sampling import annealed_langevin, tweedie_denoise
from genpipe.diffusion.schedule import geometric_sigmas
from genpipe.models.generative._base import Classify
from genpipe.models.generative._diffusion import EMADiffusion, UNetConfig


class Config(UNetConfig):
    sigma_max: float = Field(1.0, gt=0)  # σ_1
    sigma_min: float = Field(0.01, gt=0)  # σ_L
    num_scales: int = Field(10, ge=2)  # L
    steps_per_level: int = Field(100, ge=1)  # T
    step_lr: float = Field(2e-5, gt=0)  # ε: α_i = ε σ_i² / σ_L²
    scale_by_sigma: bool = True  # s_θ(x, σ_i) = net(x, i) / σ_i
    preview_steps_per_level: int = Field(5, ge=1)  # the snapshots' sampler

    @model_validator(mode="after")
    def _sigmas_decrease(self) -> Config:
        if self.sigma_min >= self.sigma_max:
            raise ValueError("sigma_min must be < sigma_max")
        return self


class NCSN(EMADiffusion):
    Config = Config
    samplers = ("langevin", "langevin_denoised")
    continues = {"langevin_denoised": "langevin"}  # one chain, two samplers
    figures = ("reverse_process",)

    def __init__(self, config: Config):
        super().__init__(config)
        sigmas = geometric_sigmas(config.sigma_max, config.sigma_min,
                                  config.num_scales)
        self.register_buffer("sigmas", sigmas, persistent=False)

    def score(self, x: torch.Tensor, level: torch.Tensor,
              net: torch.nn.Module | None = None) -> torch.Tensor:
        """s_θ(x, σ_level)."""
        out = (self.ema if net is None else net)(x, level)
        if self.config.scale_by_sigma:
            out = out / self.sigmas[level].view(-1, 1, 1, 1)
        return out

    def loss(self, x: torch.Tensor, y: torch.Tensor | None,
             net: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
        """Σ_i λ(σ_i) ℓ(θ; σ_i) with one uniformly drawn level per image."""
        net = self.net if net is None else net
        level = torch.randint(0, len(self.sigmas), (len(x),), device=x.device)
        sigma = self.sigmas[level].view(-1, 1, 1, 1)
        perturbed = x + sigma * torch.randn_like(x)
        target = -(perturbed - x) / sigma**2  # ∇ log N(x̃; x, σ² I)
        score = self.score(perturbed, level, net)
        per_image = 0.5 * (score - target).pow(2).flatten(1).sum(1)
        return {"loss": (sigma.flatten() ** 2 * per_image).mean()}  # λ(σ) = σ²

    def _langevin(self, n: int, steps: int, denoise: bool, progress: bool,
                  record=None) -> torch.Tensor:
        c = self.config
        # x_0 ~ U[0, 1]: the paper's initialisation.
        start = torch.rand(n, 1, 28, 28, device=self.device)
        # The same Langevin *time* α·T per level whatever the step count.
        lr = c.step_lr * c.steps_per_level / steps
        return annealed_langevin(self.score, self.sigmas, start, steps, lr,
                                 denoise, progress, record)

    def sample(self, n: int, sampler: str | None = None) -> torch.Tensor:
        """`langevin`: L x T steps; `langevin_denoised`: then the Tweedie
        step; None: L x `preview_steps_per_level` steps and the Tweedie step
        (the snapshots), the step size scaled up to the same Langevin time."""
        if sampler is None:
            return self._langevin(n, self.config.preview_steps_per_level, True,
                                  False).clamp(0, 1)
        if sampler not in self.samplers:
            raise ValueError(f"unknown sampler {sampler!r}; known: {self.samplers}")
        return self.from_chain(self.chain(n, self.continues.get(sampler, sampler)),
                               sampler)

    def chain(self, n: int, sampler: str) -> torch.Tensor:
        """The `langevin` chain's last state, σ_L noise still in it."""
        return self._langevin(n, self.config.steps_per_level, False,
                              self.config.progress_bar)

    def from_chain(self, state: torch.Tensor, sampler: str) -> torch.Tensor:
        if sampler == "langevin_denoised":
            state = tweedie_denoise(self.score, self.sigmas, state)
        return state.clamp(0, 1)

    def sampling_cost(self, sampler: str | None = None) -> dict[str, float]:
        c = self.config
        steps = c.steps_per_level if sampler else c.preview_steps_per_level
        return {"nfe_per_image": float(c.num_scales * steps
                                       + (sampler != "langevin"))}

    @torch.no_grad()
    def report(self, x: torch.Tensor, y: torch.Tensor, classify: Classify | None
               ) -> tuple[dict[str, float], dict[str, Figure]]:
        """The state after each noise level of annealed Langevin dynamics."""
        c = self.config
        n = min(c.strip_images, len(x))
        frames: list[torch.Tensor] = []
        final = self._langevin(n, c.steps_per_level, True, False,
                               record=lambda i, state: frames.append(state.clone()))
        shown = np.unique(np.linspace(0, len(frames) - 1,
                                      min(c.strip_steps - 1, len(frames)))
                          .round().astype(int))
        images = [frames[i] for i in shown] + [final]
        labels = [f"σ={self.sigmas[i].item():.3g}" for i in shown] + \
            ["denoised"]
        return {}, {"reverse_process": strip_figure(
            [im.clamp(0, 1) for im in images], labels,
            f"ncsn: annealed Langevin, {c.steps_per_level} steps per level")}


MODEL = NCSN
