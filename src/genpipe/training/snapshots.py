"""Samples drawn during training: the samples-over-training grid's callback."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images in [0, 1] (clamped) -> uint8 numpy, on the CPU."""
    return images.float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()


class SampleSnapshots(L.Callback):
    """Draws `n` images from the same noise after every epoch (checkpointed),
    with the model's `sample(n)` (a generative family's).

    The draw runs on a forked RNG seeded with `seed`: every epoch sees the same
    noise, and training's own random stream is untouched (resumes stay bitwise).
    """

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self.images: list[np.ndarray] = []

    def _snap(self, trainer: L.Trainer, model: L.LightningModule) -> None:
        if len(self.images) != trainer.current_epoch:
            return  # this epoch's snapshot is taken
        devices = [model.device] if model.device.type == "cuda" else []
        was_training = model.training
        model.eval()
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(self.seed)
            self.images.append(to_uint8(model.sample(self.n)))
        model.train(was_training)

    # After validation, so the epoch's checkpoint (written when validation
    # ends) holds its snapshot; after the epoch when there is no validation.
    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._snap(trainer, pl_module)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._snap(trainer, pl_module)

    # Tensors, not numpy arrays: Lightning and the engine load checkpoints with
    # `torch.load(weights_only=True)`, which refuses pickled numpy arrays.
    def state_dict(self) -> dict:
        return {"images": [torch.from_numpy(images) for images in self.images]}

    def load_state_dict(self, state_dict: dict) -> None:
        self.images = [np.asarray(images) for images in state_dict["images"]]

    def stacked(self) -> np.ndarray:
        """epochs x n x 1 x 28 x 28 uint8 (0 epochs when snapshots are off)."""
        if not self.images:
            return np.zeros((0, self.n, 1, 28, 28), np.uint8)
        return np.stack(self.images)
