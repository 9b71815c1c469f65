"""One instance of every file dataset type genpipe's catalog writes, with two
versions of its data, for the atomic-write tests (also run as a script:
`python -m tests.helpers.outputs KIND PATH` saves version 2 and SIGKILLs itself
just before the new file would replace the old one)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import numpy as np


def _frame(version: int):
    import pandas as pd

    return pd.DataFrame({"a": np.arange(50) * version, "b": [f"r{version}"] * 50})


def _figure(version: int):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 2))
    figure.subplots().plot([0, 1, 2], [version, 0, 1])
    return figure


def _graph(version: int):
    import torch
    from torch_geometric.data import Data

    return Data(x=torch.full((3, 2), float(version)),
                edge_index=torch.tensor([[0, 1], [1, 2]]))


def _agent(version: int):
    from genpipe.rl.agents import build_agent
    from genpipe.rl.config import PPOConfig

    return build_agent(PPOConfig(total_timesteps=64, n_envs=1, n_steps=64,
                                 batch_size=64), "CartPole-v1", seed=version)


def _xgboost(version: int):
    from xgboost import XGBClassifier

    rng = np.random.default_rng(version)
    return XGBClassifier(n_estimators=2, max_depth=2).fit(
        rng.standard_normal((30, 3)), rng.integers(0, 2, 30))


def dataset(kind: str, path: str) -> tuple[Any, Callable[[int], Any]]:
    """The dataset of `kind` at `path` and a function version -> its data."""
    import torch

    from genpipe import datasets as d

    return {
        "npz": (d.NpzDataset(path), lambda v: {"a": np.full(1000, v)}),
        "torch": (d.TorchDataset(path), lambda v: {"w": torch.full((100,), v)}),
        "graph": (d.GraphDataset(path), _graph),
        "figure": (d.FigureDataset(path), _figure),
        "sb3": (d.SB3ModelDataset(path, "ppo"), _agent),
        "csv": (d.CSVDataset(filepath=path, save_args={"index": False}), _frame),
        "parquet": (d.ParquetDataset(filepath=path), _frame),
        "json": (d.JSONDataset(filepath=path, save_args={"indent": 2}),
                 lambda v: {"version": v, "values": list(range(v * 10))}),
        "text": (d.TextDataset(filepath=path), lambda v: f"version {v}\n" * 100),
        "mlflow_xgboost": (d.MlflowModelDataset(filepath=path,
                                                flavor="mlflow.xgboost"), _xgboost),
    }[kind]


KINDS = ("npz", "torch", "graph", "figure", "sb3", "csv", "parquet", "json",
         "text", "mlflow_xgboost")


def _die(*args: Any, **kwargs: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    import genpipe.io

    kind, path = sys.argv[1], sys.argv[2]
    target, data = dataset(kind, path)
    version_2 = data(2)
    # The last step before the new content would replace the old: the whole
    # temporary is written (files) or built (folders).
    os.fsync = _die
    genpipe.io._exchange = _die
    os.replace = _die
    target.save(version_2)
    sys.exit("the save finished: the kill point was never reached")
