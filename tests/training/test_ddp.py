"""DDP through the engine: shards, ranks, the replica's catalog, early checks,
and real gloo runs (2 processes; 2 "nodes" on localhost; a rank killed)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.pickle import PickleDataset

from genpipe.config import ParameterError, TrainerConfig, validate
from genpipe.distributed import RANK_VARIABLES, replica_rank
from genpipe.hooks import ReplicaHooks
from genpipe.preflight import PreflightError, check_ddp
from genpipe.training.data import TensorDataModule

SCRIPT = Path(__file__).with_name("ddp_toy.py")
ROOT = Path(__file__).resolve().parents[2]
# A guard against hangs on a loaded machine, not a measurement.
RUN_TIMEOUT_S = 600
# DDP 2 x B/2 against 1 x B on the deterministic toy: the same global batches
# and averaged gradients, so only float summation order differs.
WEIGHT_TOLERANCE = 1e-5


@pytest.fixture
def primary(monkeypatch):
    for name in RANK_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _indices(world: int, rank: int, epoch: int, batch_size: int, n: int = 60
             ) -> list[list[int]]:
    data = TensorDataModule((torch.arange(n),), (torch.arange(4),),
                            batch_size=batch_size, seed=5)
    data.trainer = SimpleNamespace(world_size=world, global_rank=rank)
    loader = data.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return [batch[0].tolist() for batch in loader]


@pytest.mark.parametrize("epoch", [0, 1])
def test_ranks_train_disjoint_shards_that_make_the_single_process_batches(epoch):
    single = _indices(1, 0, epoch, batch_size=10)
    shards = [_indices(2, rank, epoch, batch_size=5) for rank in (0, 1)]
    flat = [sorted(sum(shard, [])) for shard in shards]
    assert not set(flat[0]) & set(flat[1])
    assert sorted(flat[0] + flat[1]) == list(range(60))
    # Batch k of rank 0 and of rank 1 together are batch k of one process
    # with twice the batch: the same global batches, so the same steps.
    assert [sorted(a + b) for a, b in zip(*shards, strict=True)] == \
        [sorted(batch) for batch in single]


def test_every_epoch_reshuffles_the_shards():
    assert _indices(2, 0, 0, 5) != _indices(2, 0, 1, 5)
    assert _indices(2, 0, 1, 5) == _indices(2, 0, 1, 5)  # a function of (seed, epoch)


@pytest.mark.parametrize(("env", "replica"), [
    ({}, None), ({"LOCAL_RANK": "0", "NODE_RANK": "0"}, None),
    ({"LOCAL_RANK": "1"}, "LOCAL_RANK=1"), ({"NODE_RANK": "1"}, "NODE_RANK=1"),
    ({"RANK": "3", "LOCAL_RANK": "1"}, "RANK=3"),
    ({"SLURM_PROCID": "2"}, "SLURM_PROCID=2"),
])
def test_replica_rank_reads_every_launchers_variables(monkeypatch, primary, env,
                                                      replica):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert replica_rank() == replica


def _one_output_pipeline(tmp_path) -> tuple[Pipeline, DataCatalog, Path]:
    path = tmp_path / "out.pkl"
    catalog = DataCatalog({"out": PickleDataset(filepath=str(path))})
    catalog["x"] = 2
    return Pipeline([Node(lambda x: x * 21, "x", "out", name="double")]), catalog, path


def test_a_replica_keeps_outputs_in_memory_and_writes_no_file(tmp_path, monkeypatch,
                                                              primary):
    monkeypatch.setenv("LOCAL_RANK", "1")
    pipeline, catalog, path = _one_output_pipeline(tmp_path)
    ReplicaHooks().before_pipeline_run(pipeline, catalog)
    assert isinstance(catalog.get("out"), MemoryDataset)
    SequentialRunner().run(pipeline, catalog)
    assert not path.exists()


def test_the_primary_writes_its_outputs(tmp_path, primary):
    pipeline, catalog, path = _one_output_pipeline(tmp_path)
    ReplicaHooks().before_pipeline_run(pipeline, catalog)
    SequentialRunner().run(pipeline, catalog)
    assert path.exists()


@pytest.mark.parametrize(("block", "reason"), [
    ("gan", "manual optimization"), ("ppca", "closed form"),
    ("gnn", "does not run under DDP"), ("gnn_tuning", "does not run under DDP")])
def test_ddp_where_the_engine_cannot_do_it_fails_naming_the_parameter(block, reason):
    params = {"device": "cpu", block: {"trainer": {"devices": 2}}}
    with pytest.raises(PreflightError,
                       match=rf"^parameters\.{block}\.trainer\.devices: "
                       rf".*{reason}.*set devices and num_nodes to 1$"):
        check_ddp(params, {block})


def test_ddp_checks_name_num_nodes_and_the_device():
    with pytest.raises(PreflightError, match=r"^parameters\.gnn\.trainer\.num_nodes"):
        check_ddp({"gnn": {"trainer": {"num_nodes": 2}}}, {"gnn"})
    check_ddp({"device": "cpu", "seed": 1, "vae": {"trainer": {"devices": 2}},
               "evaluator": {"trainer": {"devices": 2, "num_nodes": 2}},
               "gan": {"trainer": {"devices": 1}}},
              {"vae", "evaluator", "gan", "seed", "device"})


@pytest.mark.parametrize("strategy", ["ddp_spawn", "ddp_fork", "deepspeed"])
def test_strategies_the_engine_does_not_run_are_refused(strategy):
    with pytest.raises(ParameterError, match=r"parameters\.vae\.trainer\.strategy"):
        validate(TrainerConfig, {"max_epochs": 1, "checkpoint_dir": "c",
                                 "strategy": strategy}, ("vae", "trainer"))


# --- real DDP runs (gloo, CPU) ------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in RANK_VARIABLES and k not in ("MASTER_ADDR", "MASTER_PORT",
                                                    "WORLD_SIZE", "TOY_KILL")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT),
                                         env.get("PYTHONPATH", "")])
    env["MASTER_PORT"] = str(_free_port())
    return env | extra


def _toy(out: Path, devices: int, batch: int, num_nodes: int = 1,
         **env: str) -> subprocess.Popen:
    out.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(out), str(devices), str(num_nodes),
         str(batch)], env=_env(**env), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    output, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
    return proc.returncode, output


def _ran(out: Path, devices: int, batch: int, **env: str) -> str:
    code, output = _finish(_toy(out, devices, batch, **env))
    assert code == 0, output[-3000:]
    return output


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "weights.pt", weights_only=True)


def _checkpoints(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "ckpt").glob("*/*.ckpt"))


def _check_ddp_outcome(out: Path, single: Path) -> None:
    # One set of checkpoints (rank 0's), both ranks' shards disjoint and whole.
    assert _checkpoints(out) == _checkpoints(single) == ["epoch=003.ckpt", "last.ckpt"]
    seen = [json.loads((out / f"seen-{rank}.json").read_text()) for rank in (0, 1)]
    for epoch in seen[0]:
        assert not set(seen[0][epoch]) & set(seen[1][epoch])
        assert sorted(seen[0][epoch] + seen[1][epoch]) == list(range(96))
    # The single-process result at the same global batch.
    ddp, one = _weights(out), _weights(single)
    assert all(torch.allclose(ddp[k], one[k], atol=WEIGHT_TOLERANCE, rtol=0)
               for k in one)
    losses = [json.loads((d / "history.json").read_text()) for d in (out, single)]
    assert [row["train_loss"] for row in losses[0]] == pytest.approx(
        [row["train_loss"] for row in losses[1]], abs=WEIGHT_TOLERANCE)


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single")
    _ran(out, devices=1, batch=8)
    return out


@pytest.mark.slow
def test_two_processes_train_as_one_at_the_same_global_batch(tmp_path, single):
    output = _ran(tmp_path, devices=2, batch=4)
    assert "Launched DDP rank(s) 1" in output
    _check_ddp_outcome(tmp_path, single)


@pytest.mark.slow
def test_two_nodes_on_localhost_train_as_one(tmp_path, single):
    # What a cluster launcher does: the same command on each node, told its
    # NODE_RANK and where rank 0 listens.
    port = str(_free_port())
    nodes = [_toy(tmp_path, 1, 4, num_nodes=2, NODE_RANK=str(rank),
                  MASTER_ADDR="127.0.0.1", MASTER_PORT=port) for rank in (0, 1)]
    for code, output in map(_finish, nodes):
        assert code == 0, output[-3000:]
    _check_ddp_outcome(tmp_path, single)


@pytest.mark.slow
def test_a_killed_rank_fails_the_run_naming_it_and_a_rerun_resumes(tmp_path):
    straight = tmp_path / "straight"
    _ran(straight, devices=2, batch=4)
    killed = tmp_path / "killed"
    # Rank 1 dies in the middle of epoch 2 (epochs 0 and 1 are checkpointed).
    code, output = _finish(_toy(killed, 2, 4, TOY_KILL="1,2,5"))
    assert code != 0
    assert "RankLostError: toy: DDP rank 0 of 2 lost rank 1" in output, output[-3000:]
    assert "killed by SIGKILL at epoch 2" in output
    assert "run the same command again to resume" in output
    again = _ran(killed, devices=2, batch=4)
    assert "Resuming from" in again
    resumed, reference = _weights(killed), _weights(straight)
    assert all(torch.equal(resumed[k], reference[k]) for k in reference)


@pytest.mark.slow
def test_a_killed_rank_0_fails_the_other_node_too(tmp_path):
    port = str(_free_port())
    nodes = [_toy(tmp_path, 1, 4, num_nodes=2, NODE_RANK=str(rank),
                  MASTER_ADDR="127.0.0.1", MASTER_PORT=port, TOY_KILL="0,1,3")
             for rank in (0, 1)]
    (code0, _), (code1, output1) = map(_finish, nodes)
    assert code0 == -9 and code1 != 0
    assert "RankLostError: toy: DDP rank 1 of 2 lost rank 0" in output1, output1[-3000:]
