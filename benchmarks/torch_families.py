"""What bench_training.py and bench_gpu.py share: every torch family that the
engine trains, built from an environment's parameters, trained for a fixed
number of steps through the engine's own `fit`, then scored and sampled.

A `Case` is one family at its environment's model config and batch size: a
fresh model (`build`), its training and validation rows, the trainer block, a
validation loss computed eagerly in fp32 on fresh weights (so it measures the
weights, not the setting that evaluates them) and, for families that sample,
its sampler.
"""

from __future__ import annotations

import copy
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import numpy as np
import torch
from common import ROOT
from lightning.pytorch.callbacks import Callback

from genpipe.config import (
    CycleGANConfig,
    DannConfig,
    EvaluatorConfig,
    FamilyBlock,
    TrainerConfig,
    validate,
)
from genpipe.models import generative
from genpipe.models.cyclegan import CycleGAN
from genpipe.models.dann import DANN
from genpipe.models.mnist_classifier import MnistClassifier, to_tensors
from genpipe.training import fit, seed_everything
from genpipe.training.data import TensorDataModule, paired_domains
from genpipe.training.engine import content_hash

GANS = ("gan", "cgan", "wgan", "wgan_gp", "progan")
FAMILIES = ("evaluator", "ddpm", "ncsn", "pixelcnn", "gated_pixelcnn", *GANS, "vae",
            "vqvae", "latent_diffusion", "vqvae_prior", "cyclegan", "dann")
# The sampler timed per family: the one the protocol spends its time on
# (DDIM-S for the diffusion families; None: the family's default).
SAMPLER = {"ddpm": "ddim", "latent_diffusion": "ddim", "ncsn": "langevin"}
TRAIN_ROWS, VAL_ROWS = 4096, 1000  # enough for the steps; first stages stay cheap
EVAL_BATCH = 250


def parameters(env: str) -> dict:
    """The `parameters` of `conf/base` merged with `conf/<env>`, as `kedro run
    --env <env>` reads them (the project's own loader settings)."""
    from genpipe.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS

    args = {k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"}
    loader = CONFIG_LOADER_CLASS(str(ROOT / "conf"), env=env, **args)
    return loader["parameters"]


def load_splits(data: Path, seed: int = 0) -> tuple[dict, str]:
    """MNIST train/val and digits train splits from `data` (the ingested
    `02_intermediate` folder), or random stand-ins of the same shapes when it
    is absent (throughput only: the losses then mean nothing)."""
    names = ("mnist_train", "mnist_val", "digits_train")
    if all((data / f"{name}.npz").is_file() for name in names):
        splits = {}
        for name in names:
            with np.load(data / f"{name}.npz") as arrays:
                splits[name] = {key: arrays[key] for key in ("images", "labels")}
        return splits, f"real data from {data}"
    rng = np.random.default_rng(seed)
    sizes = {"mnist_train": TRAIN_ROWS, "mnist_val": VAL_ROWS, "digits_train": 1257}
    return {name: {"images": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                   "labels": rng.integers(0, 10, n).astype(np.uint8)}
            for name, n in sizes.items()}, f"random stand-in data ({data} absent)"


def _head(split: dict, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = to_tensors(split)
    return images[:n], labels[:n]


def _captured_log(module: L.LightningModule) -> dict[str, float]:
    """Makes `module.log` write into the returned dict (no trainer needed)."""
    seen: dict[str, float] = {}
    module.log = lambda name, value, **_: seen.__setitem__(name, float(value))
    return seen


@dataclass
class Case:
    family: str
    build: Callable[[], L.LightningModule]
    train: tuple[torch.Tensor, ...]
    val: tuple[torch.Tensor, ...]
    batch_size: int
    trainer: TrainerConfig
    val_loss: Callable[[L.LightningModule], float]
    sampler: str | None = None
    samples: bool = False
    notes: list[str] = field(default_factory=list)


def _validation_loss(build: Callable[[], L.LightningModule],
                     val: tuple[torch.Tensor, ...], key: str) -> Callable:
    """The mean of what the family's `validation_step` logs under `key`, in
    fp32 and eagerly, on a fresh copy of the trained weights, seeded."""
    def score(trained: L.LightningModule) -> float:
        module = build()
        module.load_state_dict({k: v.detach().cpu().contiguous()
                                for k, v in trained.state_dict().items()})
        module.eval()
        seen, total, count = _captured_log(module), 0.0, 0
        torch.manual_seed(0)  # the same noise / t for every setting
        with torch.no_grad():
            for start in range(0, len(val[0]), EVAL_BATCH):
                batch = [t[start:start + EVAL_BATCH] for t in val]
                module.validation_step(batch, 0)
                total, count = total + seen[key] * len(batch[0]), count + len(batch[0])
        return total / count
    return score


def _generative(family: str, params: dict, splits: dict) -> Case:
    block = FamilyBlock.model_validate(params[family])
    stage = None
    cls = generative.load_family(family)
    notes = []
    if cls.first_stage:
        torch.manual_seed(0)
        stage = generative.build(cls.first_stage, FamilyBlock.model_validate(
            params[cls.first_stage]).model).eval()
        notes.append(f"untrained {cls.first_stage} first stage")

    def build() -> L.LightningModule:
        model = generative.build(family, block.model)
        if stage is not None:
            model.attach_first_stage(copy.deepcopy(stage))
        return model

    def images(split: dict, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = _head(split, n)
        return ((x > 0.5).float() if block.data.binarize else x), y

    (train_x, train_y), (val_x, val_y) = (images(splits["mnist_train"], TRAIN_ROWS),
                                          images(splits["mnist_val"], VAL_ROWS))
    model = build()
    with torch.no_grad():
        train_x, val_x = model.training_inputs(train_x, val_x, 500)
    if family == "progan":
        notes.append("one epoch: the 7x7 phase only")
    key = "val_d_loss" if family in GANS else "val_loss"
    return Case(family, build, (train_x, train_y), (val_x, val_y),
                block.data.batch_size, block.trainer,
                _validation_loss(build, (val_x, val_y), key),
                sampler=SAMPLER.get(family), samples=model.samples, notes=notes)


def _evaluator(params: dict, splits: dict) -> Case:
    config = validate(EvaluatorConfig, params["evaluator"], ("evaluator",))

    def build() -> L.LightningModule:
        return MnistClassifier(config.model)
    val = _head(splits["mnist_val"], VAL_ROWS)
    return Case("evaluator", build, _head(splits["mnist_train"], TRAIN_ROWS), val,
                config.batch_size, config.trainer,
                _validation_loss(build, val, "val_loss"))


def _domains(splits: dict, seed: int) -> tuple[tuple, tuple]:
    rows = paired_domains(_head(splits["mnist_train"], TRAIN_ROWS),
                          to_tensors(splits["digits_train"]), seed)
    val = paired_domains(_head(splits["mnist_val"], VAL_ROWS),
                         to_tensors(splits["digits_train"]), seed + 1)
    return rows, val


def _cyclegan(params: dict, splits: dict) -> Case:
    config = validate(CycleGANConfig, params["cyclegan"], ("cyclegan",))
    rows, val = _domains(splits, 0)

    def build() -> L.LightningModule:
        return CycleGAN(config.model)

    def score(trained: L.LightningModule) -> float:  # G's objective, held out
        module = build()
        module.load_state_dict({k: v.contiguous() for k, v in
                                trained.state_dict().items()})
        module.eval()
        with torch.no_grad():
            terms = [module.g_terms(2 * val[0][i:i + EVAL_BATCH] - 1,
                                    2 * val[2][i:i + EVAL_BATCH] - 1)[0]["g_loss"]
                     for i in range(0, len(val[0]), EVAL_BATCH)]
        return float(torch.stack(terms).mean())
    return Case("cyclegan", build, rows, val, config.batch_size, config.trainer, score,
                notes=["a row: one MNIST and one digits image"])


def _dann(params: dict, splits: dict) -> Case:
    config = validate(DannConfig, params["dann"], ("dann",))
    rows, val = _domains(splits, 0)

    def build() -> L.LightningModule:
        return DANN(config.model, "adapted")

    def score(trained: L.LightningModule) -> float:  # the adapted objective, λ_p = 1
        module = build()
        module.load_state_dict({k: v.contiguous() for k, v in
                                trained.state_dict().items()})
        module.eval()
        with torch.no_grad():
            terms = [module.loss([t[i:i + EVAL_BATCH] for t in val], 1.0)["loss"]
                     for i in range(0, len(val[0]), EVAL_BATCH)]
        return float(torch.stack(terms).mean())
    return Case("dann", build, rows, val, config.batch_size, config.trainer, score,
                notes=["mode adapted; a row: one MNIST and one digits image"])


def make_case(family: str, params: dict, splits: dict) -> Case:
    """Family `family` at the model config and batch size of `params`."""
    if family == "evaluator":
        return _evaluator(params, splits)
    if family == "cyclegan":
        return _cyclegan(params, splits)
    if family == "dann":
        return _dann(params, splits)
    return _generative(family, params, splits)


class StepTimer(Callback):
    """Times optimisation steps `warmup` .. the last (batches, counted from 0),
    in wall seconds and in this process's CPU seconds (all its threads: on a
    shared machine the work done, whatever the other jobs take); `warmup_s`
    is what the first `warmup` steps took (compilation included)."""

    def __init__(self, warmup: int, synchronize: Callable[[], None] = lambda: None):
        self.warmup, self.synchronize = warmup, synchronize
        self.begin = self.start = self.end = self.cpu_start = self.cpu_end = 0.0

    def on_train_start(self, trainer, pl_module) -> None:
        self.begin = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            self.synchronize()
            self.start, self.cpu_start = time.perf_counter(), time.process_time()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.synchronize()
        self.end, self.cpu_end = time.perf_counter(), time.process_time()

    @property
    def warmup_s(self) -> float:
        return self.start - self.begin


class PeakRSS:
    """Peak resident memory of this process while in the block, less the RSS
    at its start, polled every 5 ms from /proc (`delta_mib`)."""

    def __enter__(self) -> PeakRSS:
        self._page = os.sysconf("SC_PAGE_SIZE")
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _rss(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self._page

    def _poll(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def delta_mib(self) -> float:
        return (self.peak - self.base) / 2**20


@dataclass
class Result:
    train_ips: float  # rows per (wall) second over the timed steps
    train_cpu_ips: float  # rows per CPU second of this process
    warmup_s: float
    sample_ips: float | None
    sample_cpu_ips: float | None
    weights_hash: str
    val_loss: float
    module: L.LightningModule


def train_steps(case: Case, *, steps: int, warmup: int, seed: int, device: str,
                precision: str = "32-true", channels_last: bool = False,
                compile: bool = False, samples: int = 0,
                synchronize: Callable[[], None] = lambda: None,
                autocast: str = "cpu", log_every_n_steps: int | None = None) -> Result:
    """`warmup + steps` optimisation steps of `case` through the engine's `fit`
    (one epoch of that many batches, no validation, no MLflow, checkpoints in
    a throw-away folder), then `samples` images drawn twice (the second timed).
    With `log_every_n_steps`, metrics go to the active MLflow run at that rate.
    """
    seed_everything(seed, case.trainer.deterministic)
    module = case.build()
    data = TensorDataModule(case.train, case.val, batch_size=case.batch_size,
                            seed=seed)
    timer = StepTimer(warmup, synchronize)
    with tempfile.TemporaryDirectory() as folder:
        config = case.trainer.model_copy(update={
            "max_epochs": 1, "limit_train_batches": warmup + steps,
            "limit_val_batches": 0, "checkpoint_dir": folder, "resume": False,
            "progress_bar": False, "precision": precision,
            "channels_last": channels_last, "compile": compile,
            "log_every_n_steps": log_every_n_steps or case.trainer.log_every_n_steps})
        fit(module, data, config, device=device, family=case.family,
            run_fingerprint="bench", callbacks=[timer],
            log_to_mlflow=log_every_n_steps is not None)
    train_ips = steps * case.batch_size / (timer.end - timer.start)
    train_cpu_ips = steps * case.batch_size / (timer.cpu_end - timer.cpu_start)
    weights_hash = content_hash({k: v for k, v in module.state_dict().items()})
    sample_ips = sample_cpu_ips = None
    if samples and case.samples:
        module.eval()
        with torch.no_grad(), torch.autocast(
                autocast, dtype=torch.bfloat16, enabled=precision == "bf16-mixed"):
            module.sample(samples, case.sampler)  # warm-up (and compilation)
            synchronize()
            start, cpu = time.perf_counter(), time.process_time()
            module.sample(samples, case.sampler)
            synchronize()
            sample_ips = samples / (time.perf_counter() - start)
            sample_cpu_ips = samples / (time.process_time() - cpu)
    module.cpu()
    return Result(train_ips, train_cpu_ips, timer.warmup_s, sample_ips,
                  sample_cpu_ips, weights_hash, case.val_loss(module), module)
