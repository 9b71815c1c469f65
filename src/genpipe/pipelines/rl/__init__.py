"""PPO on CartPole with Stable-Baselines3, compared with DQN and A2C."""

from genpipe.pipelines.rl.pipeline import create_pipeline

__all__ = ["create_pipeline"]
