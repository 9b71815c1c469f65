"""Nodes of the `rl` pipeline (one namespace per algorithm: `rl.ppo`, `rl.dqn`, ...)."""

from __future__ import annotations

import gymnasium as gym
import pandas as pd
from matplotlib.figure import Figure
from stable_baselines3.common.base_class import BaseAlgorithm

from genpipe.rl import agents, evaluation, plots
from genpipe.rl.config import AgentBlock, RlConfig
from genpipe.training.device import torch_device


def _threshold(config: RlConfig) -> float | None:
    """`rl.solved_threshold`, else the environment's own `reward_threshold`."""
    if config.solved_threshold is not None:
        return config.solved_threshold
    return gym.spec(config.env_id).reward_threshold


def train_agent(agent_params: dict, rl_params: dict, seed: int,
                device: str) -> tuple[BaseAlgorithm, pd.DataFrame, dict[str, float]]:
    """Trains one algorithm on `rl.env_id`, seeded, for its `total_timesteps`.

    Per-rollout SB3 metrics (`rl/<algo>/rollout/ep_rew_mean`,
    `rl/<algo>/train/clip_fraction`, ...) go to the active MLflow run as metric
    history while it trains.

    Args:
        agent_params: The namespace's `agent` block (`algorithm` and its
            hyper-parameters).
        rl_params: The `rl` block.
        seed: Seeds python, numpy, torch, the agent and the training envs.
        device: The project's `device`, used when `rl.device` is null.

    Returns:
        The trained agent; its training episodes (timestep, reward, length);
        and training figures: timesteps, episodes, wall time, env steps per
        second and, once reached, `timesteps_to_solve` (the solved criterion
        on the training episodes).
    """
    config = RlConfig.model_validate(rl_params)
    agent_config = AgentBlock.model_validate({"agent": agent_params}).agent
    result = agents.train_agent(
        agent_config, config.env_id, seed,
        device=torch_device(config.device or device), threads=config.torch_threads,
        progress_bar=config.progress_bar, log_metrics=config.log_metrics)
    steps = int(result.agent.num_timesteps)
    summary = {"timesteps": steps, "train_episodes": len(result.episodes),
               "train_seconds": result.seconds,
               "env_steps_per_second": steps / result.seconds}
    threshold = _threshold(config)
    if threshold is not None:
        reached = evaluation.timesteps_to_threshold(
            result.episodes["timestep"], result.episodes["reward"], threshold,
            config.solved_window)
        summary["solved_in_training"] = float(reached is not None)
        if reached is not None:  # no metric (rather than NaN) when not reached
            summary["timesteps_to_solve"] = reached
    return result.agent, result.episodes, summary


def evaluate_agent(agent: BaseAlgorithm, training_summary: dict[str, float],
                   agent_params: dict, rl_params: dict
                   ) -> tuple[pd.DataFrame, dict, Figure, dict]:
    """Runs `rl.eval_episodes` deterministic episodes, episode i seeded `eval_seed + i`.

    Args:
        agent: The trained agent, as loaded back from its saved zip.
        training_summary: `train_agent`'s figures, passed on to MLflow and the table.
        agent_params: The namespace's `agent` block.
        rl_params: The `rl` block.

    Returns:
        One row per evaluation episode; the algorithm's metrics for MLflow
        (`eval_reward_mean`, `eval_reward_std` (population), min, max, each
        episode's reward as a history, and the training figures); the course's
        reward-per-episode plot; and the algorithm's row of the comparison table.
    """
    config = RlConfig.model_validate(rl_params)
    name = AgentBlock.model_validate({"agent": agent_params}).agent.algorithm
    episodes = evaluation.evaluate_episodes(evaluation.agent_policy(agent),
                                            config.env_id, config.eval_episodes,
                                            config.eval_seed)
    rewards = episodes["reward"]
    stats = {"eval_reward_mean": float(rewards.mean()),
             "eval_reward_std": float(rewards.std(ddof=0)),
             "eval_reward_min": float(rewards.min()),
             "eval_reward_max": float(rewards.max())}
    metrics = {**training_summary, **stats, "eval_episode_reward": [
        {"value": float(r), "step": i} for i, r in enumerate(rewards)]}
    threshold = _threshold(config)
    figure = plots.eval_rewards_figure(
        episodes, f"{name.upper()} on {config.env_id}: "
                  f"{config.eval_episodes} evaluation episodes", threshold)
    row = {"algorithm": name, **stats, **training_summary}
    return episodes, metrics, figure, row


COLUMNS = ["algorithm", "eval_reward_mean", "eval_reward_std", "eval_reward_min",
           "eval_reward_max", "timesteps_to_solve", "timesteps", "train_seconds",
           "env_steps_per_second", "train_episodes"]


def compare_agents(rl_params: dict, **inputs: dict | pd.DataFrame
                   ) -> tuple[pd.DataFrame, Figure]:
    """The comparison table (one row per algorithm) and learning-curve figure.

    Args:
        rl_params: The `rl` block.
        **inputs: For each algorithm `<algo>`: `<algo>_summary` (its table row),
            `<algo>_training` and `<algo>_evaluation` (its episodes).

    Returns:
        The table (`timesteps_to_solve` empty where the training episodes never
        met the solved criterion) and the figure.
    """
    config = RlConfig.model_validate(rl_params)
    names = [key.removesuffix("_summary") for key in inputs if key.endswith("_summary")]
    table = pd.DataFrame([inputs[f"{n}_summary"] for n in names])
    table = table.reindex(columns=COLUMNS + [c for c in table if c not in COLUMNS])
    table = table.drop(columns=["solved_in_training"], errors="ignore")
    table["timesteps_to_solve"] = table["timesteps_to_solve"].astype("Int64")
    figure = plots.comparison_figure(
        {n: inputs[f"{n}_training"] for n in names},
        {n: inputs[f"{n}_evaluation"] for n in names}, config.solved_window,
        _threshold(config), f"{', '.join(n.upper() for n in names)} on {config.env_id}")
    return table, figure
