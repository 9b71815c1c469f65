"""Environment steps per second while PPO trains on CartPole-v1.

    python benchmarks/bench_rl.py [--timesteps 51200] [--repeats 3]

PPO with the `base` hyper-parameters (conf/base/parameters_rl.yml: 8 envs x
32 steps, 20 epochs of minibatches of 256), trained in this process through
`genpipe.rl.agents.train_agent`. Rows:

* the environment alone: 8 CartPole-v1 copies in SB3's DummyVecEnv, random
  actions (the ceiling for this vectorisation);
* rollouts only: the part of training spent collecting experience (policy
  forward pass + environment), timed by a callback around each rollout;
* training: total timesteps / wall time of `learn` (rollouts + updates), with
  1 and 2 torch threads, and with the MLflow callback logging every rollout
  into a throw-away SQLite store (and the seconds its writer itself took).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import mlflow
import numpy as np
import yaml
from common import ROOT
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

from genpipe.rl import agents
from genpipe.rl.callbacks import MlflowLoggingCallback
from genpipe.rl.config import RlConfig

ENV = "CartPole-v1"


class RolloutTimer(BaseCallback):
    """Wall time spent inside rollouts (experience collection)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds, self._start = 0.0, 0.0

    def _on_rollout_start(self) -> None:
        self._start = time.perf_counter()

    def _on_rollout_end(self) -> None:
        self.seconds += time.perf_counter() - self._start

    def _on_step(self) -> bool:
        return True


def env_only(steps: int, n_envs: int) -> float:
    env = make_vec_env(ENV, n_envs=n_envs, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(steps // n_envs):
        env.step(rng.integers(0, 2, n_envs))
    return steps / (time.perf_counter() - start)


def ppo(config, steps: int, threads: int, log: bool) -> tuple[float, float, float]:
    """Env steps/s of training and within rollouts; seconds spent logging."""
    config = config.model_copy(update={"total_timesteps": steps})
    timer, logger = RolloutTimer(), MlflowLoggingCallback("rl/ppo")
    with agents.torch_threads(threads):
        agent = agents.build_agent(config, ENV, seed=0)
        start = time.perf_counter()
        agent.learn(steps, callback=[timer, logger] if log else [timer])
        seconds = time.perf_counter() - start
    return (agent.num_timesteps / seconds, agent.num_timesteps / timer.seconds,
            logger.writer.seconds if log else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=51_200)  # 200 rollouts
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    params = yaml.safe_load((ROOT / "conf/base/parameters_rl.yml").read_text())
    config = RlConfig.model_validate(params["rl"]).ppo.agent
    rows: dict[str, list[float]] = {}
    logged: list[float] = []  # seconds the MLflow callback spent writing

    def add(name: str, value: float) -> None:
        rows.setdefault(name, []).append(value)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        mlflow.set_tracking_uri(f"sqlite:///{Path(tmp)}/mlflow.db")
        for _ in range(args.repeats):
            add("CartPole-v1 alone, random actions", env_only(args.timesteps,
                                                              config.n_envs))
            train, rollouts, _ = ppo(config, args.timesteps, threads=1, log=False)
            add("PPO rollouts only (policy + env)", rollouts)
            add("PPO training, 1 torch thread", train)
            add("PPO training, 2 torch threads",
                ppo(config, args.timesteps, threads=2, log=False)[0])
            with mlflow.start_run():
                train, _, logging = ppo(config, args.timesteps, threads=1, log=True)
            add("PPO training, 1 thread + MLflow callback", train)
            logged.append(logging)

    print(f"\nPPO on {ENV}, {config.n_envs} envs x {config.n_steps} steps, "
          f"{config.n_epochs} epochs, batch {config.batch_size}: "
          f"{args.timesteps} timesteps (median of {args.repeats})")
    print(f"{'':<44} {'env steps/s':>12} {'s per 100k':>11}")
    for name, values in rows.items():
        rate = statistics.median(values)
        print(f"{name:<44} {rate:>12,.0f} {100_000 / rate:>11.1f}")
    print(f"  of which the MLflow callback's writing: "
          f"{statistics.median(logged):.2f} s per {args.timesteps} timesteps")


if __name__ == "__main__":
    main()
