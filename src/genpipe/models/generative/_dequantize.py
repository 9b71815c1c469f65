"""Continuous densities on 8-bit images: uniform dequantization and bits/dim.

A density p on [0, 1]^D is turned into a likelihood of the discrete 8-bit
image k ∈ {0..255}^D by dequantization (Theis et al., 2016; Uria et al., 2013):
y = (k + u) / 256 with u ~ U[0, 1)^D. Then

    log P(k) >= E_u[log p((k + u) / 256)] − D log 256,

so −log p(y) + D ln 256 (nats per image) is an upper bound on the discrete NLL,
reported as bits/dim by `bits_per_dim(nll, D, 256)`.
Models are fitted on dequantized training images and scored on one dequantized
draw of the test images (the torch RNG, seeded by the node).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from genpipe.config import GenerativeDataConfig, ModelConfig
from genpipe.models.generative._base import GenerativeModel

LEVELS = 256


class DequantizedDensity(GenerativeModel):
    """A classical density on dequantized 8-bit pixels (PPCA, the GMM): fitted
    in closed form or by EM in `after_fit`, no gradient loop, no
    reconstructions; sampled with and without its per-pixel noise."""

    reconstructs = False
    group = "classical"
    samples = True
    trainable = False
    samplers = ("ancestral", "noise_free")
    what: ClassVar[str]  # the model, as the binarize error names it

    @classmethod
    def check_data(cls, config: ModelConfig,
                   data: GenerativeDataConfig) -> dict[str, str]:
        if data.binarize:
            return {"binarize": f"must be false: {cls.what} is a density on "
                                "dequantized 8-bit pixels (bits/dim)"}
        return {}


def dequantize(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] intensities k / 255 -> (k + u) / 256, u ~ U[0, 1) (torch RNG);
    N x ... -> N x D float64."""
    k = (x.flatten(1).double() * (LEVELS - 1)).round()
    return (k + torch.rand_like(k)) / LEVELS


def bits_per_dim(nll_nats: float, num_dims: int, num_bins: int | None = None) -> float:
    """Negative log-likelihood per image (nats) -> bits per dimension.

    With `num_bins` (256 for 8-bit images) the NLL is a continuous density of
    data rescaled to [0, 1], dequantized uniformly: the discrete likelihood of
    the bins adds D ln(num_bins) nats, -ln P(x) = -ln p(x) + D ln(num_bins).
    """
    if num_bins is not None:
        nll_nats = nll_nats + num_dims * np.log(num_bins)
    return float(nll_nats / (num_dims * np.log(2)))
