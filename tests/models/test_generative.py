import math

import pytest
import torch
import torch.nn.functional as F

from genpipe.config import ParameterError, family_names
from genpipe.models import generative
from genpipe.models.generative import build, check_block, load_family, validate_models
from genpipe.models.generative.cae import contractive_penalty
from genpipe.models.generative.dae import corrupt
from genpipe.models.generative.ksparse_ae import top_k_mask
from genpipe.models.generative.sparse_ae import sparsity_kl
from genpipe.models.generative.vae import gaussian_kl, log_normal
from genpipe.models.generative.vqvae import ema_update, nearest_codes, perplexity

FAMILIES = ("ae", "cae", "dae", "ksparse_ae", "sparse_ae", "vae", "vqvae")
GANS = ("cgan", "gan", "progan", "wgan", "wgan_gp")  # test_gans.py, test_progan.py
# Explicit-density families (tests/models/test_likelihood.py): no reconstruction.
LIKELIHOOD = ("gated_pixelcnn", "gmm", "pixelcnn", "ppca")

# Small but faithful configurations for the overfitting checks.
SMALL = {
    "ae": {"hidden": [128], "latent_dim": 16},
    "dae": {"hidden": [128], "latent_dim": 16, "noise": 0.2},
    "sparse_ae": {"hidden": [128], "latent_dim": 64, "beta": 0.01},
    "ksparse_ae": {"latent_dim": 128, "k": 24},
    "cae": {"latent_dim": 64, "lam": 1e-5},
    "vae": {"hidden": [256], "latent_dim": 16, "likelihood": "gaussian",
            "gaussian_std": 0.3},
    "vqvae": {"channels": 16, "codebook_size": 32, "embedding_dim": 8,
              "decay": 0.9},
}


def test_every_family_module_is_registered_and_discoverable_without_import():
    # GANs, diffusion (tests/models/test_diffusion.py) and likelihood families
    # have their own tests; every module found is a registered family.
    # Two-stage families: tests/models/test_latent_generation.py.
    assert family_names() == tuple(sorted((*FAMILIES, *GANS, *LIKELIHOOD, "ddpm",
                                           "ncsn", "latent_diffusion",
                                           "vqvae_prior")))
    for name in family_names():
        assert issubclass(load_family(name), generative.GenerativeModel)
    with pytest.raises(KeyError, match="no generative family 'nope'"):
        load_family("nope")


def test_model_blocks_are_validated_with_their_full_path():
    with pytest.raises(ParameterError, match=r"parameters\.vae\.model\.latent_dim"):
        validate_models({"vae": {"model": {"latent_dim": 0}}}, ["vae"])
    with pytest.raises(ParameterError, match=r"parameters\.ksparse_ae\.model"):
        validate_models({"ksparse_ae": {"model": {"latent_dim": 8, "k": 9}}},
                        ["ksparse_ae"])
    with pytest.raises(ParameterError, match=r"parameters\.cae\.model\.hidden"):
        validate_models({"cae": {"model": {"hidden": [64]}}}, ["cae"])
    with pytest.raises(ParameterError, match=r"parameters\.ae\.model\.typo"):
        validate_models({"ae": {"model": {"typo": 1}}}, ["ae"])


def test_gaussian_kl_matches_the_closed_form_by_hand():
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    # ½[(1 + 1 − 1 − 0) + (0 + 4 − 1 − log 4)]
    expected = 0.5 * (1 + 3 - math.log(4))
    assert gaussian_kl(mu, logvar).item() == pytest.approx(expected, abs=1e-6)
    assert gaussian_kl(torch.zeros(3, 5), torch.zeros(3, 5)).abs().max() == 0


def test_log_normal_matches_torch_distributions():
    z, mu, logvar = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 4)
    expected = torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    torch.testing.assert_close(log_normal(z, mu, logvar), expected)


def test_sparsity_kl_by_hand():
    # Column means 0.05 (= ρ: no penalty) and 0.5.
    activations = torch.tensor([[0.1, 0.2], [0.0, 0.8]])
    expected = 0.05 * math.log(0.05 / 0.5) + 0.95 * math.log(0.95 / 0.5)
    assert sparsity_kl(0.05, activations).item() == pytest.approx(expected, rel=1e-5)


def test_contractive_penalty_equals_the_autograd_jacobian_norm():
    torch.manual_seed(0)
    model = build("cae", {"latent_dim": 7})
    x = torch.rand(3, 1, 28, 28)
    h = model.encode(x)
    exact = contractive_penalty(h, model.encoder[0].weight)
    norms = [torch.autograd.functional.jacobian(
        lambda v: model.encoder(v.unsqueeze(0))[0], row).pow(2).sum()
        for row in x.flatten(1)]
    assert exact.item() == pytest.approx(torch.stack(norms).mean().item(), rel=1e-5)


@pytest.mark.parametrize(("family", "params", "term", "weight"), [
    ("ae", {}, None, 0.0),
    ("sparse_ae", {"beta": 0.3}, "sparsity_kl", 0.3),
    ("cae", {"lam": 0.2}, "jacobian_frobenius2", 0.2),
])
def test_autoencoder_loss_is_the_mse_plus_the_weighted_code_penalty(
        family, params, term, weight):
    torch.manual_seed(0)
    model = build(family, {"latent_dim": 7, **params})
    x = torch.rand(4, 1, 28, 28)
    terms = model.loss(x, torch.zeros(4, dtype=torch.long))
    assert terms["mse"].item() == pytest.approx(
        F.mse_loss(model.reconstruct(x), x).item())
    penalty = terms[term].item() if term else 0.0
    assert terms["loss"].item() == pytest.approx(terms["mse"].item() + weight * penalty)
    if term == "sparsity_kl":
        assert terms[term].item() == pytest.approx(
            sparsity_kl(0.05, model.encode(x)).item(), rel=1e-6)


def test_k_sparse_keeps_the_top_k_and_backpropagates_through_them_only():
    z = torch.tensor([[3.0, 1.0, 2.0, 5.0], [0.0, -1.0, 4.0, 2.0]])
    assert top_k_mask(z, 2).tolist() == [[1, 0, 0, 1], [0, 0, 1, 1]]
    model = build("ksparse_ae", {"latent_dim": 10, "k": 3})
    x = torch.rand(4, 1, 28, 28)
    code = model.encode(x)
    assert ((code != 0).sum(1) == 3).all()
    pre = model.encoder(x.flatten(1))
    pre.retain_grad()
    (model.decode(pre * top_k_mask(pre.detach(), 3))).sum().backward()
    assert ((pre.grad != 0) == (code != 0)).all()  # no gradient to dropped units


def test_corruptions():
    x = torch.rand(64, 1, 28, 28)
    assert corrupt(x, "masking", 1.0).abs().max() == 0
    salted = corrupt(x, "salt_and_pepper", 1.0)
    assert set(salted.unique().tolist()) == {0.0, 1.0}
    torch.manual_seed(0)
    half = corrupt(x, "masking", 0.5)
    assert 0.45 < (half == 0).float().mean() < 0.55
    noisy = corrupt(x, "gaussian", 0.3)
    assert noisy.min() >= 0 and noisy.max() <= 1 and not torch.equal(noisy, x)


def test_ema_update_by_hand():
    count, total = torch.tensor([1.0, 1.0]), torch.tensor([[0.0], [2.0]])
    z, codes = torch.tensor([[1.0], [3.0], [5.0]]), torch.tensor([0, 1, 1])
    count, total, codebook = ema_update(count, total, z, codes, 0.5, 1e-12)
    # N = ½[1, 1] + ½[1, 2]; m = ½[0, 2] + ½[1, 3 + 5]; e = m / N
    assert count.tolist() == [1.0, 1.5]
    assert total.flatten().tolist() == [0.5, 5.0]
    torch.testing.assert_close(codebook.flatten(), torch.tensor([0.5, 5 / 1.5]))


def test_nearest_codes_and_perplexity():
    codebook = torch.tensor([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]])
    z = torch.tensor([[0.2, -0.1], [4.0, 4.5], [0.9, 1.2]])
    assert nearest_codes(z, codebook).tolist() == [0, 2, 1]
    assert perplexity(torch.tensor([0, 0, 1, 1]), 4) == pytest.approx(2.0)
    assert perplexity(torch.arange(8), 8) == pytest.approx(8.0)


def test_vae_importance_sampling_is_exact_when_the_decoder_ignores_z():
    torch.manual_seed(0)
    model = build("vae", {"hidden": [32], "latent_dim": 4})
    last = model.decoder[-1]
    for layer in (*model.decoder, model.to_stats):
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.zeros_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    torch.nn.init.normal_(last.bias)
    x = (torch.rand(5, 1, 28, 28) > 0.5).float()
    # q(z | x) = p(z) and p(x | z) = p(x) for every z: every importance weight
    # is p(x), the Bernoulli likelihood of the decoder's bias.
    exact = -F.binary_cross_entropy_with_logits(
        last.bias.expand(5, -1), x.flatten(1), reduction="none").sum(1)
    with torch.no_grad():
        for k in (1, 7):
            torch.testing.assert_close(model.importance_log_likelihood(x, k), exact)


def test_vae_likelihood_must_match_the_pixels():
    """Bernoulli needs binarized pixels, the Gaussian density 8-bit ones."""
    for likelihood, binarize in (("bernoulli", False), ("gaussian", True)):
        with pytest.raises(ParameterError, match=r"parameters\.vae\.data\.binarize"):
            check_block("vae", {"model": {"likelihood": likelihood},
                                "data": {"binarize": binarize}})
    check_block("vae", {"model": {"likelihood": "gaussian"},
                        "data": {"binarize": False}})


def test_gaussian_vae_nll_is_the_discrete_bound_of_dequantized_pixels():
    """Decoder ignoring z with means b: −log P(k) ≤ −Σ_d log N(y_d; b_d, s²)
    + D ln 256 for y = (k + u) / 256, in nats per image, never negative."""
    torch.manual_seed(0)
    std = 0.05
    model = build("vae", {"hidden": [32], "latent_dim": 4, "likelihood": "gaussian",
                          "gaussian_std": std, "nll_samples": 3})
    for layer in (*model.decoder, model.to_stats):
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.zeros_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    bias = model.decoder[-1].bias
    with torch.no_grad():
        bias.copy_(torch.rand(784))
    k = torch.randint(0, 256, (4, 784))
    metrics = model.test_metrics((k / 255).view(4, 1, 28, 28), 40)
    y = (k + 0.5) / 256  # the middle of each pixel's dequantization interval
    log_density = torch.distributions.Normal(bias.detach(), std).log_prob(y).sum(1)
    expected = (-log_density + 784 * math.log(256)).mean().item()
    assert metrics["test_nll_is"] == pytest.approx(expected, abs=30)  # u's spread
    assert metrics["test_nll_is"] > 0
    assert metrics["test_bits_per_dim"] == pytest.approx(
        metrics["test_nll_is"] / (784 * math.log(2)))


def test_vae_importance_estimate_bounds_the_elbo():
    torch.manual_seed(0)
    model = build("vae", {"hidden": [64], "latent_dim": 4})
    x = (torch.rand(50, 1, 28, 28) > 0.5).float()
    with torch.no_grad():
        elbo = model.elbo_terms(x)["elbo"].mean()
        log_p = model.importance_log_likelihood(x, 200).mean()
    assert log_p > elbo  # log p(x) >= ELBO, and K = 200 gets closer to it


@pytest.fixture(scope="module")
def digits():
    """64 synthetic 'digits': a horizontal and a vertical bar at random places."""
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(64, 1, 28, 28)
    places = torch.randint(4, 21, (64, 2), generator=generator)
    for image, (row, col) in zip(images, places, strict=True):
        image[0, row:row + 3, 4:24] = 1
        image[0, 4:24, col:col + 3] = 1
    return images, torch.arange(64) % 10


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_overfits_a_batch_of_64(family, digits):
    """A few hundred Adam steps (150 for the convolutional VQ-VAE) on 64 images."""
    torch.manual_seed(0)
    x, y = digits
    model = build(family, {**SMALL[family], "lr": 3e-3})
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    with torch.no_grad():
        before = F.mse_loss(model.reconstruct(x), x).item()
    for _ in range(300 if family != "vqvae" else 150):
        optimizer.zero_grad()
        model.loss(x, y)["loss"].backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        after = F.mse_loss(model.reconstruct(x), x).item()
    assert after < 0.25 * before, (before, after)


@pytest.mark.parametrize("family", ["vae", "vqvae"])
def test_sampling_families_draw_images_in_the_unit_interval(family, digits):
    torch.manual_seed(0)
    model = build(family, SMALL[family]).eval()
    model.after_fit(digits[0], 32)
    with torch.no_grad():
        torch.manual_seed(1)
        first = model.sample(6)
        torch.manual_seed(1)
        again = model.sample(6)
    assert first.shape == (6, 1, 28, 28)
    assert first.min() >= 0 and first.max() <= 1
    assert torch.equal(first, again)  # a function of the torch RNG only


def test_vqvae_prior_counts_the_training_codes(digits):
    model = build("vqvae", SMALL["vqvae"]).eval()
    model.after_fit(digits[0], 32)
    probs = model.prior_logits.exp()
    torch.testing.assert_close(probs.sum(1), torch.ones(49))
    with torch.no_grad():
        codes = model.codes(digits[0])
    counts = F.one_hot(codes, 32).sum(0).float()
    expected = (counts + 0.5) / (counts + 0.5).sum(1, keepdim=True)
    torch.testing.assert_close(probs, expected)
    metrics = model.test_metrics(digits[0], 32)
    assert 1 <= metrics["codebook_perplexity"] <= 32
    assert 0 < metrics["codebook_usage"] <= 1


def test_vqvae_trains_under_bf16_autocast_with_an_fp32_codebook(digits):
    # Under bf16 autocast the encoder's outputs are bf16; the codebook, its EMA
    # statistics and the nearest-code search must stay fp32 (writing bf16 rows
    # into the fp32 codebook once failed: "Index put requires the source and
    # destination dtypes match").
    torch.manual_seed(0)
    config = {**SMALL["vqvae"], "dead_code_threshold": 1e6}  # restarts every step
    model = build("vqvae", config).train()
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(3):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            losses = model.loss(digits[0][:32], digits[1][:32])
        losses["loss"].backward()
        optimizer.step()
        optimizer.zero_grad()
    assert torch.isfinite(losses["loss"])
    assert {model.codebook.dtype, model.ema_total.dtype, model.ema_count.dtype} == {
        torch.float32}
    z = torch.randn(64, 8)
    codebook = z[:32] + 1e-3 * torch.randn(32, 8)  # near ties, told apart in fp32
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = nearest_codes(z, codebook)
    assert torch.equal(under_autocast, nearest_codes(z, codebook))
