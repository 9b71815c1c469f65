"""k-sparse AE (Makhzani & Frey, 2013): a linear code z = W x + b of which only
the k largest entries are kept; the decoder sees (and gradients flow through)
those k only."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator

from genpipe.models.generative.ae import AutoEncoder
from genpipe.models.generative.ae import Config as AEConfig


class Config(AEConfig):
    hidden: tuple[int, ...] = ()  # the paper's single linear encoder layer
    latent_dim: int = Field(256, ge=1)
    k: int = Field(32, ge=1)

    @model_validator(mode="after")
    def _k_fits(self) -> Config:
        if self.k > self.latent_dim:
            raise ValueError(f"k ({self.k}) > latent_dim ({self.latent_dim})")
        return self


def top_k_mask(z: torch.Tensor, k: int) -> torch.Tensor:
    """1 at the k largest entries of each row of `z`, 0 elsewhere."""
    return torch.zeros_like(z).scatter_(1, z.topk(k, dim=1).indices, 1.0)


class KSparseAutoEncoder(AutoEncoder):
    Config = Config

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x.flatten(1))
        # The product zeroes both the dropped units and their gradients.
        return z * top_k_mask(z.detach(), self.config.k)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        mse = F.mse_loss(self.reconstruct(x), x)
        return {"loss": mse, "mse": mse}


MODEL = KSparseAutoEncoder
