"""Nodes of the `theory` pipeline: each demo returns its results table, its
checks table (computed beside closed form), its figure, its metrics (MLflow)
and the same scalar metrics again as scores (a JSON file for DVC); the
docstrings' Returns name the first four.

The closed-form demos draw no random numbers; `gan_gradient` is seeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from genpipe.checks import checks_table
from genpipe.config import TrainerConfig
from genpipe.models import generative
from genpipe.models.generative._gan import (
    Discriminator,
    Generator,
    discriminator_loss,
    minimax_generator_loss,
    non_saturating_generator_loss,
)
from genpipe.models.mnist_classifier import to_tensors
from genpipe.theory import experiments, figures, gan_gradients
from genpipe.theory.config import KsparseConfig, TheoryConfig
from genpipe.training import fit, seed_everything, torch_device
from genpipe.training.data import TensorDataModule
from genpipe.training.engine import fingerprint

logger = logging.getLogger(__name__)

Outputs = tuple[pd.DataFrame, pd.DataFrame, Figure, dict[str, float],
                dict[str, float]]


def _run(block: str, params: dict, experiment: Callable) -> Outputs:
    """Validates `theory.<block>` (unknown keys fail) and runs the demo."""
    config = getattr(TheoryConfig.model_validate({block: params}), block)
    report = experiment(config)
    logger.info("theory %s: %s", block, ", ".join(
        f"{k} {v:.4g}" for k, v in report.metrics.items()))
    scores = {key: float(value) for key, value in report.metrics.items()
              if isinstance(value, int | float)}  # histories stay in MLflow
    return report.table, report.checks, report.figure, report.metrics, scores


def compute_entropies(params: dict) -> Outputs:
    """Entropy and cross-entropy of the lecture's weather examples, in bits.

    Args:
        params: The `theory.entropy` block.

    Returns:
        The values table; checks (cross-entropy of a code = its mean length,
        KL two ways, scipy's entropy); the figure; metrics (`entropy_weather`,
        `cross_entropy_weather_code`, ...).
    """
    return _run("entropy", params, experiments.entropy)


def compare_divergences(params: dict) -> Outputs:
    """KL and JS between N(0, 1) and N(mu, 1) over mu, and their slopes.

    Args:
        params: The `theory.divergences` block.

    Returns:
        One row per mu; checks (quadrature KL against mu^2 / 2); the figure;
        metrics (`kl_max_abs_error`, `js_at_mu_max`, `js_gradient_at_mu_max`).
    """
    return _run("divergences", params, experiments.divergences)


def fit_forward_and_reverse_kl(params: dict) -> Outputs:
    """One Gaussian fitted to a bimodal mixture by forward and by reverse KL.

    Args:
        params: The `theory.kl_fit` block.

    Returns:
        The fitted (mu, sd, divergence) per fit; checks (forward fit against
        moment matching, reverse fits against the components); the figure;
        metrics (`forward_mu`, `forward_sd`, `reverse_mu`, `reverse_sd`, ...).
    """
    return _run("kl_fit", params, experiments.kl_fit)


def play_bilinear_game(params: dict) -> Outputs:
    """Simultaneous, alternating, averaged and extragradient steps on x y.

    Args:
        params: The `theory.nash` block.

    Returns:
        The distance to (0, 0) per step and scheme (and the closed forms);
        checks; the trajectory figure; metrics (`radius_simultaneous`,
        `radius_alternating`, `radius_averaged`, `radius_extragradient`).
    """
    return _run("nash", params, experiments.nash)


def trace_sparsity_penalty(params: dict) -> Outputs:
    """The sparse autoencoder's KL(rho || rho_hat) and its gradient.

    Args:
        params: The `theory.sparse_kl` block.

    Returns:
        KL and gradient per rho_hat; checks (minimum at rho, gradient by
        finite differences); the figure; metrics (`argmin_rho_hat`,
        `kl_at_half`, ...).
    """
    return _run("sparse_kl", params, experiments.sparse_kl)


def trace_generator_gradients(mnist_train: dict[str, np.ndarray], params: dict,
                              seed: int) -> Outputs:
    """The vanishing generator gradient, with the GAN family's networks: D
    trained towards optimal on MNIST against an untrained, fixed G.

    Args:
        mnist_train: The ingested training split (`images` N x 28 x 28 uint8).
        params: The `theory.gan_gradient` block.
        seed: Seeds the networks' initialisation, the batches and the noise.

    Returns:
        Gradient norms and mean D(G(z)) per measurement; checks (autograd's
        gradient in each fake logit against -D and -(1 - D)); the figure;
        metrics (`grad_norm_minimax_end`, `grad_norm_non_saturating_end`,
        `d_fake_end`, and both norms as histories over D's steps).
    """
    config = TheoryConfig.model_validate({"gan_gradient": params}).gan_gradient
    rng = seed_everything(seed)
    generator = Generator(config.latent_dim, config.channels)
    discriminator = Discriminator(config.channels)
    pixels = torch.as_tensor(mnist_train["images"][:config.n_images],
                             dtype=torch.float32)
    images = (pixels / 255 * 2 - 1).unsqueeze(1)  # [-1, 1], G's tanh range
    losses = {"minimax": minimax_generator_loss,
              "non_saturating": non_saturating_generator_loss}
    report = gan_gradients.gan_gradient(config, generator, discriminator, images,
                                        losses, discriminator_loss, rng)
    logger.info("theory gan_gradient: minimax %.3g -> %.3g, non-saturating "
                "%.3g -> %.3g, D(G(z)) %.3g", report.metrics["grad_norm_minimax_start"],
                report.metrics["grad_norm_minimax_end"],
                report.metrics["grad_norm_non_saturating_start"],
                report.metrics["grad_norm_non_saturating_end"],
                report.metrics["d_fake_end"])
    scores = {k: v for k, v in report.metrics.items() if isinstance(v, float)}
    return report.table, report.checks, report.figure, report.metrics, scores


def _train_ksparse(k: int, config: KsparseConfig, train: tuple, val: tuple,
                   seed: int, device: str):
    """One `ksparse_ae` model with `k` active units, through the shared engine."""
    seed_everything(seed)
    model = generative.build("ksparse_ae", {"latent_dim": config.latent_dim, "k": k,
                                            "lr": config.lr})
    trainer = TrainerConfig(max_epochs=config.max_epochs, resume=False,
                            checkpoint_dir=f"{config.checkpoint_dir}/ksparse_k{k}",
                            checkpoint_every_n_epochs=config.max_epochs,
                            progress_bar=False, log_every_n_steps=10)
    fit(model, TensorDataModule(train, val, batch_size=config.batch_size, seed=seed),
        trainer, device=device, family=f"ksparse_k{k}", log_to_mlflow=False,
        run_fingerprint=fingerprint("ksparse_sweep", config, k, seed))
    return model.to(torch_device("cpu")).eval()


def sweep_ksparse_filters(mnist_train: dict[str, np.ndarray],
                          mnist_test: dict[str, np.ndarray], params: dict,
                          seed: int, device: str) -> Outputs:
    """The k-sparse autoencoder (the `ksparse_ae` family's model) for each k:
    its filters (the decoder's atoms of the most used units) and its test
    reconstruction error.

    Args:
        mnist_train, mnist_test: The ingested splits.
        params: The `theory.ksparse` block.
        seed: Seeds every model alike; device: the `device` parameter.

    Returns:
        Test MSE and units used per k; checks (the fraction of active code
        units on the test set against k / latent_dim); the filter grids;
        metrics (`test_mse_k<k>`, `units_used_k<k>`: units active on some test
        image).
    """
    config = TheoryConfig.model_validate({"ksparse": params}).ksparse
    x, y = (t[:config.n_train] for t in to_tensors(mnist_train))
    x_test, y_test = (t[:config.n_test] for t in to_tensors(mnist_test))
    rows, filters, checks = [], {}, []
    for k in config.ks:
        model = _train_ksparse(k, config, (x, y), (x_test, y_test), seed, device)
        with torch.no_grad():
            codes = model.encode(x_test)
            mse = float(torch.mean((model.reconstruct(x_test) - x_test) ** 2))
        # the decoder's atoms (columns of W_dec) of the units used most often
        atoms = model.decoder[0].weight.detach().numpy().T  # latent_dim x 784
        usage = (codes != 0).sum(0).numpy()
        filters[k] = atoms[np.argsort(-usage, kind="stable")[:config.filters_shown]]
        rows.append({"k": k, "test_mse": mse, "units_used": int((usage > 0).sum())})
        checks.append((f"active_fraction_k{k}", float((codes != 0).double().mean()),
                       k / config.latent_dim))
    table = pd.DataFrame(rows)
    figure = figures.filters_figure(filters, dict(zip(table["k"], table["test_mse"],
                                                      strict=True)))
    metrics = {**{f"test_mse_k{r.k}": r.test_mse for r in table.itertuples()},
               **{f"units_used_k{r.k}": float(r.units_used)
                  for r in table.itertuples()}}
    return (table, checks_table(checks), figure, metrics, dict(metrics))
