"""Reinforcement learning with Stable-Baselines3 on Gymnasium environments.

Modules: `config` (the parameter schema, pydantic only: imported at Kedro
start-up), `agents` (building and training PPO, A2C, DQN), `callbacks`
(metrics into the active MLflow run, training episodes), `evaluation`
(seeded evaluation episodes, the solved criterion) and `plots`.

Nothing is imported here, so `genpipe.rl.config` stays free of torch and SB3.
"""
