"""Denoising AE (Vincent et al., 2008): reconstruct the clean x from a corrupted x̃.

The corruption process q(x̃ | x) is a parameter:
* `gaussian`: x̃ = clip(x + σ ε, 0, 1), ε ~ N(0, I), σ = `noise`;
* `masking`: each pixel set to 0 with probability `noise`;
* `salt_and_pepper`: each pixel, with probability `noise`, set to 0 or 1
  (a fair coin).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from genpipe.models.generative.ae import AutoEncoder
from genpipe.models.generative.ae import Config as AEConfig


class Config(AEConfig):
    corruption: Literal["gaussian", "masking", "salt_and_pepper"] = "gaussian"
    noise: float = Field(0.3, gt=0, le=1)  # σ, or the corrupted fraction


def corrupt(x: torch.Tensor, kind: str, noise: float) -> torch.Tensor:
    """A draw of x̃ ~ q(x̃ | x) (global torch RNG)."""
    if kind == "gaussian":
        return (x + noise * torch.randn_like(x)).clamp(0, 1)
    hit = torch.rand_like(x) < noise
    if kind == "masking":
        return x.masked_fill(hit, 0.0)
    if kind == "salt_and_pepper":
        salt = (torch.rand_like(x) < 0.5).to(x.dtype)
        return torch.where(hit, salt, x)
    raise ValueError(f"unknown corruption {kind!r}")


class DenoisingAutoEncoder(AutoEncoder):
    Config = Config

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        noisy = corrupt(x, self.config.corruption, self.config.noise)
        mse = F.mse_loss(self.reconstruct(noisy), x)  # against the clean input
        return {"loss": mse, "mse": mse}

    def denoise_metrics(self, x: torch.Tensor) -> dict[str, float]:
        noisy = corrupt(x, self.config.corruption, self.config.noise)
        return {"denoising_mse": F.mse_loss(self.reconstruct(noisy), x).item(),
                "corrupted_mse": F.mse_loss(noisy, x).item()}

    @torch.no_grad()
    def test_metrics(self, x: torch.Tensor, batch_size: int) -> dict[str, float]:
        """MSE of denoised and of corrupted test images against the clean ones."""
        rows = [(len(c), self.denoise_metrics(c)) for c in x.split(batch_size)]
        return {key: sum(n * row[key] for n, row in rows) / len(x)
                for key in rows[0][1]}


MODEL = DenoisingAutoEncoder
