"""Integrated Gradients (Sundararajan et al. 2017, "Axiomatic attribution for
deep networks") of a differentiable model, with Captum.

IG_j(x) = (x_j - x'_j) * integral_0^1 dF(x' + a (x - x')) / dx_j da, along the
straight line from a baseline x' to x. Completeness: sum_j IG_j(x) = F(x) - F(x');
Captum's convergence delta is the Riemann sum's error on that identity.
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import IntegratedGradients


def integrated_gradients(model: torch.nn.Module, X: np.ndarray, baseline: np.ndarray,
                         n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Attributions of `model`'s scalar output (e.g. a logit) for every row.

    Args:
        model: Maps (n x d) to (n,); put in evaluation mode here.
        X: Rows to explain, in the model's input space (n x d).
        baseline: The path's start x' (d,).
        n_steps: Steps of the Gauss-Legendre rule along the path.

    Returns:
        Attributions (n x d) and the convergence deltas (n,), both float64.
    """
    model.eval()
    inputs = torch.as_tensor(X, dtype=torch.float32)
    start = torch.as_tensor(np.broadcast_to(baseline, X.shape).copy(),
                            dtype=torch.float32)
    attributions, delta = IntegratedGradients(model).attribute(
        inputs, baselines=start, n_steps=n_steps, return_convergence_delta=True)
    return (attributions.detach().numpy().astype(np.float64),
            delta.detach().numpy().astype(np.float64))
