"""Nodes of the `dann` pipeline: train and evaluate each mode of the same
networks (`source_only`, `adapted`, `target_only`), then compare them."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE

from genpipe.config import DannConfig, validate
from genpipe.models.dann import DANN, MODES, Mode, features_of
from genpipe.models.mnist_classifier import to_tensors
from genpipe.training import fit, seed_everything, torch_device
from genpipe.training.data import TensorDataModule, paired_domains
from genpipe.training.engine import fingerprint

DOMAINS = ("source (MNIST)", "target (digits)")


def _config(params: dict) -> DannConfig:
    return validate(DannConfig, params, ("dann",))


def _model(config: DannConfig, mode: Mode, weights: dict[str, torch.Tensor],
           device: str) -> DANN:
    model = DANN(config.model, mode)
    model.load_state_dict(weights)
    return model.to(torch_device(device)).eval()


def train_dann(source: dict, target: dict, params: dict, seed: int, device: str,
               *, mode: Mode) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Trains the networks in `mode` through the shared engine.

    Args:
        source, target: The MNIST and digits training splits (`images`,
            `labels`); the target's labels are read in `target_only` only.
        params: The `dann` block; seed, device: the run's.
        mode: `source_only`, `adapted` or `target_only`.

    Returns:
        The weights and `train_seconds`, `num_params`, `train_images`.
    """
    config = _config(params)
    start = time.perf_counter()
    seed_everything(seed, config.trainer.deterministic)
    model = DANN(config.model, mode)
    source_xy, target_xy = to_tensors(source), to_tensors(target)
    rows = paired_domains(source_xy, target_xy, seed)
    data = TensorDataModule(rows, tuple(t[:1] for t in rows),
                            batch_size=config.batch_size, seed=seed)
    fit(model, data, config.trainer, device=device, family=f"dann.{mode}",
        run_fingerprint=fingerprint("dann", mode, config, seed, source, target))
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return weights, {"train_seconds": time.perf_counter() - start,
                     "num_params": float(sum(p.numel() for p in model.parameters())),
                     "train_images": float(len(rows[0]))}


def _balanced_domains(source: torch.Tensor, target: torch.Tensor, n: int
                      ) -> tuple[torch.Tensor, np.ndarray]:
    n = min(n, len(source), len(target))
    return torch.cat([source[:n], target[:n]]), np.repeat([0, 1], n)


def _domain_probe(features: np.ndarray, domain: np.ndarray, seed: int) -> float:
    """Held-out accuracy of a logistic regression telling the domains apart
    from the features (fitted on even rows, scored on odd): 0.5 = aligned."""
    probe = LogisticRegression(max_iter=2000, random_state=seed)
    probe.fit(features[0::2], domain[0::2])
    return float(probe.score(features[1::2], domain[1::2]))


def evaluate_dann(weights: dict[str, torch.Tensor], source_test: dict,
                  target_test: dict, params: dict, seed: int, device: str, *,
                  mode: Mode) -> dict[str, float]:
    """Test accuracies on both domains and how separable their features are.

    Returns:
        `target_acc` and `source_acc` (test splits), `target_acc_class_<k>`
        (per digit of the target), `domain_probe_acc` (a
        fresh logistic-regression probe on the features of equal numbers of
        test images per domain, held-out half) and, for `adapted`, `domain_acc`
        (its own domain classifier on the same images; both → 0.5 as the
        features align).
    """
    config = _config(params)
    seed_everything(seed)
    model = _model(config, mode, weights, device)
    metrics = {}
    for name, split in (("source", source_test), ("target", target_test)):
        x, y = to_tensors(split)
        with torch.no_grad():
            logits = torch.cat([model(c.to(model.device))
                                for c in x.split(config.eval_batch_size)])
        correct = logits.argmax(1).cpu() == y
        metrics[f"{name}_acc"] = float(correct.float().mean())
        if name == "target":  # which digits the shift breaks (docs/gans_beyond.md)
            metrics |= {f"target_acc_class_{c}": float(correct[y == c].float().mean())
                        for c in range(10) if (y == c).any()}
    images, domain = _balanced_domains(to_tensors(source_test)[0],
                                       to_tensors(target_test)[0], 10**9)
    features = features_of(model, images.to(model.device), config.eval_batch_size)
    metrics["domain_probe_acc"] = _domain_probe(features.cpu().numpy(), domain, seed)
    if mode == "adapted":
        with torch.no_grad():
            logits = model.domain_logits(features).cpu().numpy()
        metrics["domain_acc"] = float(((logits > 0) == domain).mean())
    return metrics


def _tsne_panel(axes, points: np.ndarray, domain: np.ndarray, labels: np.ndarray,
                title: str) -> None:
    for d, marker in ((0, "o"), (1, "^")):
        chosen = domain == d
        axes.scatter(points[chosen, 0], points[chosen, 1], c=labels[chosen],
                     cmap="tab10", vmin=0, vmax=9, s=7, marker=marker,
                     label=DOMAINS[d], alpha=0.8)
    axes.set_title(title, fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.legend(fontsize=7, loc="best")


def compare_dann(source_only: dict[str, float], adapted: dict[str, float],
                 target_only: dict[str, float],
                 source_only_model: dict[str, torch.Tensor],
                 adapted_model: dict[str, torch.Tensor], source_test: dict,
                 target_test: dict, params: dict, seed: int, device: str
                 ) -> tuple[pd.DataFrame, Figure, dict[str, float]]:
    """DANN between its bounds, and the features before and after adaptation.

    Returns:
        The comparison table (one row per mode), the t-SNE figure of source
        and target test features of the source-only (before) and the adapted
        (after) networks (colour: digit; marker: domain), and
        `target_acc_gain` (adapted − source-only target accuracy) and
        `gap_closed` (that gain over the target-only − source-only gap).
    """
    config = _config(params)
    seed_everything(seed)
    table = pd.DataFrame([{"mode": mode, **metrics} for mode, metrics in zip(
        MODES, (source_only, adapted, target_only), strict=True)])
    (xs, ys), (xt, yt) = to_tensors(source_test), to_tensors(target_test)
    images, domain = _balanced_domains(xs, xt, config.tsne_points)
    n = len(images) // 2
    labels = torch.cat([ys[:n], yt[:n]]).numpy()
    figure = Figure(figsize=(11, 5.5))
    panels = figure.subplots(1, 2)
    for axes, mode, weights in ((panels[0], "source_only", source_only_model),
                                (panels[1], "adapted", adapted_model)):
        model = _model(config, mode, weights, device)
        features = features_of(model, images.to(model.device),
                               config.eval_batch_size).cpu().numpy()
        points = TSNE(n_components=2, perplexity=min(config.tsne_perplexity,
                                                     len(images) - 1),
                      init="pca", random_state=seed).fit_transform(features)
        metrics = source_only if mode == "source_only" else adapted
        _tsne_panel(axes, points, domain, labels,
                    f"{'before' if mode == 'source_only' else 'after'} adaptation "
                    f"({mode}): target acc {metrics['target_acc']:.3f}, domain "
                    f"probe {metrics['domain_probe_acc']:.2f}")
    figure.suptitle("dann: t-SNE of test features, MNIST -> digits", fontsize=10)
    figure.tight_layout()
    gain = adapted["target_acc"] - source_only["target_acc"]
    gap = target_only["target_acc"] - source_only["target_acc"]
    return table, figure, {"target_acc_gain": gain,
                           "gap_closed": gain / gap if gap > 0 else float("nan")}
