"""Parameter schema of the `rl` pipeline (pydantic only, no torch or SB3).

`genpipe.config` imports this module at every Kedro start-up, so it must stay
light: the algorithms themselves are built in `genpipe.rl.agents`.

The `rl` block holds the environment, evaluation, the solved criterion and,
for each algorithm, a namespace of the pipeline (`rl.ppo`, `rl.dqn`, `rl.a2c`)
whose `agent` block is one of the configs below, told apart by `algorithm`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Schedule = Literal["constant", "linear"]  # linear: value x progress remaining (1 -> 0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyNetConfig(_Strict):
    """The MLP of `MlpPolicy`; null keeps Stable-Baselines3's default
    (64-64 tanh for PPO/A2C, 64-64 ReLU for DQN)."""

    net_arch: list[Annotated[int, Field(ge=1)]] | None = None
    activation: Literal["tanh", "relu"] | None = None


class _AgentConfig(_Strict):
    """What every algorithm has: a budget, an optimiser, a discount, a network."""

    total_timesteps: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    learning_rate_schedule: Schedule = "constant"
    gamma: float = Field(0.99, gt=0, le=1)  # discount factor
    n_envs: int = Field(1, ge=1)  # parallel environments (DummyVecEnv)
    # SB3's `log_interval`: rollouts (PPO, A2C) or episodes (DQN) between
    # dumps of rollout metrics; update metrics (losses) of every N-th update.
    log_interval: int = Field(1, ge=1)
    policy: PolicyNetConfig = PolicyNetConfig()


class PPOConfig(_AgentConfig):
    """PPO (Schulman et al. 2017): the clipped surrogate objective
    L = E[min(r_t A_t, clip(r_t, 1 - epsilon, 1 + epsilon) A_t)], r_t = pi/pi_old,
    with GAE(lambda) advantages (Schulman et al. 2016)."""

    algorithm: Literal["ppo"] = "ppo"
    learning_rate: float = Field(3e-4, gt=0)
    n_steps: int = Field(2048, ge=1)  # per environment and rollout
    batch_size: int = Field(64, ge=2)  # minibatch of the n_epochs passes
    n_epochs: int = Field(10, ge=1)
    gae_lambda: float = Field(0.95, ge=0, le=1)
    clip_range: float = Field(0.2, gt=0)  # epsilon
    clip_range_schedule: Schedule = "constant"
    ent_coef: float = Field(0.0, ge=0)
    vf_coef: float = Field(0.5, ge=0)
    max_grad_norm: float = Field(0.5, gt=0)
    normalize_advantage: bool = True

    @model_validator(mode="after")
    def _batch_fits_rollout(self) -> PPOConfig:
        rollout = self.n_steps * self.n_envs
        if self.batch_size > rollout:
            raise ValueError(f"batch_size ({self.batch_size}) exceeds the rollout "
                             f"n_steps x n_envs = {rollout}")
        return self


class A2CConfig(_AgentConfig):
    """A2C: the synchronous, single-process form of A3C (Mnih et al. 2016)."""

    algorithm: Literal["a2c"] = "a2c"
    learning_rate: float = Field(7e-4, gt=0)
    n_steps: int = Field(5, ge=1)
    gae_lambda: float = Field(1.0, ge=0, le=1)  # 1: plain n-step returns
    ent_coef: float = Field(0.0, ge=0)
    vf_coef: float = Field(0.5, ge=0)
    max_grad_norm: float = Field(0.5, gt=0)
    use_rms_prop: bool = True
    normalize_advantage: bool = False


class DQNConfig(_AgentConfig):
    """DQN (Mnih et al. 2015): experience replay, a target network, epsilon-greedy."""

    algorithm: Literal["dqn"] = "dqn"
    learning_rate: float = Field(1e-4, gt=0)
    buffer_size: int = Field(1_000_000, ge=1)
    learning_starts: int = Field(100, ge=0)
    batch_size: int = Field(32, ge=1)
    tau: float = Field(1.0, gt=0, le=1)  # 1: hard target updates
    train_freq: int = Field(4, ge=1)  # environment steps between updates
    gradient_steps: int = Field(1, ge=1)  # updates each time
    target_update_interval: int = Field(10_000, ge=1)
    exploration_fraction: float = Field(0.1, ge=0, le=1)
    exploration_initial_eps: float = Field(1.0, ge=0, le=1)
    exploration_final_eps: float = Field(0.05, ge=0, le=1)
    max_grad_norm: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _starts_within_budget(self) -> DQNConfig:
        if self.learning_starts >= self.total_timesteps:
            raise ValueError(f"learning_starts ({self.learning_starts}) must be below "
                             f"total_timesteps ({self.total_timesteps})")
        return self


AgentConfig = Annotated[PPOConfig | A2CConfig | DQNConfig,
                        Field(discriminator="algorithm")]


class AgentBlock(_Strict):
    """A namespace of the `rl` pipeline (`rl.ppo`, ...): its `agent`."""

    agent: AgentConfig


class RlConfig(_Strict):
    """The `rl` block: environment, evaluation, solved criterion, runtime, and
    one namespace per algorithm."""

    env_id: str = "CartPole-v1"
    eval_episodes: int = Field(20, ge=1)  # deterministic, as in the course
    # Evaluation episode i resets with seed eval_seed + i: the same start states
    # for every algorithm, none of them seen in training (seeded from `seed`).
    eval_seed: int = Field(10_000, ge=0)
    # Gymnasium's CartPole-v1 is solved at a mean reward >= 475 over 100
    # consecutive episodes (its `reward_threshold`); null: the env's own.
    solved_threshold: float | None = 475.0
    solved_window: int = Field(100, ge=1)
    # SB3 runs MLP policies faster on CPU; null follows the project's `device`.
    device: str | None = Field("cpu", pattern=r"^(auto|cpu|cuda|cuda:\d+|mps)$")
    # torch threads while training (restored afterwards): fixed for exact
    # reproducibility across machines; tiny MLPs gain nothing from more.
    torch_threads: int = Field(1, ge=1)
    progress_bar: bool = True
    log_metrics: bool = True  # per-rollout SB3 metrics into the active MLflow run
    ppo: AgentBlock
    dqn: AgentBlock
    a2c: AgentBlock
