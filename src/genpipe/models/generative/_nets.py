"""Building blocks shared by the families' networks."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

PIXELS = 28 * 28


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU,
        last: nn.Module | None = None) -> nn.Sequential:
    """Linear layers `sizes[0] -> ... -> sizes[-1]`, `activation` between them,
    `last` (if any) after the final one."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    if last is not None:
        layers.append(last)
    return nn.Sequential(*layers)
