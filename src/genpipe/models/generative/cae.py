"""Contractive AE (Rifai et al., 2011): penalise the encoder's sensitivity.

For the one-layer sigmoid encoder h = σ(W x + b) the Jacobian is
J = diag(h ⊙ (1 − h)) W, so its squared Frobenius norm is exact and cheap:
||J||²_F = Σ_j (h_j (1 − h_j))² Σ_i W_ji². The loss is MSE + λ ||J||²_F
(averaged over the batch).
"""

from __future__ import annotations

import torch
from pydantic import Field, field_validator
from torch import nn

from genpipe.models.generative.ae import AutoEncoder
from genpipe.models.generative.ae import Config as AEConfig


class Config(AEConfig):
    hidden: tuple[int, ...] = ()  # the penalty is exact for one encoder layer
    latent_dim: int = Field(128, ge=1)
    lam: float = Field(1e-4, ge=0)  # λ, the penalty weight

    @field_validator("hidden")
    @classmethod
    def _one_layer(cls, hidden: tuple[int, ...]) -> tuple[int, ...]:
        if hidden:
            raise ValueError("the exact penalty is for one encoder layer: hidden: []")
        return hidden


def contractive_penalty(h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ||∂h/∂x||²_F for h = σ(W x + b), W = `weight`."""
    return ((h * (1 - h)) ** 2 @ (weight**2).sum(1)).mean()


class ContractiveAutoEncoder(AutoEncoder):
    Config = Config

    def code_activation(self) -> nn.Module:
        return nn.Sigmoid()

    def code_penalty(self, h):
        penalty = contractive_penalty(h, self.encoder[0].weight)
        return self.config.lam * penalty, {"jacobian_frobenius2": penalty}


MODEL = ContractiveAutoEncoder
