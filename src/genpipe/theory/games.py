"""The Nash-equilibrium toy of the GAN lecture: min_x max_y f(x, y) = x y.

The only equilibrium is (0, 0). With step lr:
- simultaneous gradient descent-ascent z' = (I + lr J) z, J = [[0, -1], [1, 0]],
  multiplies |z| by sqrt(1 + lr^2) every step: it spirals out;
- alternating updates (x first, then y at the new x) have determinant 1 and
  keep Q = x^2 + y^2 - lr x y constant: they cycle forever;
- the running average of the alternating iterates converges to (0, 0);
- extragradient multiplies |z| by sqrt(1 - lr^2 + lr^4) < 1: it converges.
"""

from __future__ import annotations

import numpy as np


def simultaneous(start: tuple[float, float], lr: float, steps: int) -> np.ndarray:
    """x' = x - lr df/dx = x - lr y, y' = y + lr df/dy = y + lr x (both at z)."""
    path = [np.asarray(start, float)]
    for _ in range(steps):
        x, y = path[-1]
        path.append(np.array([x - lr * y, y + lr * x]))
    return np.stack(path)


def alternating(start: tuple[float, float], lr: float, steps: int) -> np.ndarray:
    """x' = x - lr y, then y' = y + lr x' (the ascent step sees the new x)."""
    path = [np.asarray(start, float)]
    for _ in range(steps):
        x, y = path[-1]
        x = x - lr * y
        path.append(np.array([x, y + lr * x]))
    return np.stack(path)


def extragradient(start: tuple[float, float], lr: float, steps: int) -> np.ndarray:
    """Look ahead z_half = z + lr F(z), then step z' = z + lr F(z_half),
    F(x, y) = (-y, x) (Korpelevich 1976)."""
    path = [np.asarray(start, float)]
    for _ in range(steps):
        x, y = path[-1]
        xh, yh = x - lr * y, y + lr * x
        path.append(np.array([x - lr * yh, y + lr * xh]))
    return np.stack(path)


def running_average(path: np.ndarray) -> np.ndarray:
    """The average of the iterates so far, at every step."""
    return np.cumsum(path, axis=0) / np.arange(1, len(path) + 1)[:, None]


def simultaneous_radius(r0: float, lr: float, t: np.ndarray) -> np.ndarray:
    """|z_t| = (1 + lr^2)^(t/2) |z_0| for simultaneous GDA."""
    return r0 * (1 + lr**2) ** (np.asarray(t) / 2)


def extragradient_radius(r0: float, lr: float, t: np.ndarray) -> np.ndarray:
    """|z_t| = (1 - lr^2 + lr^4)^(t/2) |z_0| for extragradient."""
    return r0 * (1 - lr**2 + lr**4) ** (np.asarray(t) / 2)


def alternating_invariant(path: np.ndarray, lr: float) -> np.ndarray:
    """Q = x^2 + y^2 - lr x y along the path (constant for alternating GDA)."""
    x, y = path[:, 0], path[:, 1]
    return x**2 + y**2 - lr * x * y
