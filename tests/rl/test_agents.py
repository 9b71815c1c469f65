import pytest
import torch
from stable_baselines3 import A2C, DQN, PPO

from genpipe.rl.agents import algorithm_class, build_agent, schedule, train_agent
from genpipe.rl.config import A2CConfig, DQNConfig, PPOConfig
from genpipe.rl.evaluation import agent_policy, evaluate_episodes

PPO_BASE = dict(n_envs=8, n_steps=32, batch_size=256, n_epochs=20, gamma=0.98,
                gae_lambda=0.8, learning_rate=1e-3, learning_rate_schedule="linear",
                clip_range=0.2, clip_range_schedule="linear")  # conf/base's


def test_schedules_take_the_progress_remaining():
    linear = schedule(0.2, "linear")
    assert linear(1.0) == pytest.approx(0.2)  # start of training
    assert linear(0.25) == pytest.approx(0.05)  # three quarters through
    assert linear(0.0) == pytest.approx(0.0)
    assert schedule(0.2, "constant")(0.25) == 0.2


def test_configs_reach_the_sb3_algorithms():
    ppo = build_agent(PPOConfig(total_timesteps=512, **PPO_BASE), "CartPole-v1", 0)
    assert isinstance(ppo, PPO) and ppo.env.num_envs == 8
    assert (ppo.n_steps, ppo.batch_size, ppo.n_epochs) == (32, 256, 20)
    assert (ppo.gamma, ppo.gae_lambda) == (0.98, 0.8)
    assert ppo.clip_range(0.5) == pytest.approx(0.1)  # linear epsilon
    assert ppo.lr_schedule(0.5) == pytest.approx(5e-4)
    dqn = build_agent(DQNConfig(total_timesteps=500, learning_starts=100,
                                target_update_interval=10, exploration_final_eps=0.04,
                                policy={"net_arch": [256, 256]}), "CartPole-v1", 0)
    assert isinstance(dqn, DQN) and dqn.target_update_interval == 10
    assert dqn.exploration_final_eps == 0.04
    layers = [m for m in dqn.q_net.q_net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in layers] == [(4, 256), (256, 256),
                                                                 (256, 2)]
    a2c = build_agent(A2CConfig(total_timesteps=100, n_envs=2,
                                policy={"activation": "relu"}), "CartPole-v1", 0)
    assert isinstance(a2c, A2C) and a2c.n_steps == 5
    assert a2c.policy.activation_fn is torch.nn.ReLU
    assert algorithm_class("dqn") is DQN
    with pytest.raises(ValueError, match="unknown algorithm 'sac'"):
        algorithm_class("sac")


def _eval_rewards(agent) -> list[float]:
    return evaluate_episodes(agent_policy(agent), "CartPole-v1", 5,
                             seed=10_000)["reward"].tolist()


def test_same_seed_gives_the_same_agent_and_evaluation_rewards():
    config = PPOConfig(total_timesteps=2048, **PPO_BASE)
    first = train_agent(config, "CartPole-v1", seed=3, log_metrics=False)
    second = train_agent(config, "CartPole-v1", seed=3, log_metrics=False)
    other = train_agent(config, "CartPole-v1", seed=4, log_metrics=False)
    weights = [r.agent.policy.state_dict() for r in (first, second, other)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])
    assert _eval_rewards(first.agent) == _eval_rewards(second.agent)
    assert first.episodes.equals(second.episodes)


def test_training_improves_the_policy_and_restores_torch_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        config = PPOConfig(total_timesteps=10_240, **PPO_BASE)
        result = train_agent(config, "CartPole-v1", seed=0, threads=1,
                             log_metrics=False)
        assert torch.get_num_threads() == 2  # what it was before training
    finally:
        torch.set_num_threads(threads)
    assert result.agent.num_timesteps == 10_240  # 40 rollouts of 8 x 32
    assert result.seconds > 0
    first, last = result.episodes["reward"].head(20), result.episodes["reward"].tail(20)
    assert last.mean() > 3 * first.mean()  # a random policy scores ~22
