"""Classifier-free guidance (Ho & Salimans 2022), as two pure functions.

Training drops the label with probability p_uncond (replaced by the null label
∅), so one network learns both ε_θ(x, t, y) and ε_θ(x, t, ∅); sampling mixes
them with the guidance scale w:

    ε̃ = (1 + w) ε_θ(x, t, y) − w ε_θ(x, t, ∅)          (Ho & Salimans, eq. 6)

w = 0 is the conditional model alone; larger w trades diversity for samples
that the class recognises more surely.
"""

from __future__ import annotations

import torch


def drop_labels(labels: torch.Tensor, p_uncond: float, null_label: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """A copy of `labels` with each entry replaced by `null_label` with
    probability `p_uncond` (independently; the global RNG unless `generator`)."""
    drop = torch.rand(labels.shape, generator=generator,
                      device=labels.device) < p_uncond
    return labels.masked_fill(drop, null_label)


def guided_eps(conditional: torch.Tensor, unconditional: torch.Tensor,
               w: float) -> torch.Tensor:
    """ε̃ = (1 + w) ε(x, y) − w ε(x, ∅) (Ho & Salimans 2022, eq. 6)."""
    return (1 + w) * conditional - w * unconditional
