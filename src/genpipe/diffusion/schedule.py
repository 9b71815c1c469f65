"""Noise schedules and the weight-free DDPM/DDIM noise scheduler.

Time indices run 0 … T−1 here and stand for the papers' t = 1 … T; quantities
"at t − 1" of the first step (ᾱ_0) are 1, the clean image's. Everything is
computed in float64 and stored in float32.

    q(x_t | x_0)          = N(√ᾱ_t x_0, (1 − ᾱ_t) I)           (Ho et al. 2020, eq. 4)
    q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t I),                            (eq. 6-7)
        μ̃_t = √ᾱ_{t−1} β_t / (1 − ᾱ_t) · x_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · x_t,
        β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t.

Respacing (Nichol & Dhariwal 2021, §4): time indices τ_1 < … < τ_S define a
process of S steps with the same marginals q(x_{τ_i} | x_0):

    ᾱ'_i = ᾱ_{τ_i},   β'_i = 1 − ᾱ_{τ_i} / ᾱ_{τ_{i−1}}  (ᾱ'_0 = 1),   α'_i = 1 − β'_i,
    β̃'_i = (1 − ᾱ'_{i−1}) / (1 − ᾱ'_i) · β'_i,

sampled by Algorithm 2 with these, the network evaluated at the original time τ_i:

    x_{τ_{i−1}} = 1/√α'_i (x_{τ_i} − β'_i / √(1 − ᾱ'_i) · ε_θ(x_{τ_i}, τ_i)) + σ'_i z,
    σ'²_i = β'_i or β̃'_i.

`respace_betas` gives the β'; a `NoiseScheduler` of them does the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

Variance = Literal["beta", "beta_tilde"]


def linear_betas(timesteps: int, beta_start: float = 1e-4,
                 beta_end: float = 0.02) -> torch.Tensor:
    """β_1 … β_T evenly spaced. `beta_start`, `beta_end` are the endpoints at
    T = 1000 (Ho et al. 2020: 1e-4 → 0.02) and scale by 1000 / T, as in
    Nichol & Dhariwal's code: the noise added over the chain, Σ β_t, stays the
    same, so x_T is close to pure noise at any T (unscaled, ᾱ_T = 0.60 at T = 50)."""
    scale = 1000 / timesteps
    return torch.linspace(scale * beta_start, min(scale * beta_end, 0.999), timesteps,
                          dtype=torch.float64)


def cosine_betas(timesteps: int, s: float = 0.008,
                 max_beta: float = 0.999) -> torch.Tensor:
    """β_t from ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2)
    (Nichol & Dhariwal 2021, eq. 17), clipped at `max_beta` near t = T."""
    steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


def make_betas(kind: Literal["linear", "cosine"], timesteps: int,
               beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    if kind == "linear":
        return linear_betas(timesteps, beta_start, beta_end)
    if kind == "cosine":
        return cosine_betas(timesteps)
    raise ValueError(f"unknown noise schedule {kind!r}")


def respace_betas(betas: torch.Tensor, times: Sequence[int]) -> torch.Tensor:
    """β'_1 … β'_S of the process respaced to τ_1 < … < τ_S (`times`):

        β'_i = 1 − ᾱ_{τ_i} / ᾱ_{τ_{i−1}} = 1 − ∏_{τ_{i−1} < t ≤ τ_i} (1 − β_t),

    the noise of the steps a jump skips, compounded (τ_0 = −1: ᾱ'_0 = 1). A
    one-step segment keeps its β_t as is rather than 1 − (1 − β_t), so the
    respacing over all T indices is the original schedule bit for bit.
    """
    times = list(times)
    increasing = times == sorted(set(times))
    if not (times and increasing and times[0] >= 0 and times[-1] < len(betas)):
        raise ValueError(f"times must increase within [0, {len(betas)}), got {times}")
    betas = betas.double()
    bounds = zip([-1, *times[:-1]], times, strict=True)
    return torch.stack([betas[end] if end == start + 1 else
                        1 - torch.prod(1 - betas[start + 1:end + 1])
                        for start, end in bounds])


def geometric_sigmas(sigma_max: float, sigma_min: float,
                     num_scales: int) -> torch.Tensor:
    """σ_1 > … > σ_L with a constant ratio σ_{i−1}/σ_i (Song & Ermon 2019)."""
    return torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min),
                                    num_scales, dtype=torch.float64)).float()


def _at(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t] shaped to broadcast against `like` (B -> B x 1 x 1 x 1)."""
    return values[t].view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


class NoiseScheduler(nn.Module):
    """The forward process and the reverse-step arithmetic; knows no network.

    A module only so that `.to(device)` moves its tables; they are
    non-persistent buffers (derived from the config, not learned or saved).
    """

    def __init__(self, betas: torch.Tensor):
        super().__init__()
        betas = betas.double()
        alphas = 1 - betas
        alpha_bar = torch.cumprod(alphas, 0)
        alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64),
                                    alpha_bar[:-1]])
        tables = {
            "betas": betas, "alphas": alphas, "alpha_bar": alpha_bar,
            "alpha_bar_prev": alpha_bar_prev,
            "beta_tilde": (1 - alpha_bar_prev) / (1 - alpha_bar) * betas,
            # μ̃_t = coef_x0 · x_0 + coef_xt · x_t   (Ho et al. 2020, eq. 7)
            "coef_x0": alpha_bar_prev.sqrt() * betas / (1 - alpha_bar),
            "coef_xt": alphas.sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar),
        }
        for name, value in tables.items():
            self.register_buffer(name, value.float(), persistent=False)

    @property
    def timesteps(self) -> int:
        return len(self.betas)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor,
                  t: torch.Tensor) -> torch.Tensor:
        """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, a draw of q(x_t | x_0) (eq. 4)."""
        alpha_bar = _at(self.alpha_bar, t, x0)
        return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise

    def posterior(self, x0: torch.Tensor, xt: torch.Tensor,
                  t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ̃_t, β̃_t) of q(x_{t−1} | x_t, x_0) (eq. 6-7), β̃_t shaped B x 1 x 1 x 1."""
        mean = _at(self.coef_x0, t, xt) * x0 + _at(self.coef_xt, t, xt) * xt
        return mean, _at(self.beta_tilde, t, xt)

    def predict_x0(self, xt: torch.Tensor, eps: torch.Tensor,
                   t: torch.Tensor) -> torch.Tensor:
        """x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t, eq. 4 solved for x_0."""
        alpha_bar = _at(self.alpha_bar, t, xt)
        return (xt - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()

    def ddpm_step(self, xt: torch.Tensor, eps: torch.Tensor, t: int,
                  noise: torch.Tensor, variance: Variance = "beta") -> torch.Tensor:
        """One ancestral step x_t -> x_{t−1} (Ho et al. 2020, Algorithm 2):

            x_{t−1} = 1/√α_t (x_t − β_t/√(1 − ᾱ_t) ε_θ) + σ_t z,

        σ²_t = β_t or β̃_t; no noise at the last step (t index 0).
        """
        beta, alpha, alpha_bar = self.betas[t], self.alphas[t], self.alpha_bar[t]
        mean = (xt - beta / (1 - alpha_bar).sqrt() * eps) / alpha.sqrt()
        if t == 0:
            return mean
        sigma2 = beta if variance == "beta" else self.beta_tilde[t]
        return mean + sigma2.sqrt() * noise

    def ddim_step(self, xt: torch.Tensor, eps: torch.Tensor, t: int, t_prev: int,
                  eta: float = 0.0, noise: torch.Tensor | None = None) -> torch.Tensor:
        """One DDIM step x_t -> x_{t_prev} (Song et al. 2021, eq. 12):

            x_{t'} = √ᾱ_{t'} x̂_0 + √(1 − ᾱ_{t'} − σ²) ε_θ + σ z,
            σ = η √((1 − ᾱ_{t'}) / (1 − ᾱ_t)) √(1 − ᾱ_t / ᾱ_{t'});

        t_prev = −1 means the clean image (ᾱ = 1); η = 0 is deterministic.
        """
        alpha_bar = self.alpha_bar[t]
        alpha_bar_prev = self.alpha_bar[t_prev] if t_prev >= 0 else \
            torch.ones((), device=xt.device)
        x0 = (xt - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()
        sigma = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar)
                       * (1 - alpha_bar / alpha_bar_prev)).sqrt()
        direction = (1 - alpha_bar_prev - sigma**2).clamp(min=0).sqrt() * eps
        out = alpha_bar_prev.sqrt() * x0 + direction
        if eta > 0:
            out = out + sigma * noise
        return out


def ddim_timesteps(timesteps: int, steps: int) -> list[int]:
    """S time indices T−1 = τ_S > … > τ_1 ≥ 0, evenly spaced (decreasing);
    one step is τ_1 = T−1 (from pure noise to x_0 in one jump)."""
    if not 1 <= steps <= timesteps:
        raise ValueError(f"DDIM steps must be in [1, {timesteps}], got {steps}")
    grid = torch.linspace(timesteps - 1, 0, steps, dtype=torch.float64).round().long()
    return sorted(set(grid.tolist()), reverse=True)
