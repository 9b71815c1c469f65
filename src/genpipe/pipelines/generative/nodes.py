"""Nodes of the generative template: train, reconstruct and sample any family.

Every node takes the family's name (bound when the template is instantiated)
and its parameters block; the family's model comes from the registry in
`genpipe.models.generative`.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from genpipe import plots
from genpipe.config import EvaluationConfig, FamilyBlock
from genpipe.evaluation import scoring
from genpipe.models import generative
from genpipe.models.generative import GenerativeModel
from genpipe.models.mnist_classifier import to_tensors
from genpipe.training import fit, seed_everything, torch_device
from genpipe.training.data import TensorDataModule
from genpipe.training.engine import MetricHistory, fingerprint

EVAL_BATCH = 500


def _images(split: dict, config: FamilyBlock) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = to_tensors(split)
    return ((images > 0.5).float() if config.data.binarize else images), labels


def _trained(family: str, block: FamilyBlock, weights: dict[str, torch.Tensor],
             device: str) -> GenerativeModel:
    model = generative.build(family, block.model)
    model.load_state_dict(weights)
    return model.to(torch_device(device)).eval()


def train_family(train: dict, val: dict, params: dict, seed: int, device: str, *,
                 family: str) -> tuple[dict[str, torch.Tensor], GenerativeModel, list]:
    """Trains `family` through the shared engine (resumable, curves to MLflow).

    Args:
        train, val: MNIST splits (`images`, `labels`).
        params: The family's block (`model`, `data`, `trainer`, ...).
        seed: The run's seed; device: the `device` parameter.
        family: The family's registered name (its metric prefix).

    Returns:
        The weights (a state dict), the trained model (MLflow's pytorch
        flavour) and the per-epoch history of its loss terms.
    """
    config = FamilyBlock.model_validate(params)
    seed_everything(seed, config.trainer.deterministic)
    model = generative.build(family, config.model)
    train_x, train_y = _images(train, config)
    data = TensorDataModule((train_x, train_y), _images(val, config),
                            batch_size=config.data.batch_size, seed=seed,
                            num_workers=config.data.num_workers)
    history = MetricHistory()
    fit(model, data, config.trainer, device=device, family=family,
        run_fingerprint=fingerprint(family, config, seed, len(train_x)),
        callbacks=[history])
    model.to(torch_device(device)).eval()
    model.after_fit(train_x.to(model.device), EVAL_BATCH)
    weights = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    return weights, model.cpu(), history.history


def evaluate_family(weights: dict[str, torch.Tensor], history: list, test: dict,
                    params: dict, seed: int, device: str, *,
                    family: str) -> tuple[dict[str, float], Figure, Figure, Figure]:
    """Test reconstruction error, the family's own test metrics, and its plots.

    Returns:
        Metrics (`test_mse` and e.g. the VAE's `test_elbo`, `test_nll_is`, the
        VQ-VAE's `codebook_perplexity`), the input-vs-reconstruction grid, the
        t-SNE map of test codes coloured by digit, and the loss curves.
    """
    config = FamilyBlock.model_validate(params)
    seed_everything(seed)
    model = _trained(family, config, weights, device)
    images, labels = _images(test, config)
    images = images.to(model.device)
    with torch.no_grad():
        recon = torch.cat([model.reconstruct(c) for c in images.split(EVAL_BATCH)])
        metrics = {"test_mse": F.mse_loss(recon, images).item(),
                   **model.test_metrics(images, EVAL_BATCH)}
        n = min(config.latent_map_points, len(images))
        codes = model.encode(images[:n]).cpu().numpy()
    rows = config.reconstruction_rows
    pairs = torch.stack([images[:rows * rows // 2], recon[:rows * rows // 2]], 1)
    grid = scoring.sample_grid(pairs.flatten(0, 1).cpu(), rows,
                               f"{family}: input | reconstruction (test), "
                               f"MSE {metrics['test_mse']:.4f}")
    latent = plots.tsne_figure(codes, labels[:n].numpy(),
                               f"{family}: t-SNE of {codes.shape[1]}-d test codes",
                               seed=seed, perplexity=config.tsne_perplexity)
    terms = sorted({key[len("train_"):] for row in history for key in row
                    if key.startswith("train_") and not key.endswith("_epoch")}
                   - {"loss"})
    curves = plots.curves_figure(history, f"{family}: training curves",
                                 ("loss", *terms[:2]))
    return metrics, grid, latent, curves


def sample_family(weights: dict[str, torch.Tensor], params: dict, evaluation: dict,
                  seed: int, device: str, *,
                  family: str) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Draws `evaluation.num_samples` images and times it.

    Returns:
        `{"images": N x 1 x 28 x 28 uint8}` (scored by the shared evaluation
        nodes) and `sampling_images_per_s`.
    """
    config = FamilyBlock.model_validate(params)
    n = EvaluationConfig.model_validate(evaluation).num_samples
    seed_everything(seed)
    model = _trained(family, config, weights, device)
    start = time.perf_counter()
    with torch.no_grad():
        chunks = [model.sample(min(EVAL_BATCH, n - i)).cpu()
                  for i in range(0, n, EVAL_BATCH)]
    seconds = time.perf_counter() - start
    images = torch.cat(chunks).mul(255).round().to(torch.uint8).numpy()
    return {"images": images}, {"sampling_images_per_s": n / seconds}
