"""Conditional GAN (Mirza & Osindero, 2014): G(z, y) and D(x, y).

G sees the label as a one-hot code beside z and as class-wise batch-norm scale
and shift (`_gan.Generator`); D is a projection discriminator (Miyato & Koyama,
2018), l(x, y) = w·φ(x) + e_y·φ(x). Trained with
the GAN losses (non-saturating G by default). `report` draws the 10 x 10 grid
with one row per class and measures the evaluator's accuracy on conditional
samples: does the digit drawn for label y get classified as y?
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from pydantic import Field

from genpipe import plots
from genpipe.models.generative._base import batched
from genpipe.models.generative._gan import GANConfig, MinimaxGAN

CLASSES = 10


class Config(GANConfig):
    generator_loss: Literal["minimax", "non_saturating"] = "non_saturating"
    beta1: float = Field(0.5, ge=0, lt=1)
    label_samples: int = Field(1000, ge=1)  # conditional samples per class, scored


class CGAN(MinimaxGAN):
    Config = Config
    conditional = True
    figures = ("class_grid",)
    curves = ("d_loss", "g_loss", "d_fake")

    @torch.no_grad()
    def label_accuracy(self, classify, per_class: int, batch_size: int = 500
                       ) -> dict[str, float]:
        """The evaluator's accuracy on `per_class` samples of each label, overall
        and for the worst class."""
        labels = torch.arange(CLASSES, device=self.device).repeat_interleave(per_class)
        images = batched(lambda y: self.sample(len(y), labels=y), labels, batch_size)
        predicted = np.concatenate([classify(chunk).argmax(1)
                                    for chunk in images.split(batch_size)])
        correct = predicted == labels.cpu().numpy()
        per_label = correct.reshape(CLASSES, per_class).mean(1)
        return {"label_accuracy": float(correct.mean()),
                "label_accuracy_worst_class": float(per_label.min())}

    def report(self, x, y, classify):
        """Label accuracy and the class grid: row y = G(z_j, y), the same z_j
        in every row (column), so style is held fixed while the digit changes."""
        metrics = self.label_accuracy(classify, self.config.label_samples) \
            if classify is not None else {}
        with torch.no_grad():
            z = self.noise(CLASSES).repeat(CLASSES, 1)
            labels = torch.arange(CLASSES, device=self.device)
            grid = (self.generate(z, labels.repeat_interleave(CLASSES)) + 1) / 2
        accuracy = f", label accuracy {metrics['label_accuracy']:.3f}" \
            if metrics else ""
        figure = plots.sample_grid(grid.cpu(), CLASSES,
                                     f"cgan: row = label 0..9{accuracy}")
        return metrics, {"class_grid": figure}


MODEL = CGAN
