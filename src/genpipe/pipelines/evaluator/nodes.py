"""Nodes of the `evaluator` pipeline: the MNIST classifier, through the engine."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from genpipe.config import EvaluatorConfig
from genpipe.models.mnist_classifier import MnistClassifier, predict, to_tensors
from genpipe.training import fit, seed_everything, torch_device
from genpipe.training.data import TensorDataModule
from genpipe.training.engine import fingerprint

FAMILY = "evaluator"


def train_evaluator(train: dict, val: dict, params: dict, seed: int,
                    device: str) -> dict[str, torch.Tensor]:
    """Trains the classifier with the shared engine (resumable, logged to MLflow).

    Args:
        train: MNIST training split (`images`, `labels`).
        val: Validation split, for the per-epoch `evaluator/val_acc` curve.
        params: The `evaluator` block.
        seed: The run's seed.
        device: The `device` parameter.

    Returns:
        The trained weights (a state dict).
    """
    config = EvaluatorConfig.model_validate(params)
    seed_everything(seed, config.trainer.deterministic)
    data = TensorDataModule(to_tensors(train), to_tensors(val),
                            batch_size=config.batch_size, seed=seed,
                            num_workers=config.num_workers)
    model = MnistClassifier(config.model)
    fit(model, data, config.trainer, device=device, family=FAMILY,
        run_fingerprint=fingerprint(config, seed, train, val))
    return {key: value.detach().cpu() for key, value in model.state_dict().items()}


def evaluate_evaluator(weights: dict[str, torch.Tensor], test: dict, params: dict,
                       device: str) -> tuple[dict[str, float], Figure]:
    """Test accuracy and loss of the trained classifier, and its confusion matrix.

    Returns:
        `test_acc`, `test_loss` and the confusion-matrix figure.
    """
    config = EvaluatorConfig.model_validate(params)
    model = MnistClassifier(config.model)
    model.load_state_dict(weights)
    images, labels = to_tensors(test)
    logits, _ = predict(model, images, device=torch_device(device))
    predicted = logits.argmax(1)
    metrics = {
        "test_acc": (predicted == labels).float().mean().item(),
        "test_loss": F.cross_entropy(logits, labels).item(),
    }
    figure, axes = plt.subplots(figsize=(6, 5.5))
    ConfusionMatrixDisplay.from_predictions(labels.numpy(), predicted.numpy(),
                                            labels=np.arange(10), ax=axes,
                                            colorbar=False)
    axes.set_title(f"MNIST test set, accuracy {metrics['test_acc']:.2%}")
    figure.tight_layout()
    return metrics, figure
