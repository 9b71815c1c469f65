"""Latent diffusion (Rombach et al., 2022) at MNIST scale, class-conditional
with classifier-free guidance (Ho & Salimans, 2022).

Two stages. The first is the trained `ae` family, read from the catalog and
frozen: its encoder E maps a 28 x 28 image to a latent z = E(x) of
`ae.model.latent_dim` numbers, its decoder D maps latents back to images. The
second is a DDPM (Ho et al., 2020) on those latents, standardised per
dimension with the training latents' mean and standard deviation (the role of
Rombach et al.'s scale factor: the forward process assumes data of unit scale):

    z_0 = (E(x) − μ) / s,   z_t = √ᾱ_t z_0 + √(1 − ᾱ_t) ε,
    L_simple = E ||ε − ε_θ(z_t, t, y)||²,

with the project's noise schedule and samplers (DDPM ancestral over T steps,
or `ddpm_steps` of them respaced, DDIM over S), and a small residual MLP as
ε_θ (a latent vector has no spatial structure for a U-Net). Images are
D(s ⊙ z_0 + μ).

Conditioning is the stand-in for a text prompt: the label y ("7") is embedded
and added to the time embedding; during training it is replaced by the null
label ∅ with probability `p_uncond`, so one network is both ε_θ(z, t, y) and
ε_θ(z, t, ∅), and sampling uses

    ε̃ = (1 + w) ε_θ(z_t, t, y) − w ε_θ(z_t, t, ∅).

The samplers `ddpm` and `ddim` use `guidance_scale`; `ddim_w<w>` sweep w over
`GUIDANCE_SWEEP` with DDIM, each scored under the protocol with the
evaluator's `label_accuracy` (samples draw the classes 0, 1, …, 9, 0, … in
turn), drawn against w in `latent_diffusion.sweep_plot`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from pydantic import Field

from genpipe.diffusion.guidance import drop_labels, guided_eps
from genpipe.diffusion.mlp import LatentMLP
from genpipe.diffusion.sampling import ddim_sample, ddpm_sample
from genpipe.models.generative._base import Classify, GenerativeModel, batched
from genpipe.models.generative._diffusion import (
    EMADiffusion,
    ScheduleConfig,
    make_schedulers,
)

NUM_CLASSES = 10
NULL_LABEL = NUM_CLASSES  # ∅
# The guidance scales the sweep scores (sampler `ddim_w<w>`: DDIM at that w).
GUIDANCE_SWEEP = {"ddim_w0": 0.0, "ddim_w1": 1.0, "ddim_w3": 3.0, "ddim_w5": 5.0}


class Config(ScheduleConfig):
    preview_steps: int = Field(10, ge=1)  # DDIM steps of the per-epoch snapshots
    width: int = Field(256, ge=8)  # the MLP's hidden width
    blocks: int = Field(3, ge=1)  # residual blocks
    dropout: float = Field(0.0, ge=0, lt=1)
    ema_decay: float = Field(0.999, ge=0, lt=1)
    p_uncond: float = Field(0.1, ge=0, le=1)  # label dropout in training
    guidance_scale: float = Field(1.0, ge=0)  # w of the `ddpm` and `ddim` samplers
    grid_columns: int = Field(4, ge=1, le=10)  # samples per class and w (figure)
    test_images: int = Field(1000, ge=1)  # for the test loss
    progress_bar: bool = False  # tqdm over sampling steps


class LatentDiffusion(EMADiffusion):
    Config = Config
    first_stage = "ae"
    samplers = ("ddpm", "ddim", *GUIDANCE_SWEEP)
    sweep = GUIDANCE_SWEEP
    sweep_setting = "guidance scale w"
    figures = ("guidance_grid",)

    def __init__(self, config: Config):
        # The latent size is the first stage's: the network is built on attach.
        super().__init__(config, net=torch.nn.Identity())
        self.first: GenerativeModel | None = None
        self.scheduler, self.ddpm_scheduler, self.ddpm_times = make_schedulers(config)

    # --- the first stage ------------------------------------------------------------
    def attach_first_stage(self, model: GenerativeModel) -> None:
        """Freezes the trained autoencoder and builds ε_θ for its latent size."""
        self.first = model.eval().requires_grad_(False)
        dim = model.config.latent_dim
        c = self.config
        self.net = LatentMLP(dim, c.width, c.blocks, c.dropout, NUM_CLASSES)
        self.ema = LatentMLP(dim, c.width, c.blocks, c.dropout, NUM_CLASSES)
        self.ema.load_state_dict(self.net.state_dict())
        self.ema.requires_grad_(False)
        self.register_buffer("latent_mean", torch.zeros(dim))
        self.register_buffer("latent_std", torch.ones(dim))

    def train(self, mode: bool = True) -> LatentDiffusion:
        super().train(mode)
        if self.first is not None:
            self.first.eval()  # frozen: never in training mode
        return self

    @torch.no_grad()
    def training_inputs(self, train: torch.Tensor, val: torch.Tensor,
                        batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised latents of the training and validation images; μ and s
        from the training latents."""
        train_z = batched(self.first.encode, train, batch_size)
        self.latent_mean.copy_(train_z.mean(0))
        self.latent_std.copy_(train_z.std(0).clamp(min=1e-6))
        return self.to_latent(train_z, encoded=True), self.to_latent(
            batched(self.first.encode, val, batch_size), encoded=True)

    def to_latent(self, x: torch.Tensor, encoded: bool = False) -> torch.Tensor:
        """z_0 = (E(x) − μ) / s (of codes E(x) already when `encoded`)."""
        z = x if encoded else self.first.encode(x)
        return (z - self.latent_mean) / self.latent_std

    def decode(self, z0: torch.Tensor) -> torch.Tensor:
        """Images D(s ⊙ z_0 + μ) in [0, 1]."""
        return self.first.decode(z0 * self.latent_std + self.latent_mean).clamp(0, 1)

    # --- training ---------------------------------------------------------------------
    def loss(self, z0: torch.Tensor, y: torch.Tensor | None,
             net: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
        """L_simple on standardised latents; labels dropped with p_uncond in
        training (the null label when `y` is None)."""
        net = self.net if net is None else net
        t = torch.randint(0, self.scheduler.timesteps, (len(z0),), device=z0.device)
        noise = torch.randn_like(z0)
        zt = self.scheduler.add_noise(z0, noise, t)
        if y is None:
            labels = torch.full_like(t, NULL_LABEL)
        else:
            labels = y.long()
            if self.training:  # classifier-free guidance
                labels = drop_labels(labels, self.config.p_uncond, NULL_LABEL)
        return {"loss": F.mse_loss(net(zt, t, labels), noise)}

    # --- sampling ---------------------------------------------------------------------
    def requested_labels(self, n: int) -> torch.Tensor:
        """The classes 0, 1, …, 9, 0, … in turn: the "prompts"."""
        return torch.arange(n, device=self.device) % NUM_CLASSES

    def eps(self, labels: torch.Tensor, w: float):
        """ε̃(z, t) of the EMA network for `labels`, guided with scale `w`."""
        if w == 0:
            return lambda z, t: self.ema(z, t, labels)
        null = torch.full_like(labels, NULL_LABEL)

        def guided(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            both = self.ema(torch.cat([z, z]), torch.cat([t, t]),
                            torch.cat([labels, null]))
            conditional, unconditional = both.chunk(2)
            return guided_eps(conditional, unconditional, w)
        return guided

    def _setting(self, sampler: str | None) -> tuple[str, int, float]:
        """(loop, steps, w) of `sampler`."""
        c = self.config
        if sampler == "ddpm":
            return "ddpm", len(self.ddpm_times), c.guidance_scale
        if sampler == "ddim":
            return "ddim", c.ddim_steps, c.guidance_scale
        if sampler in GUIDANCE_SWEEP:
            return "ddim", c.ddim_steps, GUIDANCE_SWEEP[sampler]
        if sampler is None:
            return "ddim", c.preview_steps, c.guidance_scale
        raise ValueError(f"unknown sampler {sampler!r}; known: {self.samplers}")

    def sample_latents(self, labels: torch.Tensor, sampler: str | None = None,
                       w: float | None = None) -> torch.Tensor:
        """Standardised latents z_0 for `labels` (w: overrides the sampler's)."""
        loop, steps, scale = self._setting(sampler)
        eps = self.eps(labels, scale if w is None else w)
        shape, c = (len(labels), self.latent_mean.numel()), self.config
        if loop == "ddpm":
            return ddpm_sample(eps, self.ddpm_scheduler, shape, c.variance,
                               self.device, c.progress_bar, times=self.ddpm_times)
        return ddim_sample(eps, self.scheduler, shape, steps, 0.0, self.device,
                           c.progress_bar and sampler is not None)

    @torch.no_grad()
    def sample(self, n: int, sampler: str | None = None) -> torch.Tensor:
        """`n` images of the classes `requested_labels(n)`; `ddpm`: T steps (or
        `ddpm_steps`), `ddim` and `ddim_w<w>`: S steps, None: DDIM with
        `preview_steps`."""
        return self.decode(self.sample_latents(self.requested_labels(n), sampler))

    def sampling_cost(self, sampler: str | None = None) -> dict[str, float]:
        _, steps, w = self._setting(sampler)
        return {"nfe_per_image": float(steps * (2 if w > 0 else 1))}

    # --- evaluation -------------------------------------------------------------------
    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        """The first stage's test reconstruction MSE (the floor of every
        sample's quality) and L_simple of the EMA network on test latents
        (labels dropped: the unconditional model)."""
        recon = batched(self.first.reconstruct, x, batch_size)
        z0 = batched(self.to_latent, x[: self.config.test_images], batch_size)
        return {"first_stage_test_mse": F.mse_loss(recon, x).item(),
                "test_loss": self.test_loss(z0, batch_size)}

    @torch.no_grad()
    def report(self, x: torch.Tensor, y: torch.Tensor, classify: Classify | None
               ) -> tuple[dict[str, float], dict[str, Figure]]:
        """The prompt grid: each class (a row) at each swept w (blocks of
        `grid_columns` samples, the same noise for every w)."""
        k, ws = self.config.grid_columns, list(GUIDANCE_SWEEP.values())
        labels = torch.arange(NUM_CLASSES, device=self.device).repeat_interleave(k)
        noise = torch.randn(len(labels), self.latent_mean.numel(), device=self.device)
        blocks = []
        for w in ws:
            z0 = ddim_sample(self.eps(labels, w), self.scheduler, noise.shape,
                             self.config.ddim_steps, 0.0, self.device, x=noise.clone())
            blocks.append(self.decode(z0).view(NUM_CLASSES, k, 28, 28).cpu())
        grid = torch.cat(blocks, 1)  # classes x (len(ws) k) x 28 x 28
        tiles = grid.permute(0, 2, 1, 3).reshape(NUM_CLASSES * 28, len(ws) * k * 28)
        figure = Figure(figsize=(len(ws) * k * 0.45 + 0.8, NUM_CLASSES * 0.45 + 0.8))
        axes = figure.subplots()
        axes.imshow(tiles.numpy(), cmap="gray", vmin=0, vmax=1,
                    interpolation="nearest")
        axes.set_yticks(np.arange(NUM_CLASSES) * 28 + 14,
                        [f'"{c}"' for c in range(NUM_CLASSES)], fontsize=7)
        axes.set_xticks(np.arange(len(ws)) * k * 28 + k * 14,
                        [f"w = {w:g}" for w in ws], fontsize=7)
        for i in range(1, len(ws)):
            axes.axvline(i * k * 28 - 0.5, color="red", linewidth=0.8)
        axes.set_title("latent_diffusion: prompt (row) → samples, by guidance "
                       "scale w (same noise)", fontsize=8)
        figure.tight_layout()
        return {}, {"guidance_grid": figure}


MODEL = LatentDiffusion
