import math

import pytest
import torch

from genpipe.diffusion.schedule import (
    NoiseScheduler,
    cosine_betas,
    ddim_timesteps,
    geometric_sigmas,
    linear_betas,
    make_betas,
    respace_betas,
)

# β = 0.1, 0.2, 0.3: α = 0.9, 0.8, 0.7; ᾱ = 0.9, 0.72, 0.504 (by hand).
BETAS = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)


@pytest.fixture
def tiny():
    return NoiseScheduler(BETAS)


def test_tables_by_hand(tiny):
    torch.testing.assert_close(tiny.alpha_bar, torch.tensor([0.9, 0.72, 0.504]))
    torch.testing.assert_close(tiny.alpha_bar_prev, torch.tensor([1.0, 0.9, 0.72]))
    # β̃_2 = (1 − 0.9)/(1 − 0.72) · 0.2; β̃_1 = 0: x_0 is known given x_1 and x_0.
    torch.testing.assert_close(
        tiny.beta_tilde, torch.tensor([0.0, 0.1 / 0.28 * 0.2, 0.28 / 0.496 * 0.3]))


def test_respaced_tables_by_hand():
    """τ = (1, 3) of β = 0.1, 0.2, 0.3, 0.4 (ᾱ = 0.9, 0.72, 0.504, 0.3024):
    β'_1 = 1 − 0.72 = 0.28, β'_2 = 1 − 0.3024 / 0.72 = 0.58; ᾱ' = 0.72, 0.3024;
    β̃'_1 = 0, β̃'_2 = (1 − 0.72) / (1 − 0.3024) · 0.58 = 0.1624 / 0.6976."""
    betas = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    respaced = respace_betas(betas, [1, 3])
    torch.testing.assert_close(respaced,
                               torch.tensor([0.28, 0.58], dtype=torch.float64))
    scheduler = NoiseScheduler(respaced)
    torch.testing.assert_close(scheduler.alpha_bar, torch.tensor([0.72, 0.3024]))
    torch.testing.assert_close(scheduler.beta_tilde,
                               torch.tensor([0.0, 0.1624 / 0.6976]))
    for times in ([3, 1], [1, 1], [0, 4], [-1, 2], []):
        with pytest.raises(ValueError, match="times must increase"):
            respace_betas(betas, times)


@pytest.mark.parametrize("betas", [BETAS, linear_betas(1000), cosine_betas(1000)])
def test_respacing_over_every_index_is_the_original_schedule(betas):
    respaced = respace_betas(betas, range(len(betas)))
    assert torch.equal(respaced, betas)
    original, full = NoiseScheduler(betas), NoiseScheduler(respaced)
    for name, table in original.named_buffers():
        assert torch.equal(getattr(full, name), table), name


@pytest.mark.parametrize("betas", [linear_betas(1000), cosine_betas(1000),
                                   make_betas("linear", 50, 1e-3, 0.2)])
def test_schedules_are_monotone(betas):
    scheduler = NoiseScheduler(betas)
    assert (betas > 0).all() and (betas < 1).all()
    assert (betas[1:] >= betas[:-1]).all()  # noise grows with t
    alpha_bar = scheduler.alpha_bar
    assert (alpha_bar[1:] < alpha_bar[:-1]).all() and alpha_bar[0] < 1
    assert (scheduler.beta_tilde <= scheduler.betas + 1e-7).all()  # β̃_t ≤ β_t


def test_linear_schedule_is_the_papers():
    betas = linear_betas(1000)
    assert betas[0].item() == pytest.approx(1e-4) and betas[-1].item() == 0.02
    alpha_bar_T = torch.prod(1 - betas).item()
    assert alpha_bar_T < 1e-4  # x_T is practically pure noise
    # Cosine: ᾱ_t = f(t)/f(0) away from the clipped end (Nichol & Dhariwal eq. 17).
    f = [math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2 for t in (0, 500)]
    assert torch.prod(1 - cosine_betas(1000)[:500]).item() == \
        pytest.approx(f[1] / f[0], rel=1e-9)


def test_q_xt_given_x0_statistics_on_constant_images():
    scheduler = NoiseScheduler(linear_betas(1000))
    torch.manual_seed(0)
    x0 = torch.full((4000, 1, 28, 28), 0.6)
    for t in (0, 250, 999):
        xt = scheduler.add_noise(x0, torch.randn_like(x0), torch.full((4000,), t))
        alpha_bar = torch.prod(1 - linear_betas(1000)[:t + 1]).item()
        assert xt.mean().item() == pytest.approx(math.sqrt(alpha_bar) * 0.6, abs=2e-3)
        assert xt.var().item() == pytest.approx(1 - alpha_bar, rel=2e-3, abs=1e-6)


def test_posterior_matches_bayes_rule(tiny):
    """μ̃, β̃ against the product of q(x_{t−1} | x_0) and q(x_t | x_{t−1})."""
    x0, xt = torch.tensor([[0.7], [-0.2]]), torch.tensor([[1.3], [0.4]])
    for t in (1, 2):
        beta, alpha_bar_prev = BETAS[t].item(), tiny.alpha_bar_prev[t].item()
        precision = 1 / (1 - alpha_bar_prev) + (1 - beta) / beta
        mean = (math.sqrt(alpha_bar_prev) * x0 / (1 - alpha_bar_prev)
                + math.sqrt(1 - beta) * xt / beta) / precision
        got_mean, got_var = tiny.posterior(x0, xt, torch.tensor([t, t]))
        torch.testing.assert_close(got_mean, mean)
        torch.testing.assert_close(got_var.flatten(), torch.full((2,), 1 / precision))
    mean, var = tiny.posterior(x0, xt, torch.tensor([0, 0]))
    torch.testing.assert_close(mean, x0)  # t = 1: x_0 itself, no variance
    assert (var == 0).all()


def test_one_ddpm_step_by_hand(tiny):
    xt, eps, z = torch.tensor([1.0]), torch.tensor([0.5]), torch.tensor([0.3])
    # t = 3 (index 2): β = 0.3, α = 0.7, ᾱ = 0.504.
    mean = (1.0 - 0.3 / math.sqrt(1 - 0.504) * 0.5) / math.sqrt(0.7)
    got = tiny.ddpm_step(xt, eps, 2, z, "beta")
    assert got.item() == pytest.approx(mean + math.sqrt(0.3) * 0.3, rel=1e-6)
    tilde = tiny.ddpm_step(xt, eps, 2, z, "beta_tilde")
    assert tilde.item() == pytest.approx(mean + math.sqrt(0.28 / 0.496 * 0.3) * 0.3,
                                         rel=1e-6)
    # The last step adds no noise.
    last = tiny.ddpm_step(xt, eps, 0, z)
    assert last.item() == pytest.approx((1 - 0.1 / math.sqrt(0.1) * 0.5)
                                        / math.sqrt(0.9), rel=1e-6)
    # Eq. 11 is the posterior mean at x̂_0 = predict_x0(x_t, ε).
    x0_hat = tiny.predict_x0(xt.view(1, 1), eps.view(1, 1), torch.tensor([2]))
    posterior_mean, _ = tiny.posterior(x0_hat, xt.view(1, 1), torch.tensor([2]))
    assert posterior_mean.item() == pytest.approx(mean, rel=1e-5)


def test_ddim_step_by_hand(tiny):
    xt, eps = torch.tensor([1.0]), torch.tensor([0.5])
    x0 = (1.0 - math.sqrt(1 - 0.504) * 0.5) / math.sqrt(0.504)
    # t = 3 -> t = 1 (indices 2 -> 0), η = 0: √ᾱ_1 x̂_0 + √(1 − ᾱ_1) ε.
    expected = math.sqrt(0.9) * x0 + math.sqrt(0.1) * 0.5
    assert tiny.ddim_step(xt, eps, 2, 0).item() == pytest.approx(expected, rel=1e-6)
    assert tiny.ddim_step(xt, eps, 0, -1).item() == pytest.approx(
        (1.0 - math.sqrt(0.1) * 0.5) / math.sqrt(0.9), rel=1e-6)  # x̂_0
    # η = 1 between neighbours is DDPM with σ²_t = β̃_t.
    z = torch.tensor([0.3])
    ddim = tiny.ddim_step(xt, eps, 2, 1, eta=1.0, noise=z)
    ddpm = tiny.ddpm_step(xt, eps, 2, z, "beta_tilde")
    assert ddim.item() == pytest.approx(ddpm.item(), rel=1e-5)


def test_linear_schedule_scales_with_t():
    """Ho et al.'s endpoints hold at T = 1000 and scale by 1000 / T, so Σ β_t
    and how close x_T is to pure noise do not depend on T."""
    betas = linear_betas(50)
    assert betas[0].item() == pytest.approx(2e-3) and betas[-1].item() == \
        pytest.approx(0.4)
    assert betas.sum().item() == pytest.approx(linear_betas(1000).sum().item(),
                                               rel=1e-3)
    alpha_bar_t = torch.prod(1 - betas).item()
    assert alpha_bar_t < 1e-4  # unscaled, 1e-4 -> 0.02 over 50 steps: 0.60
    assert linear_betas(1000)[-1].item() == pytest.approx(0.02)
    assert linear_betas(2)[-1].item() == pytest.approx(0.999)  # capped below 1


def test_ddim_timesteps_and_geometric_sigmas():
    assert ddim_timesteps(1000, 50)[0] == 999 and ddim_timesteps(1000, 50)[-1] == 0
    assert len(ddim_timesteps(1000, 50)) == 50
    assert ddim_timesteps(10, 10) == list(range(9, -1, -1))
    assert ddim_timesteps(1000, 1) == [999]  # one step starts from pure noise
    assert ddim_timesteps(1000, 2) == [999, 0]
    with pytest.raises(ValueError):
        ddim_timesteps(10, 11)
    sigmas = geometric_sigmas(1.0, 0.01, 10)
    assert sigmas[0].item() == pytest.approx(1.0) and sigmas[-1].item() == \
        pytest.approx(0.01)
    ratios = sigmas[:-1] / sigmas[1:]
    torch.testing.assert_close(ratios, torch.full((9,), 100 ** (1 / 9)))
