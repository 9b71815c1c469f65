"""Building and training Stable-Baselines3 agents from their configs.

`ALGORITHMS` maps each `algorithm` name to its SB3 class and to the keyword
arguments its config gives it: adding an algorithm is one entry, never a
branch in the training code.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd
import torch
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule

from genpipe.rl.callbacks import EpisodeRecorder, MlflowLoggingCallback
from genpipe.rl.config import A2CConfig, AgentConfig, DQNConfig, PPOConfig, Schedule
from genpipe.training.seed import seed_everything

logger = logging.getLogger(__name__)


def schedule(value: float, kind: Schedule) -> ConstantSchedule | LinearSchedule:
    """SB3 schedules take the progress *remaining* p (1 at the start, 0 at the end):
    `constant` gives `value`, `linear` gives `value * p` (rl-zoo's `lin_<value>`)."""
    if kind == "linear":
        return LinearSchedule(start=value, end=0.0, end_fraction=1.0)
    return ConstantSchedule(value)


def _policy_kwargs(config: AgentConfig) -> dict:
    kwargs: dict = {}
    if config.policy.net_arch is not None:
        kwargs["net_arch"] = list(config.policy.net_arch)
    if config.policy.activation is not None:
        kwargs["activation_fn"] = {"tanh": torch.nn.Tanh,
                                   "relu": torch.nn.ReLU}[config.policy.activation]
    return kwargs


def _ppo_kwargs(c: PPOConfig) -> dict:
    return dict(n_steps=c.n_steps, batch_size=c.batch_size, n_epochs=c.n_epochs,
                gae_lambda=c.gae_lambda,
                clip_range=schedule(c.clip_range, c.clip_range_schedule),
                ent_coef=c.ent_coef, vf_coef=c.vf_coef, max_grad_norm=c.max_grad_norm,
                normalize_advantage=c.normalize_advantage)


def _a2c_kwargs(c: A2CConfig) -> dict:
    return dict(n_steps=c.n_steps, gae_lambda=c.gae_lambda, ent_coef=c.ent_coef,
                vf_coef=c.vf_coef, max_grad_norm=c.max_grad_norm,
                use_rms_prop=c.use_rms_prop, normalize_advantage=c.normalize_advantage)


def _dqn_kwargs(c: DQNConfig) -> dict:
    return dict(buffer_size=c.buffer_size, learning_starts=c.learning_starts,
                batch_size=c.batch_size, tau=c.tau, train_freq=c.train_freq,
                gradient_steps=c.gradient_steps,
                target_update_interval=c.target_update_interval,
                exploration_fraction=c.exploration_fraction,
                exploration_initial_eps=c.exploration_initial_eps,
                exploration_final_eps=c.exploration_final_eps,
                max_grad_norm=c.max_grad_norm)


ALGORITHMS: dict[str, tuple[type[BaseAlgorithm], Callable[..., dict]]] = {
    "ppo": (PPO, _ppo_kwargs),
    "a2c": (A2C, _a2c_kwargs),
    "dqn": (DQN, _dqn_kwargs),
}


def algorithm_class(name: str) -> type[BaseAlgorithm]:
    """The SB3 class of an `algorithm` name (`ppo`, `a2c`, `dqn`)."""
    try:
        return ALGORITHMS[name][0]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; known: "
                         f"{', '.join(sorted(ALGORITHMS))}") from None


def build_agent(config: AgentConfig, env_id: str, seed: int,
                device: torch.device | str = "cpu") -> BaseAlgorithm:
    """An untrained agent on `config.n_envs` copies of `env_id`.

    Environment i resets first with seed + i (`make_vec_env`); SB3's `seed`
    seeds python, numpy, torch and the action spaces. Each environment is
    wrapped in a `Monitor`, which reports finished episodes (`info["episode"]`).
    """
    cls, kwargs = ALGORITHMS[config.algorithm]
    env = make_vec_env(env_id, n_envs=config.n_envs, seed=seed)
    agent = cls("MlpPolicy", env,
                learning_rate=schedule(config.learning_rate,
                                       config.learning_rate_schedule),
                gamma=config.gamma, policy_kwargs=_policy_kwargs(config) or None,
                seed=seed, device=device, verbose=0, **kwargs(config))
    # A logger of our own: SB3's default one creates a temporary folder per run.
    agent.set_logger(Logger(folder=None, output_formats=[]))
    return agent


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Runs the block with `n` intra-op torch threads, then restores the count
    (other pipelines of the same `kedro run` train after this one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class TrainingResult:
    """A trained agent, its training episodes and the wall time of `learn`."""

    agent: BaseAlgorithm
    episodes: pd.DataFrame  # timestep (at the episode's end), reward, length
    seconds: float


def train_agent(config: AgentConfig, env_id: str, seed: int, *,
                device: torch.device | str = "cpu", threads: int = 1,
                progress_bar: bool = False, log_metrics: bool = True,
                metric_prefix: str = "") -> TrainingResult:
    """Seeds everything, builds the agent and trains it for `total_timesteps`.

    Args:
        config: The algorithm's `agent` block.
        env_id: A Gymnasium id, e.g. `CartPole-v1`.
        seed: Seeds python, numpy, torch (`seed_everything`), the agent and the
            training environments.
        device: Where the networks live.
        threads: torch intra-op threads during training.
        progress_bar: SB3's (tqdm + rich) progress bar.
        log_metrics: SB3's metrics into the active MLflow run, if any.
        metric_prefix: Their prefix (none by default: the run is the agent's).
    """
    with torch_threads(threads):
        seed_everything(seed)
        agent = build_agent(config, env_id, seed, device)
        recorder = EpisodeRecorder()
        callbacks = [recorder]
        if log_metrics:
            callbacks.append(MlflowLoggingCallback(metric_prefix,
                                                   update_interval=config.log_interval))
        logger.info("Training %s on %s for %d timesteps (%d env(s))",
                    config.algorithm.upper(), env_id, config.total_timesteps,
                    config.n_envs)
        start = time.perf_counter()
        agent.learn(config.total_timesteps, callback=callbacks,
                    log_interval=config.log_interval, progress_bar=progress_bar)
        seconds = time.perf_counter() - start
    return TrainingResult(agent, recorder.episodes(), seconds)
