"""A small residual MLP ε_θ(z, t[, y]) for latent vectors (latent diffusion).

A latent of a few dozen numbers has no spatial structure for a U-Net's
convolutions to exploit, so the network is an MLP: the latent goes through
pre-norm residual blocks, each adding a projection of the sinusoidal time
embedding (Vaswani et al. 2017, as in the U-Net) and of an optional class
embedding with a learned null label ∅ for classifier-free guidance. Like the
U-Net it knows no betas, and its last layer starts at zero (predicting ε = 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genpipe.diffusion.unet import timestep_embedding


class ResidualMLPBlock(nn.Module):
    """h + Linear(SiLU(Linear(SiLU(LayerNorm(h)) ) + emb))."""

    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.first, self.second = nn.Linear(width, width), nn.Linear(width, width)
        self.emb = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        out = self.first(F.silu(self.norm(h))) + self.emb(F.silu(emb))
        return h + self.second(self.dropout(F.silu(out)))


class LatentMLP(nn.Module):
    """ε_θ(z, t[, y]): B x dim -> B x dim.

    Args:
        dim: The latent's size.
        width: Hidden width (also the embeddings').
        blocks: Residual blocks.
        num_classes: > 0 adds a class embedding; label `num_classes` is the
            null label ∅ (the unconditional model of classifier-free guidance).
    """

    def __init__(self, dim: int, width: int = 256, blocks: int = 3,
                 dropout: float = 0.0, num_classes: int = 0):
        super().__init__()
        self.width, self.num_classes = width, num_classes
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(),
                                      nn.Linear(width, width))
        self.label_emb = nn.Embedding(num_classes + 1, width) if num_classes \
            else None
        self.stem = nn.Linear(dim, width)
        self.blocks = nn.ModuleList(ResidualMLPBlock(width, dropout)
                                    for _ in range(blocks))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(),
                                 nn.Linear(width, dim))
        nn.init.zeros_(self.out[-1].weight)  # starts predicting 0
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, z: torch.Tensor, t: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time_mlp(timestep_embedding(t, self.width))
        if self.label_emb is not None:
            if y is None:  # unconditional: the null label
                y = torch.full_like(t, self.num_classes)
            emb = emb + self.label_emb(y)
        h = self.stem(z)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h)
