import gymnasium as gym
import numpy as np
import pytest

from genpipe.rl.evaluation import (
    evaluate_episodes,
    moving_average,
    timesteps_to_threshold,
)

CORRIDOR = "genpipe-test/Corridor-v0"


class Corridor(gym.Env):
    """Start at position seed % 3, action 1 steps right, 0 left; the episode ends
    at position 4 (terminated) or after 10 steps (truncated); reward -1 a step."""

    observation_space = gym.spaces.Box(-100, 100, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = seed % 3
        return np.array([self.position], np.float32), {}

    def step(self, action):
        self.position += 1 if action == 1 else -1
        obs = np.array([self.position], np.float32)
        return obs, -1.0, self.position == 4, False, {}


if CORRIDOR not in gym.registry:
    gym.register(CORRIDOR, entry_point=Corridor, max_episode_steps=10)


def test_each_episode_is_reset_with_its_own_seed():
    # seeds 6, 7, 8 start at 0, 1, 2: always right takes 4, 3, 2 steps
    episodes = evaluate_episodes(lambda obs: 1, CORRIDOR, episodes=3, seed=6)
    assert episodes["seed"].tolist() == [6, 7, 8]
    assert episodes["episode"].tolist() == [0, 1, 2]
    assert episodes["reward"].tolist() == [-4.0, -3.0, -2.0]
    assert episodes["length"].tolist() == [4, 3, 2]


def test_truncated_episodes_end_at_the_time_limit():
    episodes = evaluate_episodes(lambda obs: 0, CORRIDOR, episodes=2, seed=0)
    assert episodes["reward"].tolist() == [-10.0, -10.0]
    assert episodes["length"].tolist() == [10, 10]


def test_the_policy_sees_the_observations():
    # right while left of position 2, then left: never terminates (truncated)
    episodes = evaluate_episodes(lambda obs: int(obs[0] < 2), CORRIDOR, 1, seed=0)
    assert episodes["length"].tolist() == [10]


def test_a_balancing_controller_scores_the_maximum_on_cartpole():
    # PD control on the pole's angle and angular velocity keeps it up: every
    # episode is truncated at CartPole-v1's 500 steps, reward 1 per step.
    episodes = evaluate_episodes(lambda obs: int(obs[2] + 0.5 * obs[3] > 0),
                                 "CartPole-v1", episodes=5, seed=10_000)
    assert episodes["reward"].tolist() == [500.0] * 5
    pushing_left = evaluate_episodes(lambda obs: 0, "CartPole-v1", 5, seed=10_000)
    assert (pushing_left["reward"] < 20).all()  # the pole falls within a second


def test_moving_average_by_hand():
    assert moving_average(np.array([1, 3, 5, 7, 9]), 2).tolist() == [1, 2, 4, 6, 8]
    assert moving_average(np.array([2, 4, 6]), 5).tolist() == [2, 3, 4]


def test_timesteps_to_threshold_by_hand():
    timesteps, rewards = [10, 20, 30, 40, 50], [1, 3, 5, 7, 9]
    # windows of 2 end at t = 20, 30, 40, 50 with means 2, 4, 6, 8
    assert timesteps_to_threshold(timesteps, rewards, threshold=6, window=2) == 40
    assert timesteps_to_threshold(timesteps, rewards, threshold=1, window=2) == 20
    assert timesteps_to_threshold(timesteps, rewards, threshold=8.5, window=2) is None
    # the first window must be full: 9 alone at t=50 would not count
    assert timesteps_to_threshold([50], [9], threshold=5, window=2) is None


def test_the_solved_threshold_itself_counts():
    rewards = [475.0] * 100  # exactly CartPole-v1's threshold, 100 episodes
    assert timesteps_to_threshold(np.arange(1, 101) * 500, rewards, 475, 100) == 50_000
    assert timesteps_to_threshold(np.arange(1, 101), [474.99] * 100, 475, 100) is None


@pytest.mark.parametrize("window", [1, 3])
def test_threshold_matches_a_direct_loop(window):
    rng = np.random.default_rng(0)
    rewards = rng.uniform(0, 10, 50)
    timesteps = np.cumsum(rng.integers(1, 5, 50))
    expected = next((int(timesteps[i]) for i in range(window - 1, 50)
                     if rewards[i - window + 1:i + 1].mean() >= 8), None)
    assert timesteps_to_threshold(timesteps, rewards, 8, window) == expected
