"""A small MLP on standardized tabular features (the model Integrated Gradients
explains: IG needs gradients, which a tree ensemble does not have).

One logit out, P(class 1) = sigmoid(logit); trained with binary cross-entropy
through the shared engine. Model selection uses a validation split of the
training data (`genpipe.training.best.BestWeights`); the test split is
only ever scored.
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genpipe.config import TabularMLPConfig
from genpipe.training.best import BestWeights


class Standardizer:
    """z = (x - mean) / scale, fitted on training rows (a zero scale becomes 1)."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        scale = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale


class TabularMLP(BestWeights, L.LightningModule):
    """Linear-ReLU-Dropout blocks of `config.hidden` widths, then one logit;
    keeps the weights of its lowest validation loss (`BestWeights`)."""

    def __init__(self, config: TabularMLPConfig, num_features: int):
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width = num_features
        for hidden in config.hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(config.dropout)]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logit of class 1, shape (N,)."""
        return self.net(x).squeeze(-1)

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = F.binary_cross_entropy_with_logits(logits, y.float())
        acc = ((logits > 0).long() == y).float().mean()
        on_step = stage == "train"
        self.log(f"{stage}_loss", loss, on_step=on_step, on_epoch=True,
                 batch_size=len(y))
        self.log(f"{stage}_acc", acc, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self.keep_if_best((-float(self.trainer.callback_metrics["val_loss"]),))

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> np.ndarray:
        """P(class 1) per row, in evaluation mode (no dropout)."""
        was_training = self.training
        self.eval()
        proba = torch.sigmoid(self(x)).cpu().numpy().astype(np.float64)
        self.train(was_training)
        return proba

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.config.lr,
                                weight_decay=self.config.weight_decay)
