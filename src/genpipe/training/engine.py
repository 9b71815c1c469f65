"""One Lightning-based `fit` for every torch model family.

What it adds to a bare `lightning.Trainer`:

* the `device` parameter resolved strictly (CUDA asked for but absent fails);
* metrics logged into the *active* MLflow run (the family's child run) under
  Lightning's names, never a run of its own, and without Lightning re-logging
  parameters;
* checkpoints every epoch, written atomically, carrying every RNG state, so a
  killed run resumed from `last.ckpt` ends with bitwise-identical weights on CPU;
* a non-finite loss stops training with an error naming the family, epoch and
  step, keeping the last good checkpoint;
* DDP over processes and nodes (`devices`, `num_nodes`: `genpipe.training.ddp`):
  every rank runs this same `fit`; rank 0 logs and writes the checkpoints, the
  others (replicas) only train, and a lost rank fails the run with an error
  naming it, the last checkpoint kept for the re-run to resume from.
* the speed knobs `channels_last` and `compile` (off by default) applied to the
  module before training (`apply_speedups`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import mlflow
import numpy as np
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import MLFlowLogger
from mlflow.entities import Metric
from pydantic import BaseModel

from genpipe.config import ParameterError, TrainerConfig
from genpipe.distributed import replica_rank
from genpipe.io import (
    RefusedFileError,
    atomic_write_bytes,
    exclusive_lock,
    load_tensors,
)
from genpipe.training.ddp import (
    RankAgreement,
    ddp_strategy,
    end_process_group,
    is_lost_peer,
    rank_lost,
)
from genpipe.training.device import resolve_device
from genpipe.training.seed import rng_state, set_rng_state

logger = logging.getLogger(__name__)

# Known-harmless noise: in-memory tensors need no loader workers, and the
# LeafSpec deprecation is Lightning's own call into torch.
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")

LAST = "last.ckpt"


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite."""


def _same_location(storage: Any, location: str) -> Any:
    return storage


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint to a temporary file, then renames it into place."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any,
                        storage_options: Any | None = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write_bytes(path, buffer.getvalue())

    def load_checkpoint(self, path: Any, map_location: Any = None,
                        weights_only: bool | None = None) -> dict[str, Any]:
        # Tensors and plain containers only, whatever the caller asks: a
        # planted `last.ckpt` must not run code when a run resumes from it.
        # (No map_location keeps each tensor where it was saved, as Lightning.)
        return load_tensors(path, map_location=map_location or _same_location)


class RunStateCallback(Callback):
    """Saves RNG states, the run's fingerprint and the MLflow run it logs into
    in every checkpoint."""

    def __init__(self, fingerprint: str, mlflow_run_id: str | None = None):
        self.fingerprint, self.mlflow_run_id = fingerprint, mlflow_run_id

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        checkpoint["genpipe"] = {"rng": rng_state(), "fingerprint": self.fingerprint,
                                 "mlflow_run_id": self.mlflow_run_id or ""}

    def on_load_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        set_rng_state(checkpoint["genpipe"]["rng"])


class FiniteLossCallback(Callback):
    """Stops training at the first NaN/inf loss (before it is checkpointed)."""

    def __init__(self, family: str, checkpoint_dir: Path):
        self.family, self.checkpoint_dir = family, checkpoint_dir

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        items = outputs.items() if isinstance(outputs, dict) else [("loss", outputs)]
        for name, value in items:
            if (torch.is_tensor(value) and value.numel() == 1
                    and not torch.isfinite(value).item()):
                last = self.checkpoint_dir / LAST
                kept = f"last good checkpoint: {last}" if last.is_file() else \
                    "no checkpoint was written yet"
                # Lightning clips gradients only under automatic optimization.
                remedy = "Lower the learning rate or set trainer.gradient_clip_val." \
                    if pl_module.automatic_optimization else "Lower the learning rate."
                # Counted in batches from 1, as a user counts them: Lightning's
                # global_step counts optimizer steps (two per batch for a GAN).
                per_epoch = trainer.num_training_batches
                overall = trainer.current_epoch * per_epoch + batch_idx + 1 \
                    if per_epoch != float("inf") else None
                where = f"batch {batch_idx + 1} of {per_epoch} in the epoch" \
                    + (f", batch {overall} of the run" if overall else "")
                raise NonFiniteLossError(
                    f"{self.family}: {name} became {value.item()} at epoch "
                    f"{trainer.current_epoch} (epochs count from 0, as the "
                    f"checkpoints), {where}; {kept}. {remedy}")


class MetricHistory(Callback):
    """Keeps the epoch-level metrics of every training epoch, for plots.

    `history[i]` holds the floats Lightning had in `callback_metrics` after
    epoch i (e.g. `train_loss`, `val_acc`).
    """

    def __init__(self) -> None:
        self.history: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # Lightning validates *before* this hook and aggregates the epoch's
        # training metrics just before it: both of this epoch are present here.
        self.history.append({k: float(v) for k, v in trainer.callback_metrics.items()
                             if not k.endswith("_step")})

    # Checkpointed (plain floats: `weights_only` loads them), so a resumed run
    # holds every epoch's row, numbered as in an uninterrupted run.
    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(row) for row in self.history]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = [dict(row) for row in state_dict["history"]]


class ActiveRunLogger(MLFlowLogger):
    """Lightning's MLflow logger bound to the run kedro-mlflow opened.

    The active run is the family's own child run (`genpipe.tracking`), so
    metrics keep Lightning's plain names (`train_loss`, `val_acc`); parameters
    are left to kedro-mlflow (MLflow refuses to re-log a key with another value)
    and the run is closed by the project's hooks, not by Lightning's `finalize`.
    """

    def __init__(self, run_id: str):
        super().__init__(tracking_uri=mlflow.get_tracking_uri(), run_id=run_id)

    def log_hyperparams(self, params) -> None:
        pass

    def finalize(self, status: str = "success") -> None:
        pass


def content_hash(data: Any) -> str:
    """sha256 of data's content: tensors, arrays, PyG graphs, DataFrames and
    dicts/lists/tuples of them (dtype, shape and bytes; dict keys sorted).

    The one helper every fingerprint uses for training data, so a checkpoint
    made on other data (another split, normalisation, subset) is never resumed.
    """
    digest = hashlib.sha256()

    def feed(obj: Any) -> None:
        if isinstance(obj, torch.Tensor):
            obj = obj.detach().cpu()
            if obj.is_sparse:
                obj = obj.coalesce()
                digest.update(f"sparse{tuple(obj.shape)}".encode())
                feed(obj.indices())
                feed(obj.values())
                return
            feed(obj.contiguous().numpy() if obj.dtype != torch.bfloat16
                 else obj.float().numpy())
        elif isinstance(obj, np.ndarray):
            array = np.ascontiguousarray(obj)
            digest.update(f"array{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes() if array.dtype != object
                          else repr(array.tolist()).encode())
        elif isinstance(obj, BaseModel):
            feed(obj.model_dump(mode="json"))
        elif hasattr(obj, "to_dict") and hasattr(obj, "edge_index"):  # PyG Data
            feed(dict(obj.to_dict()))
        elif hasattr(obj, "to_numpy") and hasattr(obj, "columns"):  # DataFrame
            feed([list(map(str, obj.columns)), list(map(str, obj.dtypes)),
                  obj.to_numpy()])
        elif isinstance(obj, dict):
            digest.update(b"dict")
            for key in sorted(obj, key=str):
                digest.update(repr(key).encode())
                feed(obj[key])
        elif isinstance(obj, list | tuple):
            digest.update(f"seq{len(obj)}".encode())
            for item in obj:
                feed(item)
        else:
            digest.update(repr(obj).encode())

    feed(data)
    return digest.hexdigest()


def fingerprint(*parts: Any) -> str:
    """A short hash of everything that defines a run: its whole typed config
    block, the seed and its training data (hashed by `content_hash`)."""
    def plain(obj: Any) -> Any:
        if isinstance(obj, BaseModel):
            return obj.model_dump(mode="json")
        if isinstance(obj, str | int | float | bool | type(None)):
            return obj
        return {"content": content_hash(obj)}
    blob = json.dumps([plain(p) for p in parts], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def checkpoint_folder(checkpoint_dir: str | Path, run_fingerprint: str) -> Path:
    """Where a run keeps its checkpoints: one folder per configuration, so runs
    of one family with other parameters or data never touch each other's."""
    return Path(checkpoint_dir) / run_fingerprint


def _resume_path(directory: Path, run_fingerprint: str, max_epochs: int) -> Path | None:
    """`last.ckpt` if it belongs to this very run and training is unfinished."""
    last = directory / LAST
    if not last.is_file():
        return None
    state = load_tensors(last)
    same_run = state.get("genpipe", {}).get("fingerprint") == run_fingerprint
    if same_run and state["epoch"] + 1 < max_epochs:
        logger.info("Resuming from %s (epoch %d of %d)", last, state["epoch"] + 1,
                    max_epochs)
        return last
    reason = "finished" if same_run else "from another configuration"
    logger.info("Checkpoints in %s are %s: training from scratch", directory, reason)
    return None


def continue_history(checkpoint: Path, run_id: str) -> None:
    """Keeps a resumed training's MLflow history complete in one run.

    The run a killed training logged into (its id is in the checkpoint) stays
    RUNNING forever and holds the epochs before the kill; the resumed run
    would hold only the later ones. So the killed run's metric points up to
    the checkpoint's step are copied into `run_id`, and the killed run (and
    its parent, when still RUNNING) are marked KILLED and linked both ways
    (`genpipe.resumed_by` / `genpipe.resumed_from`).
    """
    state = load_tensors(checkpoint)
    killed = state.get("genpipe", {}).get("mlflow_run_id")
    if not killed or killed == run_id:
        return
    client = mlflow.MlflowClient()
    try:
        stale = client.get_run(killed)
    except mlflow.exceptions.MlflowException:
        logger.info("The checkpoint's MLflow run %s is not in this store", killed)
        return
    last_step = int(state["global_step"])
    points = [Metric(key, point.value, point.timestamp, point.step)
              for key in stale.data.metrics
              for point in client.get_metric_history(killed, key)
              if point.step <= last_step]
    for start in range(0, len(points), 1000):  # MLflow's batch limit
        client.log_batch(run_id, metrics=points[start:start + 1000])
    for stale_id in (killed, stale.data.tags.get("mlflow.parentRunId")):
        if stale_id and client.get_run(stale_id).info.status == "RUNNING":
            client.set_terminated(stale_id, "KILLED")
    client.set_tag(killed, "genpipe.resumed_by", run_id)
    client.set_tag(run_id, "genpipe.resumed_from", killed)
    logger.info("Continued the history of the killed MLflow run %s (%d points)",
                killed, len(points))


def networks(module: torch.nn.Module) -> list[torch.nn.Module]:
    """The networks `compile` compiles: the module's children that hold
    parameters, looking inside `ModuleList`/`ModuleDict` containers (which are
    never called themselves).

    Each is compiled in place (`nn.Module.compile`), so the state dict keeps its
    keys; the module itself is not, since `training_step` calls its networks
    (a generator, a U-Net, an EMA copy), not its own `forward`.
    """
    found = []
    for child in module.children():
        if isinstance(child, torch.nn.ModuleList | torch.nn.ModuleDict):
            found += networks(child)
        elif any(True for _ in child.parameters()):
            found.append(child)
    return found


def _compiler_missing() -> str | None:
    """Why inductor cannot build C++ kernels here, or None."""
    compiler = os.environ.get("CXX", "g++")
    if shutil.which(compiler) is None:
        return f"no C++ compiler {compiler!r} on PATH (inductor builds its CPU " \
            "kernels with one)"
    return None


def apply_speedups(module: torch.nn.Module, config: TrainerConfig,
                   family: str = "model") -> None:
    """Applies the trainer block's `channels_last` and `compile` to `module`.

    Raises:
        ParameterError: `compile` is asked for where inductor cannot work.
    """
    if config.channels_last:
        # Conv weights in NHWC; activations follow the weights' format.
        module.to(memory_format=torch.channels_last)
    if config.compile:
        reason = _compiler_missing()
        if reason:
            raise ParameterError(f"parameters.{family}.trainer.compile: {reason}; "
                                 "set it to false or install g++")
        for network in networks(module):
            network.compile()


def fit(
    module: L.LightningModule,
    datamodule: L.LightningDataModule,
    config: TrainerConfig,
    *,
    device: str,
    family: str,
    run_fingerprint: str,
    callbacks: Sequence[Callback] = (),
    log_to_mlflow: bool = True,
) -> L.Trainer:
    """Trains `module` on `datamodule`; returns the trainer (with `.callback_metrics`).

    Args:
        module: The model, a `LightningModule` that logs plain metric names.
        datamodule: Its data; train loaders should use an epoch-seeded sampler
            (see `genpipe.training.data`) so resumed epochs see the same order.
        config: The family's `trainer:` block.
        device: The `device` parameter (`auto`, `cpu`, `cuda`, `cuda:N`, `mps`).
        family: Its name in messages, e.g. `evaluator`.
        run_fingerprint: Identifies the run (`fingerprint(...)` of its whole
            config block, seed and training data); names its checkpoint folder
            `<checkpoint_dir>/<fingerprint>`, so a checkpoint is resumed only by
            the configuration that wrote it. A second live run of the same
            configuration fails at once, naming the first (an `fcntl` lock).
        callbacks: Extra Lightning callbacks (sample grids, `MetricHistory`, ...).
        log_to_mlflow: Log metrics into the active MLflow run; off for repeats
            (seeds, trials) whose curves would pile onto one metric history.
    """
    if config.gradient_clip_val is not None and not module.automatic_optimization:
        raise ParameterError(
            f"parameters.{family}.trainer.gradient_clip_val: {family} steps its "
            "optimizers itself (manual optimization), where Lightning does not "
            "clip gradients; remove it")
    if config.devices * config.num_nodes > 1 and not module.automatic_optimization:
        raise ParameterError(
            f"parameters.{family}.trainer.devices: {family} steps its optimizers "
            "itself (manual optimization), which the engine does not run under "
            "DDP; set devices and num_nodes to 1")
    accelerator, devices = resolve_device(device, config.devices)
    apply_speedups(module, config, family)
    directory = checkpoint_folder(config.checkpoint_dir, run_fingerprint)
    if replica_rank():
        # A DDP replica: rank 0 holds the lock and owns the folder; a replica
        # reads the same `last.ckpt` and so decides as rank 0 did (checked by
        # `RankAgreement`), and writes nothing.
        try:
            ckpt_path = _resume_path(directory, run_fingerprint, config.max_epochs) \
                if config.resume else None
        except (OSError, RefusedFileError):  # removed by rank 0: not resumed
            ckpt_path = None
        return _fit(module, datamodule, config, accelerator, devices, directory,
                    ckpt_path, family, run_fingerprint, callbacks, log_to_mlflow)
    # Beside the folder, not in it: the folder may be deleted under the lock.
    with exclusive_lock(directory.with_name(f"{directory.name}.lock"),
                        f"{family}'s checkpoint folder {directory}"):
        ckpt_path = _resume_path(directory, run_fingerprint, config.max_epochs) \
            if config.resume else None
        if ckpt_path is None and directory.exists():
            shutil.rmtree(directory)  # this configuration's own folder only
        return _fit(module, datamodule, config, accelerator, devices, directory,
                    ckpt_path, family, run_fingerprint, callbacks, log_to_mlflow)


def _fit(module: L.LightningModule, datamodule: L.LightningDataModule,
         config: TrainerConfig, accelerator: str, devices: Any, directory: Path,
         ckpt_path: Path | None, family: str, run_fingerprint: str,
         callbacks: Sequence[Callback], log_to_mlflow: bool) -> L.Trainer:
    run = mlflow.active_run()
    logging_run = run.info.run_id if run and log_to_mlflow else None
    if ckpt_path is not None and logging_run:
        continue_history(ckpt_path, logging_run)
    distributed = config.devices * config.num_nodes > 1
    agreement = RankAgreement(run_fingerprint)
    # Under DDP only rank 0 writes (Lightning), but every rank needs the
    # callback (it synchronises the ranks). A replica's one-process training
    # (a family without DDP in a run with DDP) must write nothing at all.
    checkpoints = [ModelCheckpoint(
        # Saved at the end of the training epoch, after every other
        # callback's `on_train_epoch_end` (MetricHistory's row included).
        dirpath=directory, filename="{epoch:03d}", save_last=True, save_top_k=1,
        enable_version_counter=False, every_n_epochs=config.checkpoint_every_n_epochs,
        save_on_train_epoch_end=True)] if distributed or not replica_rank() else []
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=devices,
        num_nodes=config.num_nodes,
        strategy=ddp_strategy(accelerator, config.ddp_timeout_s) if distributed
        else config.strategy,
        precision=config.precision,
        max_epochs=config.max_epochs,
        # Exact on CPU; CUDA ops without a deterministic kernel only warn.
        deterministic=("warn" if accelerator == "gpu" else True)
        if config.deterministic else False,
        logger=ActiveRunLogger(logging_run) if logging_run else False,
        callbacks=[
            *checkpoints,
            RunStateCallback(run_fingerprint, logging_run),
            FiniteLossCallback(family, directory),
            agreement,
            *callbacks,
        ],
        plugins=[AtomicCheckpointIO()],
        enable_checkpointing=bool(checkpoints),
        enable_progress_bar=config.progress_bar,
        enable_model_summary=False,
        log_every_n_steps=config.log_every_n_steps,
        gradient_clip_val=config.gradient_clip_val,
        limit_train_batches=config.limit_train_batches,
        limit_val_batches=config.limit_val_batches,
        num_sanity_val_steps=0,  # the sanity pass would draw from the RNGs
        use_distributed_sampler=False,  # our samplers shard themselves
        default_root_dir=directory,
    )
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except Exception as error:
        if distributed and is_lost_peer(error):
            raise rank_lost(error, family, trainer, agreement.roster,
                            directory / LAST) from error
        raise
    finally:
        if distributed:
            # Each DDP training meets afresh (a later one-process training
            # must not reduce over a group that outlived its own).
            end_process_group()
    return trainer
