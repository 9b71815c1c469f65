"""A DDP training of a deterministic toy, as a script: Lightning's `ddp` re-runs
the command of the process that trains (this script) for each extra rank, as
it re-runs `kedro run` in a pipeline.

`python ddp_toy.py OUT_DIR DEVICES NUM_NODES BATCH_SIZE` trains through the
engine's `fit` with `trainer.devices = DEVICES`, `num_nodes = NUM_NODES`
(`strategy: ddp` when more than one process in all) and the per-rank
`batch_size = BATCH_SIZE`, checkpoints in OUT_DIR/ckpt. Every rank writes the
sample indices it trained on, per epoch (OUT_DIR/seen-<rank>.json); rank 0
alone writes the weights (OUT_DIR/weights.pt) and the per-epoch train loss
(OUT_DIR/history.json). `TOY_KILL=<rank>,<epoch>,<batch>` SIGKILLs that rank
before that batch.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch import nn

from genpipe.distributed import replica_rank
from genpipe.training import TrainerConfig, fit, seed_everything
from genpipe.training.data import TensorDataModule
from genpipe.training.engine import MetricHistory, fingerprint

SEED, EPOCHS, N = 11, 4, 96


class DeterministicToy(L.LightningModule):
    """A small MLP with no randomness in its steps, so a DDP step over two
    half batches is one step over the whole batch, up to rounding."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
        self.seen: dict[int, list[int]] = {}

    def training_step(self, batch, batch_idx):
        x, y, index = batch
        self.seen.setdefault(self.current_epoch, []).extend(index.tolist())
        loss = F.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False, sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y, _ = batch
        self.log("val_loss", F.cross_entropy(self.net(x), y), sync_dist=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.3, momentum=0.9)


def toy_data(batch_size: int) -> TensorDataModule:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(N, 4, generator=generator)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    index = torch.arange(N)
    return TensorDataModule((x, y, index), (x[:32], y[:32], index[:32]),
                            batch_size=batch_size, seed=SEED)


class KillAt(Callback):
    """SIGKILLs rank `rank` before batch `batch` of epoch `epoch`."""

    def __init__(self, rank: int, epoch: int, batch: int):
        self.rank, self.epoch, self.batch = rank, epoch, batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if (trainer.global_rank, trainer.current_epoch, batch_idx) == \
                (self.rank, self.epoch, self.batch):
            os.kill(os.getpid(), signal.SIGKILL)


def main(out: Path, devices: int, num_nodes: int, batch_size: int) -> None:
    seed_everything(SEED)
    model = DeterministicToy()
    world = devices * num_nodes
    config = TrainerConfig(max_epochs=EPOCHS, checkpoint_dir=str(out / "ckpt"),
                           devices=devices, num_nodes=num_nodes,
                           strategy="ddp" if world > 1 else "auto",
                           ddp_timeout_s=60, progress_bar=False)
    history = MetricHistory()
    callbacks = [history]
    if os.environ.get("TOY_KILL"):
        callbacks.append(KillAt(*map(int, os.environ["TOY_KILL"].split(","))))
    trainer = fit(model, toy_data(batch_size), config, device="cpu", family="toy",
                  run_fingerprint=fingerprint("ddp_toy", config, SEED),
                  callbacks=callbacks)
    rank = trainer.global_rank
    (out / f"seen-{rank}.json").write_text(json.dumps(model.seen))
    if replica_rank() is None:
        assert rank == 0
        torch.save(model.state_dict(), out / "weights.pt")
        (out / "history.json").write_text(json.dumps(history.history))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main(Path(sys.argv[1]), *map(int, sys.argv[2:5]))
