"""Strips of images through a process: one row per image, one column per step."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from matplotlib.figure import Figure


def strip_figure(frames: Sequence[torch.Tensor], labels: Sequence[str],
                 title: str) -> Figure:
    """`frames[k]` (n x 1 x 28 x 28 in [0, 1]) is column k, headed `labels[k]`."""
    if len(frames) != len(labels):
        raise ValueError("one label per frame")
    tiles = torch.stack([f[:, 0].detach().float().cpu().clamp(0, 1) for f in frames])
    columns, rows, h, w = tiles.shape
    grid = tiles.permute(1, 2, 0, 3).reshape(rows * h, columns * w)
    figure = Figure(figsize=(columns * 0.6 + 0.4, rows * 0.6 + 0.7))
    axes = figure.subplots()
    axes.imshow(grid.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes.set_xticks([k * w + w / 2 for k in range(columns)], list(labels), fontsize=6)
    axes.set_yticks([])
    axes.set_title(title, fontsize=8)
    figure.tight_layout()
    return figure
