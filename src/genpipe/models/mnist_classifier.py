"""The MNIST classifier whose features and softmax score generative models.

A small VGG-style CNN (two conv blocks, a 128-d penultimate layer). FID is
computed on `features(x)` and the Inception Score on `softmax(forward(x))`, in
place of Inception-v3, whose weights cannot be had offline.
"""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from genpipe.config import MnistClassifierConfig


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def random_shift(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Translates each image by up to `max_shift` pixels (zero fill)."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, [max_shift] * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    return padded[batch, 0, rows, cols]


class MnistClassifier(L.LightningModule):
    """CNN on 1x28x28 images in [0, 1]; `features` is its 128-d penultimate layer."""

    def __init__(self, config: MnistClassifierConfig, max_steps: int | None = None):
        super().__init__()
        self.config, self.max_steps = config, max_steps
        c1, c2 = config.channels
        self.body = nn.Sequential(_block(1, c1), _block(c1, c2), nn.Flatten(),
                                  nn.Linear(c2 * 7 * 7, config.feature_dim),
                                  nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(config.dropout),
                                  nn.Linear(config.feature_dim, 10))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        if stage == "train":
            x = random_shift(x, self.config.max_shift)
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
        on_step = stage == "train"
        # sync_dist: under DDP the mean over every rank's shard (no-op in one
        # process).
        self.log(f"{stage}_loss", loss, on_step=on_step, on_epoch=True,
                 prog_bar=True, sync_dist=True)
        self.log(f"{stage}_acc", acc, on_step=on_step, on_epoch=True, prog_bar=True,
                 sync_dist=True)
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._step(batch, "test")

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.config.lr,
                                      weight_decay=self.config.weight_decay)
        total = self.max_steps or self.trainer.estimated_stepping_batches
        # One-cycle schedule (Smith & Topin, 2017): fast convergence in few epochs.
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=self.config.lr, total_steps=int(total))
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def to_tensors(split: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """`{"images": N x 28 x 28 uint8, "labels": N}` -> (N x 1 x 28 x 28, N).

    Pixels are scaled to [0, 1]; labels become int64.
    """
    images = torch.from_numpy(split["images"]).float().div_(255).unsqueeze(1)
    return images, torch.from_numpy(split["labels"]).long()


@torch.no_grad()
def predict(model: MnistClassifier, images: torch.Tensor, batch_size: int = 1000,
            device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, features) for a stack of images, in evaluation mode, on `device`."""
    model = model.to(device).eval()
    logits, features = [], []
    for chunk in images.split(batch_size):
        feats = model.features(chunk.to(device))
        features.append(feats.cpu())
        logits.append(model.head(feats).cpu())
    return torch.cat(logits), torch.cat(features)
