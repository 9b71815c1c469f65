"""Sparse AE: sigmoid code units pushed to an average activation ρ.

With ρ̂_j the mean activation of code unit j over the batch, the penalty is
β Σ_j KL(ρ || ρ̂_j), where KL(ρ || ρ̂) = ρ log(ρ/ρ̂) + (1 − ρ) log((1 − ρ)/(1 − ρ̂))
is the KL divergence between Bernoulli(ρ) and Bernoulli(ρ̂).
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from genpipe.models.generative.ae import AutoEncoder
from genpipe.models.generative.ae import Config as AEConfig

EPS = 1e-6


class Config(AEConfig):
    latent_dim: int = Field(128, ge=1)
    rho: float = Field(0.05, gt=0, lt=1)  # target mean activation
    beta: float = Field(0.1, ge=0)  # penalty weight


def sparsity_kl(rho: float, activations: torch.Tensor) -> torch.Tensor:
    """Σ_j KL(ρ || ρ̂_j), ρ̂_j the batch mean of column j of `activations`."""
    rho_hat = activations.mean(0).clamp(EPS, 1 - EPS)
    return (rho * torch.log(rho / rho_hat)
            + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


class SparseAutoEncoder(AutoEncoder):
    Config = Config

    def code_activation(self) -> nn.Module:
        return nn.Sigmoid()

    def code_penalty(self, h):
        sparsity = sparsity_kl(self.config.rho, h)
        return self.config.beta * sparsity, {"sparsity_kl": sparsity,
                                             "mean_activation": h.mean()}


MODEL = SparseAutoEncoder
