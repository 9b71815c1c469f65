"""A small U-Net ε_θ(x, t) for 28 x 28 images (after Ho et al. 2020).

Resolutions 28 -> 14 -> 7 (stride-2 convolutions; nearest-neighbour upsampling
back), residual blocks that add a projection of the time embedding, skip
connections from every down block to its up block, and multi-head
self-attention at the lowest resolution (7 x 7). The network knows no betas:
`t` is an integer index (a DDPM time step, or an NCSN noise level), embedded
sinusoidally (Vaswani et al. 2017). An optional class label (with a learned
"no class" token for classifier-free guidance) is added to that embedding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0
                       ) -> torch.Tensor:
    """B x dim: [sin(t ω_k), cos(t ω_k)] with ω_k = max_period^(−k/(dim/2))."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period)
                      * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    embedding = torch.cat([angles.sin(), angles.cos()], dim=1)
    return F.pad(embedding, (0, dim % 2))


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(8 if channels % 8 == 0 else 1, channels)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, the time embedding added in between, and a
    (1 x 1 when the width changes) residual connection."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = _norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head self-attention over the H·W positions, residual."""

    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.norm = _norm(channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2)  # B x HW x C
        out, _ = self.attn(tokens, tokens, tokens, need_weights=False)
        return x + out.transpose(1, 2).view(b, c, h, w)


class UNet(nn.Module):
    """ε_θ(x, t[, y]): B x C x 28 x 28 -> B x C x 28 x 28.

    Args:
        channels: Width at 28 x 28; level k has `channels * mults[k]`.
        mults: One entry per resolution, 28, 14, 7 (so at most three).
        blocks: Residual blocks per level on the way down (one more going up).
        heads: Attention heads at the lowest resolution (0: no attention).
        num_classes: > 0 adds a class embedding; label `num_classes` means
            "no class" (the unconditional model of classifier-free guidance).
    """

    def __init__(self, in_channels: int = 1, channels: int = 32,
                 mults: Sequence[int] = (1, 2, 2), blocks: int = 1, heads: int = 4,
                 dropout: float = 0.1, num_classes: int = 0):
        super().__init__()
        if not 1 <= len(mults) <= 3:
            raise ValueError("28 x 28 halves twice at most: 1 to 3 levels")
        self.channels, self.num_classes = channels, num_classes
        emb_dim = 4 * channels
        self.time_mlp = nn.Sequential(nn.Linear(channels, emb_dim), nn.SiLU(),
                                      nn.Linear(emb_dim, emb_dim))
        self.label_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes \
            else None
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1)
        widths = [channels * m for m in mults]
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        skips, width = [channels], channels
        for level, w in enumerate(widths):
            for _ in range(blocks):
                self.down.append(ResBlock(width, w, emb_dim, dropout))
                width = w
                skips.append(width)
            if level < len(widths) - 1:
                self.downsample.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
                skips.append(width)
        self.mid1 = ResBlock(width, width, emb_dim, dropout)
        self.mid_attn = Attention(width, heads) if heads else nn.Identity()
        self.mid2 = ResBlock(width, width, emb_dim, dropout)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for level, w in reversed(list(enumerate(widths))):
            for _ in range(blocks + 1):
                self.up.append(ResBlock(width + skips.pop(), w, emb_dim, dropout))
                width = w
            if level > 0:
                self.upsample.append(nn.Conv2d(width, width, 3, padding=1))
        self.blocks, self.levels = blocks, len(widths)
        self.out = nn.Sequential(_norm(width), nn.SiLU(),
                                 nn.Conv2d(width, in_channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)  # starts predicting 0
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor,
                y: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time_mlp(timestep_embedding(t, self.channels))
        if self.label_emb is not None:
            if y is None:  # unconditional: the "no class" token
                y = torch.full_like(t, self.num_classes)
            emb = emb + self.label_emb(y)
        h = self.stem(x)
        hs, down = [h], iter(self.down)
        for level in range(self.levels):
            for _ in range(self.blocks):
                h = next(down)(h, emb)
                hs.append(h)
            if level < self.levels - 1:
                h = self.downsample[level](h)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        up = iter(self.up)
        for level in range(self.levels):
            for _ in range(self.blocks + 1):
                h = next(up)(torch.cat([h, hs.pop()], 1), emb)
            if level < self.levels - 1:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
                h = self.upsample[level](h)
        return self.out(h)
