"""Domain-adversarial training (Ganin & Lempitsky, 2015; Ganin et al., 2016).

A feature extractor G_f, a label classifier G_y and a domain classifier G_d.
Training seeks the saddle point of

    E(θ_f, θ_y, θ_d) = L_y(G_y(G_f(x_s)), y_s) − λ L_d(G_d(G_f(x)), d),

minimised by θ_f, θ_y and maximised by θ_d. The gradient-reversal layer R_λ
(identity forward, −λ · identity backward) turns the saddle point into one
minimisation: G_d minimises L_d while G_f receives −λ ∂L_d/∂θ_f, so the
features become domain-invariant. λ grows from 0 to 1 as training progresses,
p ∈ [0, 1] (eq. 14 of the JMLR paper),

    λ_p = 2 / (1 + exp(−γ p)) − 1,   γ = 10,

so the noisy domain signal of early training does not swamp the label loss;
the learning rate anneals as μ_p = μ0 / (1 + α p)^β, α = 10, β = 0.75.

The same networks train in three modes: `source_only` (L_y on MNIST: the
lower bound), `adapted` (DANN) and `target_only` (L_y on the target's labels,
which the other two never see: the upper bound).
"""

from __future__ import annotations

import math
from typing import Literal

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from genpipe.config import DannModelConfig

Mode = Literal["source_only", "adapted", "target_only"]
MODES: tuple[Mode, ...] = ("source_only", "adapted", "target_only")


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, lambda_: float) -> torch.Tensor:
        ctx.lambda_ = lambda_
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.lambda_ * grad, None


def reverse_gradient(x: torch.Tensor, lambda_: float) -> torch.Tensor:
    """R_λ(x) = x; ∂R_λ/∂x = −λ I (Ganin & Lempitsky, 2015, eq. 9-10)."""
    return _ReverseGradient.apply(x, lambda_)


def grl_lambda(progress: float, gamma: float = 10.0) -> float:
    """λ_p = 2 / (1 + exp(−γ p)) − 1 for training progress p ∈ [0, 1]."""
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


def lr_factor(progress: float, alpha: float = 10.0, beta: float = 0.75) -> float:
    """μ_p / μ0 = 1 / (1 + α p)^β."""
    return 1.0 / (1.0 + alpha * progress) ** beta


class DANN(L.LightningModule):
    """G_f: two 5x5 conv / max-pool / ReLU blocks (28 -> 4 x 4), G_y and G_d:
    two-layer MLPs (the MNIST architecture of the paper, widths configurable).

    Batches are `(x_s, y_s, x_t, y_t)`; `y_t` is read only in `target_only`.
    """

    def __init__(self, config: DannModelConfig, mode: Mode):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.config, self.mode = config, mode
        c1, c2 = config.channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 5), nn.MaxPool2d(2), nn.ReLU(),  # 24 -> 12
            nn.Conv2d(c1, c2, 5), nn.MaxPool2d(2), nn.ReLU(),  # 8 -> 4
            nn.Flatten())
        dim = c2 * 4 * 4
        self.label_classifier = nn.Sequential(
            nn.Linear(dim, config.hidden), nn.ReLU(),
            nn.Linear(config.hidden, config.hidden), nn.ReLU(),
            nn.Linear(config.hidden, 10))
        self.domain_classifier = nn.Sequential(
            nn.Linear(dim, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits."""
        return self.label_classifier(self.features(x))

    def domain_logits(self, features: torch.Tensor, lambda_: float = 1.0
                      ) -> torch.Tensor:
        """G_d(R_λ(f)): a logit per image, > 0 for "target"."""
        return self.domain_classifier(reverse_gradient(features, lambda_)).squeeze(1)

    def progress(self) -> float:
        """p: the fraction of training's optimizer steps done."""
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        return min(self.global_step / total, 1.0)

    def loss(self, batch, progress: float) -> dict[str, torch.Tensor]:
        x_s, y_s, x_t, y_t = batch
        if self.mode == "target_only":
            return {"loss": F.cross_entropy(self(x_t), y_t)}
        f_s = self.features(x_s)
        class_loss = F.cross_entropy(self.label_classifier(f_s), y_s)
        if self.mode == "source_only":
            return {"loss": class_loss}
        lambda_ = grl_lambda(progress, self.config.gamma)
        f = torch.cat([f_s, self.features(x_t)])
        domain = torch.cat([torch.zeros(len(x_s)), torch.ones(len(x_t))]).to(f)
        logits = self.domain_logits(f, lambda_)
        domain_loss = F.binary_cross_entropy_with_logits(logits, domain)
        return {"loss": class_loss + self.config.domain_weight * domain_loss,
                "class_loss": class_loss, "domain_loss": domain_loss,
                "domain_acc": ((logits > 0).float() == domain).float().mean(),
                "grl_lambda": torch.tensor(lambda_)}

    def training_step(self, batch, batch_idx):
        terms = self.loss(batch, self.progress())
        for name, value in terms.items():
            self.log(f"train_{name}", value, on_step=True, on_epoch=True,
                     prog_bar=name == "loss")
        return terms["loss"]

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=self.config.lr,
                                     weight_decay=self.config.weight_decay)
        total = None  # read lazily: the trainer is attached by then

        def factor(step: int) -> float:
            nonlocal total
            total = total or max(int(self.trainer.estimated_stepping_batches), 1)
            return lr_factor(min(step / total, 1.0), self.config.lr_alpha,
                             self.config.lr_beta)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


@torch.no_grad()
def features_of(model: DANN, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    return torch.cat([model.features(chunk) for chunk in x.split(batch_size)])
