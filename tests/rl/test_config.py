import subprocess
import sys

import pytest
from pydantic import ValidationError

from genpipe.rl.config import AgentBlock, DQNConfig, PPOConfig, RlConfig


def test_config_module_imports_no_heavy_library():
    # genpipe.config imports it at every Kedro start-up
    code = ("import sys, genpipe.rl.config; "
            "print(sorted(m for m in ('torch', 'stable_baselines3', 'gymnasium', "
            "'mlflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_algorithm_selects_the_config_class():
    block = AgentBlock.model_validate({"agent": {"algorithm": "dqn",
                                                 "total_timesteps": 1000}})
    assert isinstance(block.agent, DQNConfig) and block.agent.learning_rate == 1e-4
    with pytest.raises(ValidationError, match="clip_range"):  # a PPO key on DQN
        AgentBlock.model_validate({"agent": {"algorithm": "dqn", "clip_range": 0.2,
                                             "total_timesteps": 1000}})
    with pytest.raises(ValidationError, match="expected tags: 'ppo', 'a2c', 'dqn'"):
        AgentBlock.model_validate({"agent": {"algorithm": "sac",
                                             "total_timesteps": 1000}})


def test_inconsistent_settings_are_refused():
    with pytest.raises(ValidationError, match="exceeds the rollout .* = 64"):
        PPOConfig(total_timesteps=1000, n_envs=2, n_steps=32, batch_size=128)
    with pytest.raises(ValidationError, match="learning_starts"):
        DQNConfig(total_timesteps=1000, learning_starts=1000)
    with pytest.raises(ValidationError, match="gae_lambda"):
        PPOConfig(total_timesteps=1000, gae_lambda=1.5)
    with pytest.raises(ValidationError, match="device"):
        RlConfig(device="gpu")
