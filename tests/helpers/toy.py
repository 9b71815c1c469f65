"""A tiny model and data for engine tests; also a script for the kill test.

`python toy.py CKPT_DIR OUT_FILE KILL_AT_EPOCH` trains (in an MLflow run named
$TOY_MLFLOW when that is set; at Lightning precision $TOY_PRECISION, default
32-true) and SIGKILLs itself at
the start of epoch KILL_AT_EPOCH (after the previous epoch's checkpoint is on
disk), or writes the final weights to OUT_FILE when KILL_AT_EPOCH is -1, with
the metric history beside it (OUT_FILE.history.json) and its curves drawn as
the pipelines draw them (OUT_FILE.curves.png).
"""

from __future__ import annotations

import os
import signal
import sys

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch import nn

from genpipe.training import TrainerConfig, fit, seed_everything
from genpipe.training.data import TensorDataModule
from genpipe.training.engine import MetricHistory, checkpoint_folder, fingerprint

SEED = 7
EPOCHS = 5


class Toy(L.LightningModule):
    """Logistic regression behind a dropout layer (randomness in every step)."""

    def __init__(self, lr: float = 0.5, nan_at_step: int | None = None):
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(0.2), nn.Linear(4, 2))
        self.lr, self.nan_at_step = lr, nan_at_step

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.net(x), y)
        if self.nan_at_step is not None and self.global_step >= self.nan_at_step:
            loss = loss * float("nan")
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)


def toy_data(n: int = 96) -> TensorDataModule:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=generator)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return TensorDataModule((x, y), (x[:32], y[:32]), batch_size=8, seed=SEED)


def toy_fingerprint(epochs: int = EPOCHS) -> str:
    return fingerprint("toy", SEED, epochs)


def toy_checkpoints(checkpoint_dir, epochs: int = EPOCHS):
    """The folder `fit` keeps this toy configuration's checkpoints in."""
    return checkpoint_folder(checkpoint_dir, toy_fingerprint(epochs))


def train(checkpoint_dir: str, epochs: int = EPOCHS, callbacks=(),
          log_to_mlflow: bool = True, precision: str = "32-true", **toy_kwargs):
    seed_everything(SEED)
    model = Toy(**toy_kwargs)
    config = TrainerConfig(max_epochs=epochs, checkpoint_dir=checkpoint_dir,
                           progress_bar=False, precision=precision)
    trainer = fit(model, toy_data(), config, device="cpu", family="toy",
                  run_fingerprint=toy_fingerprint(epochs),
                  callbacks=callbacks, log_to_mlflow=log_to_mlflow)
    return model, trainer


class KillAtEpoch(Callback):
    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO)
    import json

    from genpipe import plots
    from genpipe.datasets import FigureDataset

    ckpt_dir, out_file, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    history = MetricHistory()
    callbacks = [history, *([KillAtEpoch(kill_at)] if kill_at >= 0 else [])]
    precision = os.environ.get("TOY_PRECISION", "32-true")
    if os.environ.get("TOY_MLFLOW"):  # inside a run of its own, as in a kedro run
        import mlflow

        with mlflow.start_run(run_name=os.environ["TOY_MLFLOW"]):
            model, _ = train(ckpt_dir, callbacks=callbacks, precision=precision)
    else:
        model, _ = train(ckpt_dir, callbacks=callbacks, precision=precision)
    torch.save(model.state_dict(), out_file)
    with open(f"{out_file}.history.json", "w") as handle:
        json.dump(history.history, handle, sort_keys=True)
    FigureDataset(f"{out_file}.curves.png", save_args={"dpi": 80}).save(
        plots.curves_figure(history.history, "toy: training curves", ("loss",)))
