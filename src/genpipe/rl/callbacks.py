"""Stable-Baselines3 callbacks: SB3's metrics into MLflow, training episodes.

`MlflowLoggingCallback` is, like the training engine's `ActiveRunLogger`, the
one place where a library training loop logs into the *active* kedro-mlflow
run (never a run of its own): SB3 trains in its own loop, so its per-rollout
values cannot come back through the catalog.
"""

from __future__ import annotations

import math
import numbers
import time
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import Metric
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter

MLFLOW_BATCH = 1000  # MLflow's limit of metrics per `log_batch`


class MlflowWriter(KVWriter):
    """An SB3 logger output: each dump becomes MLflow metrics at step = timesteps.

    Keys are SB3's (`rollout/ep_rew_mean`, `train/approx_kl`), after `prefix/`
    when a prefix is given (`rl/ppo/rollout/ep_rew_mean`);
    non-numeric values (strings, images) and non-finite ones are skipped.
    Metrics are buffered and sent in batches, every `flush_seconds` and at
    `close()`, so a fast loop does not wait on the tracking store per rollout.
    """

    def __init__(self, run_id: str, prefix: str, flush_seconds: float = 10.0):
        self.run_id, self.prefix, self.flush_seconds = run_id, prefix, flush_seconds
        self._client = mlflow.MlflowClient(mlflow.get_tracking_uri())
        self._buffer: list[Metric] = []
        self._last_flush = time.monotonic()
        self.seconds = 0.0  # spent in `write` and `flush`: the cost of logging

    def write(self, key_values: dict[str, Any],
              key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        start = time.perf_counter()
        timestamp = int(time.time() * 1000)
        for key, value in sorted(key_values.items()):
            if isinstance(value, bool) or not isinstance(value,
                                                         numbers.Real | np.number):
                continue
            value = float(value)
            if not math.isfinite(value):
                continue
            name = f"{self.prefix}/{key}" if self.prefix else key
            self._buffer.append(Metric(name, value, timestamp,
                                       int(step)))
        self.seconds += time.perf_counter() - start
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        start = time.perf_counter()
        while self._buffer:
            batch = self._buffer[:MLFLOW_BATCH]
            self._buffer = self._buffer[MLFLOW_BATCH:]
            self._client.log_batch(self.run_id, metrics=batch, synchronous=True)
        self._last_flush = time.monotonic()
        self.seconds += time.perf_counter() - start

    def close(self) -> None:
        self.flush()


class MlflowLoggingCallback(BaseCallback):
    """Logs what SB3's logger records into the active MLflow run, or nothing
    when no run is active.

    Every value goes to MLflow as `<SB3 key>` (after `<prefix>/` if given) at
    step = environment timesteps when it was recorded:

    * SB3's own dumps (each `log_interval` rollouts for PPO/A2C, episodes for
      DQN) carry the rollout statistics: `rollout/ep_rew_mean`,
      `rollout/ep_len_mean`, `rollout/exploration_rate`, `time/fps`, ...;
    * the values of each update (`train/clip_fraction`, `train/approx_kl`,
      `train/entropy_loss`, `train/value_loss`, `train/loss`, ...) are written
      when the next rollout starts, i.e. at the timestep of the update, not
      (as in SB3's stdout) one rollout later; those of every `update_interval`-th
      update only (the others are dropped), and the last update's at the end.
    """

    def __init__(self, prefix: str = "", update_interval: int = 1,
                 flush_seconds: float = 10.0):
        super().__init__()
        self.prefix, self.flush_seconds = prefix, flush_seconds
        self.update_interval = update_interval
        self.writer: MlflowWriter | None = None
        self._rollouts = 0

    def _on_training_start(self) -> None:
        run = mlflow.active_run()
        if run is None:
            return
        self.writer = MlflowWriter(run.info.run_id, self.prefix, self.flush_seconds)
        self.model.logger.output_formats.append(self.writer)

    def _on_rollout_start(self) -> None:
        self._rollouts += 1
        if self.writer is None or self._rollouts == 1:
            return
        # What is pending now was recorded by the update that just ran.
        if (self._rollouts - 1) % self.update_interval == 0:
            self.model.logger.dump(step=self.num_timesteps)
        else:
            _discard_pending(self.model.logger)

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        if self.writer is None:
            return
        if self.model.logger.name_to_value:  # the last update's values
            self.model.logger.dump(step=self.num_timesteps)
        self.model.logger.output_formats.remove(self.writer)
        self.writer.close()


def _discard_pending(logger) -> None:
    """Drops the values recorded since the last dump (what `Logger.dump` clears)."""
    logger.name_to_value.clear()
    logger.name_to_count.clear()
    logger.name_to_excluded.clear()


class EpisodeRecorder(BaseCallback):
    """Keeps every finished training episode: the timestep it ended at, its
    reward and length (from the `Monitor` wrapper's `info["episode"]`)."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[tuple[int, float, int]] = []

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            episode = info.get("episode")
            if episode is not None:
                self._rows.append((self.num_timesteps, float(episode["r"]),
                                   int(episode["l"])))
        return True

    def episodes(self) -> pd.DataFrame:
        """One row per finished episode, in the order they ended."""
        return pd.DataFrame(self._rows, columns=["timestep", "reward", "length"])
