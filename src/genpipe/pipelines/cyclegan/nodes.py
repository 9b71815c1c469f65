"""Nodes of the `cyclegan` pipeline: a classifier of digits (the judge of
G(MNIST)), each variant trained and measured, and the comparison."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from genpipe.config import (
    CycleGANConfig,
    EvaluationConfig,
    EvaluatorConfig,
    validate,
)
from genpipe.evaluation import metrics as sample_metrics
from genpipe.evaluation.extractor import build_extractor
from genpipe.models.cyclegan import CycleGAN, translate_all
from genpipe.models.mnist_classifier import MnistClassifier, predict, to_tensors
from genpipe.training import fit, seed_everything, torch_device
from genpipe.training.data import TensorDataModule, paired_domains
from genpipe.training.engine import fingerprint

VARIANTS = ("cycle", "no_cycle")  # λ from the block; λ = 0
EVAL_BATCH = 250


def _config(params: dict) -> CycleGANConfig:
    return validate(CycleGANConfig, params, ("cyclegan",))


def _variant(config: CycleGANConfig, variant: str) -> CycleGANConfig:
    """The block with λ = 0 for `no_cycle` (everything else equal)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if variant == "cycle":
        return config
    return config.model_copy(update={"model": config.model.model_copy(
        update={"cycle_weight": 0.0})})


def train_digits_classifier(train: dict, test: dict, params: dict, seed: int,
                            device: str
                            ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """The evaluator's network trained on the digits' training split, the
    judge of G(MNIST) (the evaluator itself judges F(digits)).

    Returns:
        Its weights and `test_acc` on the digits' test split.
    """
    config = _config(params)
    seed_everything(seed, config.digits_classifier_trainer.deterministic)
    images, labels = to_tensors(train)
    data = TensorDataModule((images, labels), (images[:1], labels[:1]),
                            batch_size=config.batch_size, seed=seed)
    model = MnistClassifier(config.digits_classifier)
    fit(model, data, config.digits_classifier_trainer, device=device,
        family="cyclegan.digits_classifier",
        run_fingerprint=fingerprint("digits_classifier", config.digits_classifier,
                                    config.digits_classifier_trainer, seed, train))
    x, y = to_tensors(test)
    logits, _ = predict(model, x, device=torch_device(device))
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return weights, {"test_acc": float((logits.argmax(1) == y).float().mean())}


def train_cyclegan(mnist: dict, digits: dict, params: dict, seed: int, device: str,
                   *, variant: str
                   ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Trains G, F, D_X, D_Y on unpaired batches through the shared engine.

    Args:
        mnist, digits: The two training splits (labels unused).
        params: The `cyclegan` block; variant: `cycle` or `no_cycle` (λ = 0).

    Returns:
        The weights and `train_seconds`, `num_params`, `train_images`.
    """
    config = _variant(_config(params), variant)
    start = time.perf_counter()
    seed_everything(seed, config.trainer.deterministic)
    model = CycleGAN(config.model)
    rows = paired_domains(to_tensors(mnist), to_tensors(digits), seed)
    data = TensorDataModule(rows, tuple(t[:1] for t in rows),
                            batch_size=config.batch_size, seed=seed)
    fit(model, data, config.trainer, device=device, family=f"cyclegan.{variant}",
        run_fingerprint=fingerprint("cyclegan", config, seed, mnist, digits))
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return weights, {"train_seconds": time.perf_counter() - start,
                     "num_params": float(sum(p.numel() for p in model.parameters())),
                     "train_images": float(len(rows[0]))}


def _accuracy(weights: dict[str, torch.Tensor], config, images: torch.Tensor,
              labels: torch.Tensor, device: str) -> float:
    model = MnistClassifier(config)
    model.load_state_dict(weights)
    logits, _ = predict(model, images, EVAL_BATCH, torch_device(device))
    return float((logits.argmax(1) == labels).float().mean())


def _extractor(evaluator_model: dict[str, torch.Tensor], evaluator: dict,
               evaluation: EvaluationConfig, device: str):
    """The protocol's feature extractor (the evaluator's features by default)."""
    return build_extractor(evaluation.extractor, evaluator_model,
                           EvaluatorConfig.model_validate(evaluator).model,
                           torch_device(device))


def _distances(extractor, fake: torch.Tensor, real: torch.Tensor,
               evaluation: EvaluationConfig, seed: int) -> dict[str, float]:
    """FID and KID (± spread) of `fake` against `real` in the evaluator's
    features, KID's features scaled by the real set's RMS as `scoring.compare`
    does."""
    f_fake = extractor(fake, evaluation.batch_size).features
    f_real = extractor(real, evaluation.batch_size).features
    mu_f, sigma_f = sample_metrics.feature_statistics(f_fake)
    mu_r, sigma_r = sample_metrics.feature_statistics(f_real)
    scale = np.sqrt(np.mean(np.square(f_real)))
    protocol = evaluation.protocol
    kid, kid_std = sample_metrics.kernel_inception_distance(
        f_real / scale, f_fake / scale, protocol.kid_subsets,
        min(protocol.kid_subset_size, len(f_fake), len(f_real)),
        np.random.default_rng(seed))
    return {"fid": sample_metrics.frechet_distance(mu_r, sigma_r, mu_f, sigma_f),
            "kid": kid, "kid_std": kid_std}


def _test_sets(mnist: dict, digits: dict, n: int):
    (xm, ym), (xd, yd) = to_tensors(mnist), to_tensors(digits)
    return xm[:n], ym[:n], xd[:n], yd[:n]


def _translations_figure(rows: list[tuple[str, torch.Tensor]], title: str) -> Figure:
    figure = Figure(figsize=(rows[0][1].shape[0] * 0.55 + 1.6, len(rows) * 0.6 + 0.5))
    axes = figure.subplots()
    grid = torch.cat([torch.cat(list(images[:, 0]), 1) for _, images in rows])
    axes.imshow(grid.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes.set_yticks(np.arange(len(rows)) * 28 + 14, [name for name, _ in rows],
                    fontsize=7)
    axes.set_xticks([])
    axes.set_title(title, fontsize=8)
    figure.tight_layout()
    return figure


def evaluate_cyclegan(weights: dict[str, torch.Tensor], mnist_test: dict,
                      digits_test: dict, evaluator_model: dict[str, torch.Tensor],
                      digits_classifier: dict[str, torch.Tensor], params: dict,
                      evaluator: dict, evaluation: dict, seed: int, device: str,
                      *, variant: str) -> tuple[dict[str, float], Figure]:
    """Does translation keep the digit, come back, and look like the target?

    Returns:
        `label_preservation_to_digits` (the digits classifier on G(MNIST)
        against the MNIST labels), `label_preservation_to_mnist` (the
        evaluator on F(digits) against the digits' labels), `cycle_error_mnist`
        = mean |F(G(x)) − x| and `cycle_error_digits` = mean |G(F(y)) − y|
        (pixels in [0, 1]), `fid_to_digits`, `kid_to_digits`,
        `kid_std_to_digits` (G(MNIST) against the digits) and the `_to_mnist`
        three (F(digits) against MNIST), in the evaluator's features, on
        `eval_images` test images per domain; and the translations figure.
    """
    config = _variant(_config(params), variant)
    scoring_config = EvaluationConfig.model_validate(evaluation)
    seed_everything(seed)
    model = CycleGAN(config.model)
    model.load_state_dict(weights)
    model = model.to(torch_device(device)).eval()
    xm, ym, xd, yd = _test_sets(mnist_test, digits_test, config.eval_images)
    to_digits = translate_all(model, xm.to(model.device), "digits", EVAL_BATCH).cpu()
    to_mnist = translate_all(model, xd.to(model.device), "mnist", EVAL_BATCH).cpu()
    back_mnist = translate_all(model, to_digits.to(model.device), "mnist",
                               EVAL_BATCH).cpu()
    back_digits = translate_all(model, to_mnist.to(model.device), "digits",
                                EVAL_BATCH).cpu()
    classifier = config.digits_classifier
    evaluator_net = EvaluatorConfig.model_validate(evaluator).model
    metrics = {
        "label_preservation_to_digits": _accuracy(digits_classifier, classifier,
                                                  to_digits, ym, device),
        "label_preservation_to_mnist": _accuracy(evaluator_model, evaluator_net,
                                                 to_mnist, yd, device),
        "cycle_error_mnist": float((back_mnist - xm).abs().mean()),
        "cycle_error_digits": float((back_digits - xd).abs().mean()),
    }
    extractor = _extractor(evaluator_model, evaluator, scoring_config, device)
    for name, fake, real in (("to_digits", to_digits, xd), ("to_mnist", to_mnist, xm)):
        metrics |= {f"{key}_{name}": value for key, value in _distances(
            extractor, fake, real, scoring_config, seed).items()}
    k = config.grid_columns
    kept = (metrics["label_preservation_to_digits"],
            metrics["label_preservation_to_mnist"])
    figure = _translations_figure(
        [("MNIST x", xm[:k]), ("G(x)", to_digits[:k]), ("F(G(x))", back_mnist[:k]),
         ("digits y", xd[:k]), ("F(y)", to_mnist[:k]), ("G(F(y))", back_digits[:k])],
        f"cyclegan.{variant} (λ = {config.model.cycle_weight:g}): label kept "
        f"{kept[0]:.2f} by G (-> digits), {kept[1]:.2f} by F (-> MNIST)")
    return metrics, figure


def compare_cyclegan(cycle: dict[str, float], no_cycle: dict[str, float],
                     mnist_test: dict, digits_test: dict,
                     evaluator_model: dict[str, torch.Tensor],
                     digits_classifier: dict[str, torch.Tensor], params: dict,
                     evaluator: dict, evaluation: dict, seed: int, device: str
                     ) -> tuple[pd.DataFrame, dict[str, float]]:
    """The two variants side by side, beside the untranslated baselines.

    Returns:
        The table (rows `cycle`, `no_cycle`, `untranslated`) and the
        baselines: `evaluator_acc_on_digits` and
        `digits_classifier_acc_on_mnist` (each judge on the other domain's raw
        images: what translation must beat) and `fid_mnist_vs_digits` (the
        domain gap in the evaluator's features).
    """
    config = _config(params)
    scoring_config = EvaluationConfig.model_validate(evaluation)
    seed_everything(seed)
    xm, ym, xd, yd = _test_sets(mnist_test, digits_test, config.eval_images)
    extractor = _extractor(evaluator_model, evaluator, scoring_config, device)
    gap = _distances(extractor, xm, xd, scoring_config, seed)
    baseline = {
        "evaluator_acc_on_digits": _accuracy(
            evaluator_model, EvaluatorConfig.model_validate(evaluator).model, xd, yd,
            device),
        "digits_classifier_acc_on_mnist": _accuracy(
            digits_classifier, config.digits_classifier, xm, ym, device),
        "fid_mnist_vs_digits": gap["fid"], "kid_mnist_vs_digits": gap["kid"]}
    untranslated = {"label_preservation_to_digits":
                    baseline["digits_classifier_acc_on_mnist"],
                    "label_preservation_to_mnist": baseline["evaluator_acc_on_digits"],
                    "fid_to_digits": gap["fid"], "kid_to_digits": gap["kid"]}
    table = pd.DataFrame([{"variant": "cycle", **cycle},
                          {"variant": "no_cycle", **no_cycle},
                          {"variant": "untranslated", **untranslated}])
    return table, baseline
