"""Sampling loops, written out plainly: DDPM ancestral, DDIM, annealed Langevin.

Each takes the network as a function (`eps(x, t)` or `score(x, i)`), so the
loops can be tested on functions whose answer is known in closed form. All
draw from the global torch RNG.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from tqdm.auto import tqdm

from genpipe.diffusion.schedule import NoiseScheduler, Variance, ddim_timesteps

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Record = Callable[[int, torch.Tensor], None]


def _times(t: int, x: torch.Tensor) -> torch.Tensor:
    return torch.full((len(x),), t, dtype=torch.long, device=x.device)


@torch.no_grad()
def ddpm_sample(eps: EpsFn, scheduler: NoiseScheduler, shape: tuple[int, ...],
                variance: Variance = "beta", device: torch.device | str = "cpu",
                progress: bool = False, x: torch.Tensor | None = None,
                record: Record | None = None,
                times: Sequence[int] | None = None) -> torch.Tensor:
    """Ancestral sampling, x_T ~ N(0, I) (or `x`) then one `ddpm_step` per step
    of `scheduler` (Ho et al. 2020, Algorithm 2).

    A scheduler respaced to τ_1 < … < τ_S (`respace_betas`) comes with `times`
    = τ: its step i evaluates ε_θ at the original time τ_i (Nichol & Dhariwal
    2021, §4); None: all T steps, τ_i = i. `record(t, x_t)` sees every state
    after x_T, t being the papers' time (0: the image).
    """
    steps = scheduler.timesteps
    times = range(steps) if times is None else times
    if len(times) != steps:
        raise ValueError(f"{len(times)} times for a scheduler of {steps} steps")
    x = torch.randn(shape, device=device) if x is None else x
    for i in tqdm(range(steps - 1, -1, -1), desc=f"DDPM-{steps}",
                  disable=not progress, leave=False):
        noise = torch.randn_like(x) if i > 0 else None
        x = scheduler.ddpm_step(x, eps(x, _times(times[i], x)), i, noise, variance)
        if record is not None:
            record(times[i - 1] + 1 if i > 0 else 0, x)
    return x


@torch.no_grad()
def ddim_sample(eps: EpsFn, scheduler: NoiseScheduler, shape: tuple[int, ...],
                steps: int, eta: float = 0.0, device: torch.device | str = "cpu",
                progress: bool = False, x: torch.Tensor | None = None,
                record: Record | None = None) -> torch.Tensor:
    """DDIM over S evenly spaced time indices (Song et al. 2021); η = 0 is
    deterministic given x_T (pass `x` to fix it). `record` as in `ddpm_sample`."""
    x = torch.randn(shape, device=device) if x is None else x
    times = ddim_timesteps(scheduler.timesteps, steps)
    for t, t_prev in tqdm(list(zip(times, [*times[1:], -1], strict=True)),
                          desc=f"DDIM-{len(times)}", disable=not progress,
                          leave=False):
        noise = torch.randn_like(x) if eta > 0 else None
        x = scheduler.ddim_step(x, eps(x, _times(t, x)), t, t_prev, eta, noise)
        if record is not None:
            record(t_prev + 1, x)
    return x


@torch.no_grad()
def annealed_langevin(score: EpsFn, sigmas: torch.Tensor, x: torch.Tensor,
                      steps_per_level: int, step_lr: float, denoise: bool = True,
                      progress: bool = False,
                      record: Record | None = None) -> torch.Tensor:
    """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1).

    For each level i = 1 … L (σ_1 > … > σ_L), α_i = ε σ_i² / σ_L², and T steps

        x ← x + (α_i / 2) s_θ(x, σ_i) + √α_i z,   z ~ N(0, I).

    `score(x, i)` takes the level index i (0-based). With `denoise`, one last
    Tweedie step x ← x + σ_L² s_θ(x, σ_L) removes the remaining σ_L noise
    (Song & Ermon 2020, Jolicoeur-Martineau et al. 2021). `record(i, x)` sees
    the state after each level.
    """
    sigma_last = sigmas[-1].item()
    for i in tqdm(range(len(sigmas)), desc="Langevin", disable=not progress,
                  leave=False):
        alpha = step_lr * (sigmas[i].item() / sigma_last) ** 2
        level = _times(i, x)
        for _ in range(steps_per_level):
            x = x + alpha / 2 * score(x, level) + alpha**0.5 * torch.randn_like(x)
        if record is not None:
            record(i, x)
    return tweedie_denoise(score, sigmas, x) if denoise else x


def tweedie_denoise(score: EpsFn, sigmas: torch.Tensor,
                    x: torch.Tensor) -> torch.Tensor:
    """E[x_0 | x] for x = x_0 + σ_L z (Tweedie's formula): x + σ_L² s_θ(x, σ_L)."""
    return x + sigmas[-1].item() ** 2 * score(x, _times(len(sigmas) - 1, x))
