"""No file genpipe loads can run code: a planted pickle in any received file
(`.pt` graph or weights, checkpoint, `.npz`, SB3 zip, MLflow model folder) is
refused with one line naming the file, and its payload never executes."""

from __future__ import annotations

import base64
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from kedro.io import DatasetError
from torch_geometric.data import Data

from genpipe.datasets import (
    GraphDataset,
    MlflowModelDataset,
    NpzDataset,
    SB3ModelDataset,
    TorchDataset,
)
from genpipe.io import RefusedFileError, load_tensors


class Planted:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "executed"))


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "EXECUTED"


def _assert_refused(error: BaseException, path: Path, marker: Path) -> None:
    message = str(error)
    assert str(path) in message
    assert "\n" not in message, message
    assert not marker.exists(), "the planted payload ran"


def _graph() -> Data:
    return Data(x=torch.randn(4, 3), edge_index=torch.tensor([[0, 1], [1, 2]]),
                y=torch.tensor([0, 1, 0, 1]),
                train_mask=torch.tensor([True, False, True, False]))


def test_graph_round_trip_rebuilds_the_data(tmp_path: Path) -> None:
    graph = _graph()
    dataset = GraphDataset(str(tmp_path / "cora.pt"))
    dataset.save(graph)
    loaded = dataset.load()
    assert isinstance(loaded, Data) and loaded.num_nodes == 4
    for key in ("x", "edge_index", "y", "train_mask"):
        assert torch.equal(loaded[key], graph[key]), key
    # plain tensors: loadable without trusting the file
    assert set(torch.load(tmp_path / "cora.pt", weights_only=True)) == set(graph.keys())


@pytest.mark.parametrize("dataset_type", [GraphDataset, TorchDataset])
@pytest.mark.parametrize("payload", ["bare", "inside_a_dict", "pyg_data_object"])
def test_planted_pt_is_refused_without_running(tmp_path, marker, dataset_type,
                                               payload) -> None:
    path = tmp_path / "cora.pt"
    obj = {"bare": Planted(marker), "inside_a_dict": {"x": Planted(marker)},
           "pyg_data_object": Data(x=torch.zeros(2), evil=Planted(marker))}[payload]
    torch.save(obj, path)
    with pytest.raises(DatasetError) as error:
        dataset_type(str(path)).load()
    _assert_refused(error.value, path, marker)


def test_planted_checkpoint_is_refused_by_the_engine(tmp_path, marker) -> None:
    from genpipe.training.engine import AtomicCheckpointIO, _resume_path

    path = tmp_path / "last.ckpt"
    torch.save({"epoch": 0, "genpipe": Planted(marker)}, path)
    with pytest.raises(RefusedFileError) as error:
        _resume_path(tmp_path, "fingerprint", max_epochs=5)
    _assert_refused(error.value, path, marker)
    with pytest.raises(RefusedFileError):
        AtomicCheckpointIO().load_checkpoint(path, weights_only=False)
    assert not marker.exists()
    with pytest.raises(RefusedFileError):
        load_tensors(path)


def test_npz_with_a_pickled_object_is_refused(tmp_path, marker) -> None:
    path = tmp_path / "reference_stats.npz"
    np.savez(path, mu=np.zeros(2), evil=np.array([Planted(marker)], dtype=object))
    with pytest.raises(DatasetError) as error:
        NpzDataset(str(path)).load()
    _assert_refused(error.value, path, marker)


# --- Stable-Baselines3 zips ------------------------------------------------------

def _agent(algorithm: str):
    from genpipe.rl.agents import build_agent
    from genpipe.rl.config import A2CConfig, DQNConfig, PPOConfig

    config = {"ppo": PPOConfig(total_timesteps=64, n_envs=1, n_steps=64,
                               batch_size=64),
              "a2c": A2CConfig(total_timesteps=64),
              "dqn": DQNConfig(total_timesteps=640)}[algorithm]
    return build_agent(config, "CartPole-v1", seed=0)


@pytest.mark.parametrize("algorithm", ["ppo", "a2c", "dqn"])
def test_sb3_zip_loads_through_the_allow_list(tmp_path, algorithm) -> None:
    agent = _agent(algorithm)
    agent.learn(640)  # a trained agent: episode buffers, last observations
    assert len(agent.ep_info_buffer) > 0
    dataset = SB3ModelDataset(str(tmp_path / f"{algorithm}.zip"), algorithm)
    dataset.save(agent)
    loaded = dataset.load()
    assert type(loaded) is type(agent)
    assert loaded.observation_space == agent.observation_space
    state, loaded_state = agent.policy.state_dict(), loaded.policy.state_dict()
    assert all(torch.equal(state[k], loaded_state[k]) for k in state)
    assert loaded.lr_schedule(0.5) == agent.lr_schedule(0.5)


def _plant_in_sb3_zip(path: Path, key: str, obj: object) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    data[key] = {":type:": "<class 'x'>",
                 ":serialized:": base64.b64encode(pickle.dumps(obj)).decode()}
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)


@pytest.mark.parametrize("key", ["lr_schedule", "observation_space", "new_entry"])
def test_planted_sb3_zip_is_refused_without_running(tmp_path, marker, key) -> None:
    path = tmp_path / "ppo.zip"
    SB3ModelDataset(str(path), "ppo").save(_agent("ppo"))
    _plant_in_sb3_zip(path, key, Planted(marker))
    with pytest.raises(DatasetError) as error:
        SB3ModelDataset(str(path), "ppo").load()
    _assert_refused(error.value, path, marker)
    assert key in str(error.value)


# --- MLflow model folders ----------------------------------------------------------

@pytest.fixture
def xgboost_folder(tmp_path: Path) -> tuple[Path, object]:
    from xgboost import XGBClassifier

    rng = np.random.default_rng(0)
    features, labels = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    model = XGBClassifier(n_estimators=3, max_depth=2).fit(features, labels)
    folder = tmp_path / "xgboost"
    MlflowModelDataset(filepath=str(folder), flavor="mlflow.xgboost").save(model)
    return folder, model


def test_mlflow_xgboost_model_round_trip(xgboost_folder) -> None:
    folder, model = xgboost_folder
    loaded = MlflowModelDataset(filepath=str(folder), flavor="mlflow.xgboost").load()
    probe = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_array_equal(loaded.predict_proba(probe),
                                  model.predict_proba(probe))


@pytest.mark.parametrize("plant", ["code_folder", "model_class"])
def test_planted_mlflow_model_is_refused_without_running(xgboost_folder, marker,
                                                         plant) -> None:
    import yaml

    folder, _ = xgboost_folder
    code = folder / "code"
    code.mkdir()
    (code / "planted.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')\n"
        "class Model:\n    pass\n")
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    mlmodel["flavors"]["xgboost"]["model_class"] = "planted.Model"
    if plant == "code_folder":
        mlmodel["flavors"]["xgboost"]["code"] = "code"
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(DatasetError) as error:
        MlflowModelDataset(filepath=str(folder), flavor="mlflow.xgboost").load()
    _assert_refused(error.value, folder, marker)


def test_torch_dataset_has_no_unsafe_option() -> None:
    with pytest.raises(TypeError):
        TorchDataset("x.pt", weights_only=False)  # type: ignore[call-arg]


def test_no_unsafe_load_remains_in_the_sources() -> None:
    root = Path(__file__).resolve().parents[1]
    offenders = [
        f"{path}: {needle}"
        for folder, pattern in (("src", "*.py"), ("benchmarks", "*.py"),
                                ("conf", "*.yml"))
        for path in (root / folder).rglob(pattern)
        for needle in ("weights_only=False", "weights_only: false", "pickle.load(",
                       "joblib.load", "allow_pickle=True")
        if needle in path.read_text()
    ]
    assert offenders == []


def test_planted_bytes_are_really_dangerous(tmp_path, marker) -> None:
    """The control: unrestricted unpickling of the planted object does run it."""
    pickle.loads(pickle.dumps(Planted(marker)))
    assert marker.exists()
