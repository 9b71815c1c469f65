"""What the diffusion and score families share: a U-Net and its EMA copy; the
DDPM-style families also the schedule's config and schedulers.

The trained network `net` takes the gradient steps; `ema` follows it as an
exponential moving average of its weights (Ho et al. 2020, decay 0.9999 there)
and is the one that samples. Both are submodules, so both are in the state
dict: checkpointed, resumed bitwise and saved with the model.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from pydantic import Field, ValidationInfo, field_validator, model_validator

from genpipe.config import ModelConfig
from genpipe.diffusion.schedule import (
    NoiseScheduler,
    ddim_timesteps,
    make_betas,
    respace_betas,
)
from genpipe.diffusion.unet import UNet
from genpipe.models.generative._base import GenerativeModel


class ScheduleConfig(ModelConfig):
    """The noise schedule and the samplers' step counts of a DDPM-style family."""

    timesteps: int = Field(1000, ge=2)  # T
    schedule: Literal["linear", "cosine"] = "linear"
    # The linear schedule's β_1, β_T at T = 1000, scaled by 1000 / T (schedule.py).
    beta_start: float = Field(1e-4, gt=0, lt=1)
    beta_end: float = Field(0.02, gt=0, lt=1)
    # σ²_t of the ancestral sampler: β_t (upper bound) or β̃_t (lower bound).
    variance: Literal["beta", "beta_tilde"] = "beta"
    # S' of the ancestral sampler, respaced (Nichol & Dhariwal 2021); None: all T.
    ddpm_steps: int | None = Field(None, ge=1)
    ddim_steps: int = Field(50, ge=1)  # S
    # The default sampler (snapshots after each epoch): DDIM with this many steps.
    preview_steps: int = Field(20, ge=1)

    @field_validator("ddpm_steps")
    @classmethod
    def _ddpm_steps_fit(cls, steps: int | None, info: ValidationInfo) -> int | None:
        timesteps = info.data.get("timesteps")
        if steps is not None and timesteps is not None and steps > timesteps:
            raise ValueError(f"ddpm_steps must be <= timesteps ({timesteps})")
        return steps

    @model_validator(mode="after")
    def _steps_fit(self) -> ScheduleConfig:
        if max(self.ddim_steps, self.preview_steps) > self.timesteps:
            raise ValueError("ddim_steps and preview_steps must be <= timesteps")
        if self.beta_start >= self.beta_end:
            raise ValueError("beta_start must be < beta_end")
        return self


def make_schedulers(config: ScheduleConfig
                    ) -> tuple[NoiseScheduler, NoiseScheduler, list[int]]:
    """The scheduler of all T steps (training, DDIM), the ancestral sampler's
    respaced to `ddpm_steps` indices τ_1 < … < τ_S, and τ.

    τ is the DDIM grid (`ddim_timesteps`, increasing): round(k (T − 1)/(S − 1)),
    k = 0 … S − 1, so it starts at 0 and ends at T − 1 (τ = (T − 1) alone for
    S = 1); at T = 1000, S = 250 these are Nichol & Dhariwal's indices
    (`space_timesteps`). S = T respaces nothing: the original tables, bitwise.
    """
    betas = make_betas(config.schedule, config.timesteps, config.beta_start,
                       config.beta_end)
    steps = config.ddpm_steps or config.timesteps
    times = ddim_timesteps(config.timesteps, steps)[::-1]  # increasing
    return NoiseScheduler(betas), NoiseScheduler(respace_betas(betas, times)), times


class UNetConfig(ModelConfig):
    lr: float = Field(2e-4, gt=0, le=1)
    channels: int = Field(32, ge=1)  # width at 28 x 28
    channel_mults: tuple[int, ...] = Field((1, 2, 2), min_length=1, max_length=3)
    blocks: int = Field(1, ge=1)  # residual blocks per level
    attention_heads: int = Field(4, ge=0)  # at 7 x 7 (0: none)
    dropout: float = Field(0.1, ge=0, lt=1)
    ema_decay: float = Field(0.999, ge=0, lt=1)
    # Images of the forward/reverse-process strips and their columns.
    strip_images: int = Field(8, ge=1, le=32)
    strip_steps: int = Field(10, ge=2, le=30)
    test_images: int = Field(1000, ge=1)  # for the test loss
    progress_bar: bool = True  # tqdm over sampling steps


class EMADiffusion(GenerativeModel):
    """A U-Net family (or another `net`): `net` is trained, `ema` samples."""

    reconstructs = False
    group = "diffusion"
    samples = True

    def __init__(self, config: UNetConfig, num_classes: int = 0,
                 net: torch.nn.Module | None = None):
        super().__init__(config)
        self.net = net if net is not None else UNet(
            channels=config.channels, mults=config.channel_mults,
            blocks=config.blocks, heads=config.attention_heads,
            dropout=config.dropout, num_classes=num_classes)
        self.ema = copy.deepcopy(self.net).requires_grad_(False)
        self.register_buffer("ema_updates", torch.tensor(0, dtype=torch.long))

    def configure_optimizers(self):
        return torch.optim.Adam(self.net.parameters(), lr=self.config.lr,
                                weight_decay=self.config.weight_decay)

    @torch.no_grad()
    def update_ema(self) -> None:
        """θ_ema ← d θ_ema + (1 − d) θ, with d warmed up as min(decay,
        (1 + n)/(10 + n)) so the average forgets the random start quickly."""
        n = self.ema_updates.item()
        decay = min(self.config.ema_decay, (1 + n) / (10 + n))
        for ema, live in zip(self.ema.parameters(), self.net.parameters(),
                             strict=True):
            ema.lerp_(live, 1 - decay)
        for ema, live in zip(self.ema.buffers(), self.net.buffers(), strict=True):
            ema.copy_(live)
        self.ema_updates += 1

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        self.update_ema()  # after the optimizer step

    def test_loss(self, x: torch.Tensor, batch_size: int) -> float:
        """The training objective of the EMA network on the first `test_images`
        (unconditional: labels are not passed to `test_metrics`)."""
        x = x[: self.config.test_images]
        total = sum(self.loss(c, None, net=self.ema)["loss"].item() * len(c)
                    for c in x.split(batch_size))
        return total / len(x)

    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        """`test_loss`: the family's objective (DDPM's L_simple, NCSN's weighted
        denoising score matching) of the EMA network on test images."""
        return {"test_loss": self.test_loss(x, batch_size)}

    def loss(self, x: torch.Tensor, y: torch.Tensor | None,
             net: torch.nn.Module | None = None) -> dict[str, torch.Tensor]:
        raise NotImplementedError
