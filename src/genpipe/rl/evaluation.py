"""Evaluation episodes on separately seeded environments; the solved criterion."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pandas as pd

Policy = Callable[[np.ndarray], int | np.ndarray]


def evaluate_episodes(policy: Policy, env_id: str, episodes: int,
                      seed: int) -> pd.DataFrame:
    """Runs `episodes` episodes of `policy`, episode i from `reset(seed=seed + i)`.

    Each episode has a fresh environment, so its start state depends on its own
    seed only, not on how long the previous episodes lasted: every agent is
    scored on the same start states. An episode ends when the environment
    terminates or truncates (CartPole-v1: pole past 12 degrees, cart off the
    track, or 500 steps).

    Args:
        policy: Observation -> action (e.g. an agent's deterministic `predict`).
        env_id: A Gymnasium id.
        episodes: How many.
        seed: Seed of the first episode's reset.

    Returns:
        One row per episode: `episode` (0-based), `seed`, `reward` (undiscounted
        return) and `length` (steps).
    """
    rows = []
    for i in range(episodes):
        env = gym.make(env_id)
        try:
            obs, _ = env.reset(seed=seed + i)
            total, steps, done = 0.0, 0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(policy(obs))
                total += float(reward)
                steps += 1
                done = terminated or truncated
        finally:
            env.close()
        rows.append({"episode": i, "seed": seed + i, "reward": total, "length": steps})
    return pd.DataFrame(rows, columns=["episode", "seed", "reward", "length"])


def agent_policy(agent) -> Policy:
    """An SB3 agent's deterministic policy (greedy for DQN, the mode for PPO/A2C)."""
    def act(obs: np.ndarray):
        action, _ = agent.predict(obs, deterministic=True)
        return action.item() if np.ndim(action) == 0 else action
    return act


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values at each position (fewer at the start)."""
    values = np.asarray(values, dtype=np.float64)
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def timesteps_to_threshold(timesteps: np.ndarray, rewards: np.ndarray,
                           threshold: float, window: int) -> int | None:
    """The first timestep at which the last `window` episodes average >= `threshold`.

    Gymnasium's solved criterion (CartPole-v1: mean reward >= 475 over 100
    consecutive episodes), applied to the training episodes in the order they
    ended: the answer is the timestep at which the first qualifying window's
    last episode ended, or None if no full window qualifies.

    Args:
        timesteps: Environment timesteps at each episode's end (non-decreasing).
        rewards: Each episode's reward.
        threshold: The reward to reach.
        window: Consecutive episodes averaged (no answer before `window` episodes).
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    if len(rewards) < window:
        return None
    means = moving_average(rewards, window)[window - 1:]
    # A small tolerance: the cumulative-sum mean of 100 x 475.0 may round below.
    hits = np.flatnonzero(means >= threshold - 1e-9)
    return int(np.asarray(timesteps)[window - 1 + hits[0]]) if hits.size else None
