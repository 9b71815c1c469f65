import math

import pytest
import torch

from genpipe.diffusion.sampling import annealed_langevin, ddim_sample, ddpm_sample
from genpipe.diffusion.schedule import (
    NoiseScheduler,
    ddim_timesteps,
    geometric_sigmas,
    linear_betas,
    respace_betas,
)


def _oracle(scheduler: NoiseScheduler, x0: torch.Tensor):
    """The exact ε of a one-image data set: (x_t − √ᾱ_t x_0) / √(1 − ᾱ_t)."""
    def eps(x, t):
        alpha_bar = scheduler.alpha_bar[t].view(-1, 1, 1, 1)
        return (x - alpha_bar.sqrt() * x0) / (1 - alpha_bar).sqrt()
    return eps


def _gaussian_oracle(scheduler: NoiseScheduler, mu: float, s: float):
    """The exact ε of data N(μ, s²): x_t ~ N(√ᾱ_t μ, v_t), v_t = ᾱ_t s² + 1 − ᾱ_t,
    so E[ε | x_t] = √(1 − ᾱ_t) (x_t − √ᾱ_t μ) / v_t."""
    def eps(x, t):
        alpha_bar = scheduler.alpha_bar[t].view(-1, 1)
        return ((1 - alpha_bar).sqrt() * (x - alpha_bar.sqrt() * mu)
                / (alpha_bar * s**2 + 1 - alpha_bar))
    return eps


@pytest.fixture
def scheduler():
    return NoiseScheduler(linear_betas(100))  # 1e-3 -> 0.2: the T = 1000 endpoints x 10


def test_both_samplers_recover_a_one_image_data_set(scheduler):
    x0 = torch.linspace(-1, 1, 28 * 28).view(1, 1, 28, 28)
    torch.manual_seed(0)
    for variance in ("beta", "beta_tilde"):
        out = ddpm_sample(_oracle(scheduler, x0), scheduler, (3, 1, 28, 28), variance)
        torch.testing.assert_close(out, x0.expand(3, -1, -1, -1), atol=1e-4, rtol=0)
    out = ddim_sample(_oracle(scheduler, x0), scheduler, (3, 1, 28, 28), steps=7)
    torch.testing.assert_close(out, x0.expand(3, -1, -1, -1), atol=1e-4, rtol=0)


def test_ddim_with_eta_zero_is_deterministic(scheduler):
    net = torch.nn.Conv2d(1, 1, 3, padding=1)
    eps = lambda x, t: torch.tanh(net(x)) * (1 + t.view(-1, 1, 1, 1) / 100)  # noqa: E731
    x_T = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        torch.manual_seed(1)
        first = ddim_sample(eps, scheduler, x_T.shape, steps=10, x=x_T.clone())
        torch.manual_seed(2)  # another RNG state: η = 0 draws nothing
        again = ddim_sample(eps, scheduler, x_T.shape, steps=10, x=x_T.clone())
        torch.manual_seed(1)
        noisy = ddim_sample(eps, scheduler, x_T.shape, steps=10, eta=1.0, x=x_T.clone())
        torch.manual_seed(2)
        noisy_again = ddim_sample(eps, scheduler, x_T.shape, steps=10, eta=1.0,
                                  x=x_T.clone())
    assert torch.equal(first, again)
    assert not torch.allclose(noisy, noisy_again)


def test_samplers_record_states_at_the_papers_times(scheduler):
    seen_ddpm, seen_ddim, seen_respaced = [], [], []
    x0 = torch.zeros(1, 1, 28, 28)
    ddpm_sample(_oracle(scheduler, x0), scheduler, (1, 1, 28, 28),
                record=lambda t, x: seen_ddpm.append(t))
    ddim_sample(_oracle(scheduler, x0), scheduler, (1, 1, 28, 28), steps=5,
                record=lambda t, x: seen_ddim.append(t))
    # τ = 0, 33, 66, 99: from x at index 99 to those at 66, 33, 0, then the image.
    respaced = NoiseScheduler(respace_betas(linear_betas(100), [0, 33, 66, 99]))
    ddpm_sample(_oracle(scheduler, x0), respaced, (1, 1, 28, 28),
                record=lambda t, x: seen_respaced.append(t), times=[0, 33, 66, 99])
    assert seen_ddpm == list(range(99, -1, -1))
    assert seen_ddim[-1] == 0 and len(seen_ddim) == 5
    assert seen_respaced == [67, 34, 1, 0]
    with pytest.raises(ValueError, match="3 times for a scheduler of 4 steps"):
        ddpm_sample(_oracle(scheduler, x0), respaced, (1, 1, 28, 28),
                    times=[0, 33, 99])


def test_respacing_over_every_step_draws_bitwise_the_same_samples(scheduler):
    net = torch.nn.Conv2d(1, 1, 3, padding=1)
    eps = lambda x, t: torch.tanh(net(x)) * (1 + t.view(-1, 1, 1, 1) / 100)  # noqa: E731
    full = NoiseScheduler(respace_betas(linear_betas(100), range(100)))
    for variance in ("beta", "beta_tilde"):
        torch.manual_seed(0)
        before = ddpm_sample(eps, scheduler, (4, 1, 28, 28), variance)
        torch.manual_seed(0)
        after = ddpm_sample(eps, full, (4, 1, 28, 28), variance, times=range(100))
        assert torch.equal(after, before), variance


def test_respaced_ancestral_sampling_reaches_a_gaussian_data_set():
    """Data N(1, 0.5²), T = 1000 sampled in 25 respaced steps with the exact ε
    at the original times τ_i. The mean comes out exact at any S; σ² = β and
    β̃ bound the reverse variance from above and below for data of variance
    ≤ 1 (Ho et al. 2020, §3.2), so the two samplers' spreads bracket s."""
    mu, s = 1.0, 0.5
    betas = linear_betas(1000)
    times = ddim_timesteps(1000, 25)[::-1]
    eps = _gaussian_oracle(NoiseScheduler(betas), mu, s)
    respaced = NoiseScheduler(respace_betas(betas, times))
    spread = {}
    for variance in ("beta", "beta_tilde"):
        torch.manual_seed(0)
        out = ddpm_sample(eps, respaced, (20000, 1), variance, times=times)
        assert out.mean().item() == pytest.approx(mu, abs=0.02), variance
        spread[variance] = out.std().item()
    assert spread["beta_tilde"] < s < spread["beta"]


def test_annealed_langevin_samples_a_known_gaussian():
    """Data N(μ, s²): the σ-perturbed score is −(x − μ)/(s² + σ²), exactly."""
    mu, s = 2.0, 0.5
    sigmas = geometric_sigmas(3.0, 0.01, 10)

    def score(x, level):
        return -(x - mu) / (s**2 + sigmas[level].view(-1, 1) ** 2)

    torch.manual_seed(0)
    start = torch.rand(20000, 1) * 10 - 5  # far from the data
    out = annealed_langevin(score, sigmas, start, steps_per_level=100, step_lr=2e-5,
                            denoise=False)
    expected_sd = math.sqrt(s**2 + sigmas[-1].item() ** 2)
    assert out.mean().item() == pytest.approx(mu, abs=0.02)
    assert out.std().item() == pytest.approx(expected_sd, rel=0.05)
    # The Tweedie step maps x̃ to E[x | x̃]: the variance shrinks by s²/(s² + σ²).
    torch.manual_seed(0)
    denoised = annealed_langevin(score, sigmas, start, 100, 2e-5, denoise=True)
    assert denoised.std().item() == pytest.approx(
        out.std().item() * s**2 / (s**2 + sigmas[-1].item() ** 2), rel=1e-3)
