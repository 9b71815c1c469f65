"""`genpipe.datasets.SB3ModelDataset` (kept beside the other RL tests)."""

import numpy as np
import torch
from kedro.io import Version
from stable_baselines3 import PPO

from genpipe.datasets import SB3ModelDataset
from genpipe.rl.agents import build_agent
from genpipe.rl.config import PPOConfig


def _agent():
    return build_agent(PPOConfig(total_timesteps=64, n_envs=1, n_steps=64,
                                 batch_size=64), "CartPole-v1", seed=0)


def _same_policy(a, b) -> bool:
    sa, sb = a.policy.state_dict(), b.policy.state_dict()
    obs = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    return (sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
            and np.array_equal(a.predict(obs, deterministic=True)[0],
                               b.predict(obs, deterministic=True)[0]))


def test_round_trip_is_an_sb3_zip(tmp_path):
    agent = _agent()
    dataset = SB3ModelDataset(str(tmp_path / "models/ppo.zip"), algorithm="ppo")
    assert not dataset.exists()
    dataset.save(agent)
    assert dataset.exists()
    loaded = dataset.load()
    assert isinstance(loaded, PPO) and _same_policy(agent, loaded)
    assert _same_policy(agent, PPO.load(tmp_path / "models/ppo.zip"))  # plain SB3
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["ppo.zip"]  # no temp


def test_versioned_saves_keep_every_version_and_load_the_latest(tmp_path):
    path = str(tmp_path / "ppo.zip")
    first, second = _agent(), _agent()
    with torch.no_grad():
        next(second.policy.parameters()).add_(1.0)
    SB3ModelDataset(path, "ppo", version=Version(None, "2026-01-01T00.00.00.000Z")
                    ).save(first)
    SB3ModelDataset(path, "ppo", version=Version(None, "2026-01-02T00.00.00.000Z")
                    ).save(second)
    versions = sorted(p.name for p in (tmp_path / "ppo.zip").iterdir())
    assert versions == ["2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"]
    latest = SB3ModelDataset(path, "ppo", version=Version(None, None)).load()
    assert _same_policy(second, latest) and not _same_policy(first, latest)
    pinned = SB3ModelDataset(path, "ppo",
                             version=Version("2026-01-01T00.00.00.000Z", None)).load()
    assert _same_policy(first, pinned)
    assert not SB3ModelDataset(str(tmp_path / "none.zip"), "ppo",
                               version=Version(None, None)).exists()
