import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset

from genpipe.datasets import SB3ModelDataset
from genpipe.pipelines.rl import create_pipeline
from genpipe.pipelines.rl.pipeline import ALGORITHMS

AGENTS = {
    "ppo": {"algorithm": "ppo", "total_timesteps": 256, "n_envs": 2, "n_steps": 64,
            "batch_size": 64, "n_epochs": 2},
    "dqn": {"algorithm": "dqn", "total_timesteps": 300, "learning_starts": 100},
    "a2c": {"algorithm": "a2c", "total_timesteps": 200, "n_envs": 2},
}
RL = {"env_id": "CartPole-v1", "eval_episodes": 4, "eval_seed": 100,
      "solved_threshold": 475, "solved_window": 100, "device": "cpu",
      "torch_threads": 1, "progress_bar": False, "log_metrics": False,
      **{name: {"agent": agent} for name, agent in AGENTS.items()}}


def _run(tmp_path, rl=RL):
    catalog = DataCatalog()
    inputs = {"params:rl": rl, "params:seed": 0, "params:device": "cpu",
              **{f"params:rl.{n}.agent": AGENTS[n] for n in ALGORITHMS}}
    for name, value in inputs.items():
        catalog[name] = value
    for name in ALGORITHMS:  # saved and loaded back, as in the real catalog
        catalog[f"rl.{name}.policy"] = SB3ModelDataset(str(tmp_path / f"{name}.zip"),
                                                       name)
        for episodes in ("training_episodes", "eval_episodes"):
            catalog[f"rl.{name}.{episodes}"] = CSVDataset(
                filepath=str(tmp_path / f"{name}_{episodes}.csv"),
                save_args={"index": False})
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    kept = [f"rl.{name}.{episodes}" for name in ALGORITHMS
            for episodes in ("training_episodes", "eval_episodes")]
    return {**outputs, **{name: catalog[name] for name in kept}}


def test_rl_pipeline_trains_evaluates_and_compares_every_algorithm(tmp_path):
    outputs = _run(tmp_path)
    assert set(ALGORITHMS) == {"ppo", "dqn", "a2c"}
    table = outputs["rl.comparison"].load()
    assert isinstance(table, pd.DataFrame) and table["algorithm"].tolist() == \
        ["ppo", "dqn", "a2c"]
    for name in ALGORITHMS:
        assert (tmp_path / f"{name}.zip").is_file()
        metrics = outputs[f"rl.{name}.metrics"].load()
        episodes = outputs[f"rl.{name}.eval_episodes"].load()
        assert episodes["seed"].tolist() == [100, 101, 102, 103]
        rewards = episodes["reward"]
        assert metrics["eval_reward_mean"] == pytest.approx(rewards.mean())
        assert metrics["eval_reward_std"] == pytest.approx(rewards.std(ddof=0))
        assert [m["value"] for m in metrics["eval_episode_reward"]] == rewards.tolist()
        training = outputs[f"rl.{name}.training_episodes"].load()
        assert metrics["train_episodes"] == len(training)
        assert metrics["env_steps_per_second"] == pytest.approx(
            metrics["timesteps"] / metrics["train_seconds"])
        assert metrics["solved_in_training"] == 0  # 100 episodes never happened
        assert "timesteps_to_solve" not in metrics  # absent, not NaN
        row = table.set_index("algorithm").loc[name]
        assert row["eval_reward_mean"] == metrics["eval_reward_mean"]
        assert pd.isna(row["timesteps_to_solve"])
        plot = outputs[f"rl.{name}.eval_rewards_plot"].load()
        assert plot.axes[0].lines[0].get_ydata().tolist() == rewards.tolist()
    assert table.set_index("algorithm").loc["ppo", "timesteps"] == 256
    assert table.set_index("algorithm").loc["dqn", "timesteps"] == 300
    figure = outputs["rl.comparison_plot"].load()
    assert len(figure.axes) == 2


def test_solved_criterion_is_reported_once_met(tmp_path):
    # a threshold every episode meets, over windows of 1: solved at the first
    outputs = _run(tmp_path, {**RL, "solved_threshold": 1, "solved_window": 1})
    for name in ALGORITHMS:
        metrics = outputs[f"rl.{name}.metrics"].load()
        first = outputs[f"rl.{name}.training_episodes"].load()["timestep"].iloc[0]
        assert metrics["solved_in_training"] == 1
        assert metrics["timesteps_to_solve"] == first
    table = outputs["rl.comparison"].load()
    assert table["timesteps_to_solve"].notna().all()
