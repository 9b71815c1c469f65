"""Continuous densities on 8-bit images: uniform dequantization and bits/dim.

A density p on [0, 1]^D is turned into a likelihood of the discrete 8-bit
image k ∈ {0..255}^D by dequantization (Theis et al., 2016; Uria et al., 2013):
y = (k + u) / 256 with u ~ U[0, 1)^D. Then

    log P(k) >= E_u[log p((k + u) / 256)] − D log 256,

so −log p(y) + D ln 256 (nats per image) is an upper bound on the discrete NLL,
reported as bits/dim by `genpipe.evaluation.metrics.bits_per_dim(nll, D, 256)`.
Models are fitted on dequantized training images and scored on one dequantized
draw of the test images (the torch RNG, seeded by the node).
"""

from __future__ import annotations

import torch

LEVELS = 256


def dequantize(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] intensities k / 255 -> (k + u) / 256, u ~ U[0, 1) (torch RNG);
    N x ... -> N x D float64."""
    k = (x.flatten(1).double() * (LEVELS - 1)).round()
    return (k + torch.rand_like(k)) / LEVELS
