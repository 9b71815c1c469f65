"""DDP for the engine: the strategy, the rank check, and a lost rank named.

The design (docs/engine.md#distributed-training-ddp): every rank runs the
whole `kedro run` (`genpipe.distributed`). Lightning's `ddp` strategy re-runs
the command for local ranks 1..devices-1; a cluster launcher starts it on
every node. Rank 0 alone logs, writes checkpoints and saves outputs.

What this module adds to Lightning's `DDPStrategy`:

* gloo on CPU, and a process-group timeout (`trainer.ddp_timeout_s`): a rank
  that hangs fails the others after it; a rank that dies fails them at once
  (gloo's connection to it closes);
* no Lightning watchdog thread: Lightning's launcher SIGKILLs the main process
  when a child exits non-zero, which would leave the MLflow run RUNNING and
  say nothing; here the survivor raises `RankLostError` naming the lost rank,
  and the `kedro run` fails as any failed run does;
* `RankAgreement`: at the start of training every rank compares its run
  fingerprint (parameters, seed, data) and the step it starts from with the
  others', so ranks that would train different things (another config on one
  node, a checkpoint folder that is not shared) fail at once, not silently;
* the replicas this process launched, to wait for at the end of the run (or
  stop when the run fails).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch.distributed as dist
from lightning.fabric.utilities.distributed import (
    _init_dist_connection,
    _set_num_threads_if_needed,
)
from lightning.fabric.utilities.seed import reset_seed
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.strategies.launchers.subprocess_script import (
    _SubprocessScriptLauncher,
)

logger = logging.getLogger(__name__)

# (global rank, process) of every rank this process launched (local ranks > 0).
_LAUNCHED: list[tuple[int, subprocess.Popen]] = []


class RankLostError(RuntimeError):
    """A DDP rank died or stopped answering during training."""


class RankMismatchError(RuntimeError):
    """DDP ranks would train different runs (parameters, data or start step)."""


class _Launcher(_SubprocessScriptLauncher):
    """Lightning's launcher of local ranks 1..N-1 (it re-runs this very command
    with `LOCAL_RANK=i`), without the watchdog thread that SIGKILLs this
    process when one of them exits non-zero (see the module docstring)."""

    def launch(self, function: Any, *args: Any, trainer: Any = None,
               **kwargs: Any) -> Any:
        self.cluster_environment.validate_settings(num_devices=self.num_processes,
                                                   num_nodes=self.num_nodes)
        if not self.cluster_environment.creates_processes_externally:
            self._call_children_scripts()
            first = self.cluster_environment.node_rank() * self.num_processes
            _LAUNCHED.extend((first + i + 1, proc) for i, proc in enumerate(self.procs))
            logger.info("Launched DDP rank(s) %s: this command again, as replicas",
                        ", ".join(str(first + i + 1) for i in range(len(self.procs))))
        _set_num_threads_if_needed(num_processes=self.num_processes)
        return function(*args, **kwargs)


# How long the ranks wait for each other to meet at a training's start: a
# replica started by rank 0 first re-runs the nodes before the training
# (`ddp_timeout_s` bounds every later collective).
RENDEZVOUS_TIMEOUT = timedelta(minutes=30)


class GenpipeDDPStrategy(DDPStrategy):
    """`ddp` with the launcher above and a rendezvous of its own (all else is
    Lightning's)."""

    def _configure_launcher(self) -> None:
        self._launcher = _Launcher(self.cluster_environment, self.num_processes,
                                   self.num_nodes)

    def setup_distributed(self) -> None:
        # Lightning's, but the ranks meet through a store with a long timeout
        # while the process group keeps the short one.
        reset_seed()
        self.set_world_ranks()
        self._process_group_backend = self._get_process_group_backend()
        env = self.cluster_environment
        kwargs: dict[str, Any] = {"timeout": self._timeout}
        if self.root_device.type != "cpu":
            kwargs["device_id"] = self.root_device
        if not dist.is_initialized():
            kwargs["store"] = dist.TCPStore(
                env.main_address, env.main_port, self.world_size,
                is_master=self.global_rank == 0, timeout=RENDEZVOUS_TIMEOUT)
        _init_dist_connection(env, self._process_group_backend, **kwargs)


def ddp_strategy(accelerator: str, timeout_s: int) -> GenpipeDDPStrategy:
    """The strategy of a run with more than one process in all."""
    return GenpipeDDPStrategy(
        process_group_backend="gloo" if accelerator == "cpu" else None,
        timeout=timedelta(seconds=timeout_s))


class RankAgreement(Callback):
    """Fails every rank at once when the ranks would train different runs.

    Also keeps who is who (`roster`: rank, host, pid) to name a lost rank.
    """

    def __init__(self, fingerprint: str):
        self.fingerprint = fingerprint
        self.roster: list[dict[str, Any]] = []

    def on_train_start(self, trainer, pl_module) -> None:
        if trainer.world_size == 1:
            return
        mine = {"rank": trainer.global_rank, "host": socket.gethostname(),
                "pid": os.getpid(), "fingerprint": self.fingerprint,
                "step": int(trainer.global_step)}
        everyone: list[Any] = [None] * trainer.world_size
        dist.all_gather_object(everyone, mine)
        self.roster = everyone
        first = everyone[0]
        key = ("fingerprint", "step")
        odd = [r for r in everyone if [r[k] for k in key] != [first[k] for k in key]]
        if odd:
            raise RankMismatchError(
                "DDP ranks would train different runs: " + "; ".join(
                    f"rank {r['rank']} on {r['host']}: fingerprint {r['fingerprint']},"
                    f" starting at step {r['step']}" for r in [first, *odd])
                + ". Every rank needs the same parameters and data, and "
                "trainer.checkpoint_dir on a filesystem every node shares.")


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _exit_status(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def lost_ranks(roster: list[dict[str, Any]], rank: int) -> str:
    """Which rank(s) a failed collective lost, as far as this process can tell."""
    launched = [f"rank {r} (pid {proc.pid}) {_exit_status(proc.returncode)}"
                for r, proc in _LAUNCHED if proc.poll() is not None]
    if launched:
        return ", ".join(launched)
    host = socket.gethostname()
    others = [r for r in roster if r["rank"] != rank]
    gone = [f"rank {r['rank']} (pid {r['pid']}) is gone" for r in others
            if r["host"] == host and not _alive(r["pid"])]
    if gone:
        return ", ".join(gone)
    if len(others) == 1:
        peer = others[0]
        return f"rank {peer['rank']} (pid {peer['pid']} on {peer['host']})"
    return "a peer rank" + (f" (ranks: {', '.join(str(r['rank']) for r in others)})"
                            if others else "")


LOST_PEER = ("connection reset", "connection closed", "broken pipe", "timed out",
             "timeout", "socket", "peer")


def is_lost_peer(error: BaseException) -> bool:
    """A collective failed because another rank is gone or hangs."""
    if isinstance(error, getattr(dist, "DistError", ())):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and any(word in text for word in LOST_PEER)


def rank_lost(error: BaseException, family: str, trainer: Any,
              roster: list[dict[str, Any]], last_checkpoint: Path) -> RankLostError:
    """The one-line error of a rank that lost a peer during training."""
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else \
        type(error).__name__
    kept = (f"the last checkpoint {last_checkpoint} is kept: run the same command "
            "again to resume from it") if last_checkpoint.is_file() else \
        "no checkpoint was written yet"
    return RankLostError(
        f"{family}: DDP rank {trainer.global_rank} of {trainer.world_size} lost "
        f"{lost_ranks(roster, trainer.global_rank)} at epoch {trainer.current_epoch}"
        f", step {trainer.global_step} ({first_line[:300]}); {kept}")


def end_process_group() -> None:
    """Destroys the default process group, if any (after a DDP training)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wait_for_replicas() -> list[str]:
    """Waits for the replicas this process launched; describes those that failed."""
    failed = []
    while _LAUNCHED:
        rank, proc = _LAUNCHED.pop(0)
        code = proc.wait()
        if code:
            failed.append(f"rank {rank} (pid {proc.pid}) {_exit_status(code)}")
    return failed


def stop_replicas() -> None:
    """Stops the replicas this process launched (this run failed)."""
    while _LAUNCHED:
        _, proc = _LAUNCHED.pop(0)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
