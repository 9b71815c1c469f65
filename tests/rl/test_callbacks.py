import mlflow
import numpy as np
import pytest
from stable_baselines3.common.logger import KVWriter

from genpipe.rl.agents import build_agent
from genpipe.rl.callbacks import EpisodeRecorder, MlflowLoggingCallback, MlflowWriter
from genpipe.rl.config import PPOConfig

# 2 envs x 16 steps: rollouts of 32 steps, 3 of them
TINY_PPO = PPOConfig(total_timesteps=96, n_envs=2, n_steps=16, batch_size=16,
                     n_epochs=2)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One MLflow store for this module's runs (creating one takes seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


@pytest.fixture
def run_in_store(store):
    mlflow.set_tracking_uri(store)  # the autouse fixture resets it per test
    with mlflow.start_run() as run:
        yield run


def _history(run_id: str, key: str) -> list[tuple[int, float]]:
    client = mlflow.MlflowClient()
    return [(m.step, m.value) for m in client.get_metric_history(run_id, key)]


class Capture(KVWriter):
    """Everything SB3's logger dumps, as (key, step, value)."""

    def __init__(self):
        self.rows = []

    def write(self, key_values, key_excluded, step=0):
        self.rows += [(k, step, v) for k, v in key_values.items()]

    def close(self):
        pass


def test_writer_logs_numbers_under_its_prefix_at_the_given_step(run_in_store):
    run = run_in_store
    writer = MlflowWriter(run.info.run_id, "ppo")
    writer.write({"rollout/ep_rew_mean": 12.5, "train/approx_kl": np.float32(0.25),
                  "time/fps": 100, "name": "text", "bad": float("nan"),
                  "flag": True}, {}, step=256)
    writer.write({"rollout/ep_rew_mean": 20.0}, {}, step=512)
    writer.close()
    assert writer.seconds > 0  # its own cost is measured (benchmarks/bench_rl.py)
    assert _history(run.info.run_id, "ppo/rollout/ep_rew_mean") == [(256, 12.5),
                                                                     (512, 20.0)]
    assert _history(run.info.run_id, "ppo/train/approx_kl") == [(256, 0.25)]
    assert _history(run.info.run_id, "ppo/time/fps") == [(256, 100.0)]
    logged = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
    assert set(logged) == {"ppo/rollout/ep_rew_mean", "ppo/train/approx_kl",
                           "ppo/time/fps"}  # no strings, NaN or booleans


def test_writer_batches_within_mlflow_limits(run_in_store):
    run = run_in_store
    writer = MlflowWriter(run.info.run_id, "x", flush_seconds=3600)
    for step in range(300):
        writer.write({f"k{i}": float(step) for i in range(5)}, {}, step=step)
    assert len(writer._buffer) == 1500  # nothing sent yet...
    writer.close()  # ...then two batches of <= 1000
    assert len(_history(run.info.run_id, "x/k4")) == 300


def _train(callback):
    agent = build_agent(TINY_PPO, "CartPole-v1", seed=0)
    capture, recorder = Capture(), EpisodeRecorder()
    agent.logger.output_formats.append(capture)
    agent.learn(TINY_PPO.total_timesteps, callback=[recorder, callback])
    return agent, capture.rows, recorder.episodes()


def test_callback_logs_every_sb3_value_at_the_step_it_was_recorded(run_in_store):
    run = run_in_store
    agent, dumped, episodes = _train(MlflowLoggingCallback("ppo"))
    # everything SB3's logger wrote out reached MLflow, prefixed, same step
    for key, step, value in dumped:
        if isinstance(value, int | float):
            assert (step, pytest.approx(value)) in _history(run.info.run_id,
                                                            f"ppo/{key}"), key
    # rollout statistics after each of the 3 rollouts of 32 steps...
    iterations = _history(run.info.run_id, "ppo/time/iterations")
    assert iterations == [(32, 1.0), (64, 2.0), (96, 3.0)]
    # ...the reward once an episode has ended, the mean of those ended by then
    rewards = _history(run.info.run_id, "ppo/rollout/ep_rew_mean")
    ended = [s for s in (32, 64, 96) if (episodes["timestep"] <= s).any()]
    assert [step for step, _ in rewards] == ended and len(ended) >= 2
    for step, value in rewards:
        done = episodes[episodes["timestep"] <= step]["reward"]
        assert value == pytest.approx(done.mean())
    # and PPO's update statistics at the step of each of its 3 updates
    for key in ("clip_fraction", "approx_kl", "entropy_loss", "value_loss",
                "policy_gradient_loss", "clip_range", "learning_rate"):
        steps = [step for step, _ in _history(run.info.run_id, f"ppo/train/{key}")]
        assert steps == [32, 64, 96], key
    n_updates = _history(run.info.run_id, "ppo/train/n_updates")
    assert [value for _, value in n_updates] == [2, 4, 6]  # n_epochs per update


def test_update_interval_keeps_every_nth_update_and_the_last(run_in_store):
    run = run_in_store
    _train(MlflowLoggingCallback("ppo", update_interval=2))
    n_updates = _history(run.info.run_id, "ppo/train/n_updates")
    assert n_updates == [(64, 4.0), (96, 6.0)]  # the 2nd, and the last (3rd)


def test_callback_logs_nothing_without_an_active_run(tmp_path):
    callback = MlflowLoggingCallback("ppo")
    assert mlflow.active_run() is None
    agent, dumped, episodes = _train(callback)
    assert callback.writer is None and dumped  # SB3 still logged for itself
    assert not (tmp_path / "mlflow.db").exists()  # the test's store: untouched

    # The episode recorder agrees with the Monitor wrapper.
    assert len(episodes) > 2  # CartPole episodes of a random policy are short
    assert episodes["timestep"].is_monotonic_increasing
    assert (episodes["reward"] == episodes["length"]).all()  # CartPole: 1 per step
    # SB3's own buffer holds the same episodes (its last 100)
    assert [e["r"] for e in agent.ep_info_buffer] == episodes["reward"].tolist()[-100:]
    assert episodes["length"].sum() <= TINY_PPO.total_timesteps
