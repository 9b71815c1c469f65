"""Explicit-density families: PixelCNN, Gated PixelCNN, PPCA, Gaussian mixture."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from genpipe.config import ParameterError
from genpipe.models.generative import build, validate_models
from genpipe.models.generative._autoregressive import causal_mask
from genpipe.models.generative._dequantize import bits_per_dim, dequantize
from genpipe.models.generative.gmm import full_covariances
from genpipe.models.generative.ppca import (
    closed_form,
    covariance,
    em,
    mean_log_likelihood,
)

TINY = {"channels": 6, "head_channels": 8}
AUTOREGRESSIVE = ("pixelcnn", "gated_pixelcnn")


def _jacobian(model, size: int) -> torch.Tensor:
    """d logit(output pixel) / d input pixel, (size² x size²), raster order."""
    model = model.double().eval()
    x = torch.rand(1, 1, size, size, dtype=torch.float64, generator=torch.Generator()
                   .manual_seed(0))
    jac = torch.autograd.functional.jacobian(lambda v: model.logits(v)[0, 0], x)
    return jac.reshape(size * size, size * size)


def test_causal_masks_by_hand():
    assert causal_mask(3, "A").tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert causal_mask(3, "B").tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    assert causal_mask(5, "A")[2].tolist() == [1, 1, 0, 0, 0]
    assert causal_mask(5, "A")[3:].abs().sum() == 0


@pytest.mark.parametrize("family", AUTOREGRESSIVE)
@pytest.mark.parametrize("layers", [1, 4])
def test_no_output_depends_on_its_own_or_a_later_pixel(family, layers):
    """Mask A alone (layers=1 adds one B/gated layer) and a deep stack."""
    torch.manual_seed(0)
    jac = _jacobian(build(family, {**TINY, "layers": layers, "first_kernel": 5}), 8)
    # Row o = output pixel, column = input pixel: strictly lower triangular.
    assert torch.triu(jac).abs().max() == 0
    assert (torch.tril(jac, -1) != 0).any()


def test_gated_stack_has_no_blind_spot_and_pixelcnn_has_one():
    """Every earlier pixel reaches the gated model's output; the up-right one
    (i − 1, j + 2) is missed by stacked 3x3 masked convolutions."""
    torch.manual_seed(0)
    size = 8
    config = {**TINY, "layers": 6, "first_kernel": 3}
    gated = _jacobian(build("gated_pixelcnn", config), size)
    earlier = torch.tril(torch.ones(size * size, size * size), -1).bool()
    assert (gated[earlier] != 0).all()
    plain = _jacobian(build("pixelcnn", config), size)
    i, j = 5, 3
    assert plain[i * size + j, (i - 1) * size + j + 2] == 0  # the blind spot
    assert gated[i * size + j, (i - 1) * size + j + 2] != 0


@pytest.mark.parametrize("family", AUTOREGRESSIVE)
@pytest.mark.parametrize("output", ["bernoulli", "categorical"])
def test_sampling_crop_is_exact_and_samples_are_valid(family, output):
    torch.manual_seed(0)
    model = build(family, {**TINY, "layers": 3, "output": output}).eval()
    x = torch.rand(2, 1, 28, 28)
    rows = model.net.receptive_rows
    with torch.no_grad():
        full = model.logits(x)
        for i in range(28):
            top = max(0, i - rows)
            torch.testing.assert_close(model.logits(x[:, :, top:i + 1])[:, :, -1],
                                       full[:, :, i])
            # What the sampler computes per pixel (the gated model: the
            # vertical stack once per row, then the horizontal stack alone).
            for j, logits in enumerate(model._row_logits(x[:, :, top:i + 1])):
                torch.testing.assert_close(logits, full[:, :, i, j])
        torch.manual_seed(3)
        first = model.sample(3)
        torch.manual_seed(3)
        again = model.sample(3)
    assert torch.equal(first, again) and first.shape == (3, 1, 28, 28)
    levels = first * 255 if output == "categorical" else first
    assert torch.equal(levels, levels.round()) and first.min() >= 0 and first.max() <= 1
    assert model.sampling_cost() == {"nfe_per_image": 784.0}


def _constant_head(model, bias: torch.Tensor) -> None:
    """Every conditional becomes the same distribution, logits `bias`."""
    last = model.head[-1]
    torch.nn.init.zeros_(last.weight)
    with torch.no_grad():
        last.bias.copy_(bias)


def test_bits_per_dim():
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)
    # a density of 1 on [0, 1]^D is 8 bits/dim once the 256 bins are counted
    assert bits_per_dim(0.0, 784, num_bins=256) == pytest.approx(8.0)


def test_bernoulli_nll_and_bits_per_dim_by_hand():
    model = build("pixelcnn", {**TINY, "layers": 1})
    _constant_head(model, torch.tensor([math.log(3.0)]))  # p(1) = σ(log 3) = 3/4
    x = torch.zeros(2, 1, 28, 28)
    x[0, 0, :10] = 1  # 280 ones
    metrics = model.test_metrics(x, 1)
    nll = [-(280 * math.log(0.75) + 504 * math.log(0.25)), -784 * math.log(0.25)]
    assert metrics["test_nll"] == pytest.approx(np.mean(nll), rel=1e-6)
    assert metrics["test_bits_per_dim"] == pytest.approx(
        np.mean(nll) / (784 * math.log(2)), rel=1e-6)


def test_categorical_nll_and_bits_per_dim_by_hand():
    model = build("gated_pixelcnn", {**TINY, "layers": 1, "output": "categorical"})
    # p(0) = 1/2, every other level (1 - 1/2) / 255
    probs = torch.full((256,), 0.5 / 255)
    probs[0] = 0.5
    _constant_head(model, probs.log())
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, :4] = 17 / 255  # 112 pixels at level 17
    metrics = model.test_metrics(x, 1)
    nll = 672 * math.log(2) + 112 * math.log(510)
    assert metrics["test_nll"] == pytest.approx(nll, rel=1e-5)
    assert metrics["test_bits_per_dim"] == pytest.approx(nll / (784 * math.log(2)),
                                                         rel=1e-5)
    _constant_head(model, torch.zeros(256))  # uniform: exactly 8 bits
    assert model.test_metrics(x, 1)["test_bits_per_dim"] == pytest.approx(8.0)


@pytest.mark.parametrize("family", AUTOREGRESSIVE)
def test_autoregressive_families_learn(family):
    torch.manual_seed(0)
    x = torch.zeros(16, 1, 28, 28)
    x[:, :, 10:14, 4:24] = 1  # a bar: easy to predict from the pixels above/left
    model = build(family, {**TINY, "layers": 2, "lr": 1e-2})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = model.loss(x, None)["nll"].item()
    for _ in range(40):
        optimizer.zero_grad()
        model.loss(x, None)["loss"].backward()
        optimizer.step()
    assert model.loss(x, None)["nll"].item() < 0.2 * before


def test_output_and_binarize_must_agree():
    for family, block, key in [
        ("pixelcnn", {"model": {}, "data": {"binarize": False}}, "binarize"),
        ("gated_pixelcnn", {"model": {"output": "categorical"},
                            "data": {"binarize": True}}, "binarize"),
        ("ppca", {"model": {}, "data": {"binarize": True}}, "binarize"),
        ("gmm", {"model": {}, "data": {"binarize": True}}, "binarize"),
    ]:
        with pytest.raises(ParameterError, match=rf"parameters\.{family}\.data\.{key}"):
            validate_models({family: block}, [family])
    validate_models({"pixelcnn": {"model": {}, "data": {"binarize": True}}},
                    ["pixelcnn"])
    with pytest.raises(ParameterError, match=r"parameters\.pixelcnn\.model\.kernel"):
        validate_models({"pixelcnn": {"model": {"kernel": 4},
                                      "data": {"binarize": True}}}, ["pixelcnn"])


# --- PPCA -----------------------------------------------------------------------
def test_dequantize_stays_in_the_pixels_bin():
    k = torch.arange(256).float().view(1, 1, 16, 16)
    torch.manual_seed(0)
    y = dequantize(k / 255)
    assert y.dtype == torch.float64 and y.shape == (1, 256)
    assert ((y * 256).floor() == torch.arange(256)).all()


def test_ppca_log_density_is_the_gaussian_with_c_equal_wwt_plus_sigma2():
    torch.manual_seed(0)
    model = build("ppca", {"latent_dim": 2})
    d = 5
    model.mu = torch.randn(d, dtype=torch.float64)
    model.w = torch.randn(d, 2, dtype=torch.float64)
    model.sigma2 = torch.tensor(0.3, dtype=torch.float64)
    y = torch.randn(7, d, dtype=torch.float64)
    c = model.w @ model.w.T + 0.3 * torch.eye(d, dtype=torch.float64)
    expected = multivariate_normal(model.mu.numpy(), c.numpy()).logpdf(y.numpy())
    np.testing.assert_allclose(model.log_density(y).numpy(), expected, rtol=1e-10)
    # The mean log-likelihood from S alone agrees (μ = sample mean).
    model.mu = y.mean(0)
    mean, s = covariance(y)
    expected = multivariate_normal(mean.numpy(), c.numpy()).logpdf(y.numpy()).mean()
    assert mean_log_likelihood(s, model.w, model.sigma2).item() == \
        pytest.approx(expected, rel=1e-10)


def test_ppca_variance_shares_by_hand():
    """PCA's explained-variance ratio Σ_{i≤q} λ_i / Σ λ, and the share W
    carries, ‖W‖²_F / Σ λ with ‖W‖²_F = Σ_{i≤q} (λ_i − σ²): not the same."""
    model = build("ppca", {"latent_dim": 2})
    model.eigenvalues = torch.tensor([5.0, 3.0] + [1.0] * 782, dtype=torch.float64)
    model.sigma2 = torch.tensor(1.0, dtype=torch.float64)
    model.w = torch.zeros(784, 2, dtype=torch.float64)
    model.w[0, 0], model.w[1, 1] = 2.0, math.sqrt(2.0)  # λ_i − σ² = 4, 2
    metrics = model.test_metrics(torch.rand(3, 1, 28, 28), 3)
    assert metrics["explained_variance_ratio"] == pytest.approx(8 / 790)
    assert metrics["latent_variance_fraction"] == pytest.approx(6 / 790)


def _low_rank_data(n=400, d=6, q=2, seed=0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(d, q, generator=generator, dtype=torch.float64) * 2
    z = torch.randn(n, q, generator=generator, dtype=torch.float64)
    return z @ w.T + 0.5 * torch.randn(n, d, generator=generator, dtype=torch.float64)


def test_ppca_ml_solution_is_the_eigendecomposition_and_em_reaches_it():
    y = _low_rank_data()
    _, s = covariance(y)
    w, sigma2, eigenvalues = closed_form(s, 2)
    lam, u = np.linalg.eigh(s.numpy())
    lam, u = lam[::-1], u[:, ::-1]
    assert sigma2.item() == pytest.approx(lam[2:].mean())  # mean discarded λ
    np.testing.assert_allclose(eigenvalues.numpy(), lam, rtol=1e-10)
    # W Wᵀ = U_q (Λ_q − σ² I) U_qᵀ (W itself is defined up to a rotation).
    expected = u[:, :2] @ np.diag(lam[:2] - lam[2:].mean()) @ u[:, :2].T
    np.testing.assert_allclose((w @ w.T).numpy(), expected, atol=1e-10)
    best = mean_log_likelihood(s, w, sigma2).item()
    for scale in (0.9, 1.1):  # the maximum: perturbing W or σ² lowers it
        assert mean_log_likelihood(s, w * scale, sigma2).item() < best
        assert mean_log_likelihood(s, w, sigma2 * scale).item() < best
    torch.manual_seed(0)
    w_em, sigma2_em, trace = em(s, 2, iterations=500, tolerance=1e-12)
    # EM never decreases the likelihood
    assert all(b >= a - 1e-9 for a, b in zip(trace, trace[1:], strict=False))
    assert trace[-1] == pytest.approx(best, abs=1e-6)
    assert sigma2_em.item() == pytest.approx(sigma2.item(), rel=1e-4)
    # The likelihood is flat along the optimum: W Wᵀ converges more slowly.
    np.testing.assert_allclose((w_em @ w_em.T).numpy(), (w @ w.T).numpy(), rtol=5e-3,
                               atol=1e-3)


@pytest.fixture(scope="module")
def images():
    """200 blurry 'digits' with 8-bit intensities."""
    generator = torch.Generator().manual_seed(0)
    x = torch.zeros(200, 1, 28, 28)
    rows = torch.randint(4, 20, (200,), generator=generator)
    for image, row in zip(x, rows, strict=True):
        image[0, row:row + 5, 6:22] = torch.rand(5, 16, generator=generator)
    return (x * 255).round() / 255


@pytest.mark.parametrize("method", ["closed_form", "em"])
def test_ppca_fits_scores_in_bits_per_dim_and_samples(images, method):
    torch.manual_seed(0)
    model = build("ppca", {"latent_dim": 4, "method": method, "em_iterations": 50})
    model.after_fit(images, 64)
    torch.manual_seed(1)
    metrics = model.test_metrics(images, 64)
    torch.manual_seed(1)
    log_p = model.log_density(dequantize(images))
    nll = -log_p.mean().item() + 784 * math.log(256)  # the discrete 8-bit NLL bound
    assert metrics["test_nll"] == pytest.approx(nll)
    assert metrics["test_bits_per_dim"] == pytest.approx(bits_per_dim(nll, 784))
    torch.manual_seed(2)
    clean = model.sample(10, "noise_free")
    torch.manual_seed(2)
    z = torch.randn(10, 4, dtype=torch.float64)
    expected = (model.mu + z @ model.w.T).clamp(0, 1).float()  # E[x | z] = μ + W z
    torch.testing.assert_close(clean.flatten(1), expected)
    noisy = model.sample(10, "ancestral")
    assert noisy.shape == (10, 1, 28, 28) and noisy.min() >= 0 and noisy.max() <= 1
    _, figures = model.report(images, None, None)
    assert set(figures) == {"spectrum"}


# --- Gaussian mixture -----------------------------------------------------------
def test_full_covariances_of_every_sklearn_type():
    assert full_covariances(np.array([2.0, 3.0]), "spherical", 2, 2).tolist() == \
        [[[2, 0], [0, 2]], [[3, 0], [0, 3]]]
    assert full_covariances(np.array([[1.0, 2.0]]), "diag", 1, 2).tolist() == \
        [[[1, 0], [0, 2]]]
    tied = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert (full_covariances(tied, "tied", 3, 2) == tied).all()


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_gmm_log_density_by_hand(images, covariance_type):
    torch.manual_seed(0)
    model = build("gmm", {"n_components": 3, "pca_dim": 6,
                          "covariance_type": covariance_type})
    model.after_fit(images, 64)
    y = dequantize(images[:20])
    centred = y - model.mu
    z = (centred @ model.projection.T).numpy()
    mixture = sum(model.weights[k].item() * multivariate_normal(
        model.means[k].numpy(), (model.scale_tril[k] @ model.scale_tril[k].T).numpy()
    ).pdf(z) for k in range(3))
    r2 = (centred.pow(2).sum(1) - centred.pow(2).sum(1).new_tensor(z ** 2).sum(1))
    sigma2 = model.residual_var.item()
    residual = -0.5 * (778 * math.log(2 * math.pi * sigma2) + r2.numpy() / sigma2)
    np.testing.assert_allclose(model.log_density(y).numpy(),
                               np.log(mixture) + residual, rtol=1e-8)
    # The residual variance is the mean discarded eigenvalue (its ML value).
    _, s = covariance(dequantize(images))
    assert model.residual_var.item() == pytest.approx(
        torch.linalg.eigvalsh(s)[:-6].mean().item(), rel=0.05)


def test_gmm_in_pixel_space_matches_sklearn(images):
    from sklearn.mixture import GaussianMixture

    config = {"n_components": 2, "pca_dim": None, "covariance_type": "diag"}
    torch.manual_seed(0)
    model = build("gmm", config)
    model.after_fit(images, 64)
    torch.manual_seed(0)  # the same draws: dequantization, then the EM seed
    y = dequantize(images)
    reference = GaussianMixture(2, covariance_type="diag", tol=1e-3, reg_covar=1e-6,
                                max_iter=100, init_params="kmeans",
                                random_state=int(torch.randint(2**31 - 1, ())))
    reference.fit(y.numpy())
    np.testing.assert_allclose(model.log_density(y).numpy(),
                               reference.score_samples(y.numpy()), rtol=1e-6)


def test_gmm_weights_and_samples_round_trip(images):
    config = {"n_components": 3, "pca_dim": 8}
    torch.manual_seed(0)
    model = build("gmm", config)
    model.after_fit(images, 64)
    restored = build("gmm", config)
    restored.load_state_dict(model.state_dict())
    y = dequantize(images[:10])
    torch.testing.assert_close(restored.log_density(y), model.log_density(y))
    for sampler in ("ancestral", "noise_free"):
        torch.manual_seed(5)
        first = model.sample(7, sampler)
        torch.manual_seed(5)
        assert torch.equal(restored.sample(7, sampler), first)
    assert model.weights.sum().item() == pytest.approx(1.0)
    metrics, figures = model.report(images, None, None)
    assert set(figures) == {"components"}
    assert model.test_metrics(images, 64)["em_converged"] in (0.0, 1.0)
