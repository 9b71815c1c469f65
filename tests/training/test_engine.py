import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from genpipe.config import ParameterError
from genpipe.io import LockHeldError
from genpipe.training import NonFiniteLossError, TrainerConfig, fit, seed_everything
from genpipe.training.engine import (
    AtomicCheckpointIO,
    MetricHistory,
    content_hash,
    fingerprint,
)
from tests.helpers.toy import (
    EPOCHS,
    SEED,
    Toy,
    toy_checkpoints,
    toy_data,
    train,
)

TOY = Path(__file__).parents[1] / "helpers" / "toy.py"


def _weights_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _run_toy(ckpt_dir: Path, out: Path, kill_at: int,
             precision: str = "32-true") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOY), str(ckpt_dir), str(out),
                           str(kill_at)], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], timeout=300,
                          env={**os.environ, "TOY_PRECISION": precision})


def test_training_learns(tmp_path):
    model, trainer = train(str(tmp_path / "ckpt"))
    assert trainer.current_epoch == EPOCHS
    assert trainer.callback_metrics["val_loss"] < 0.45  # chance level is ln 2


def test_same_seed_gives_identical_weights(tmp_path):
    first, _ = train(str(tmp_path / "a"))
    second, _ = train(str(tmp_path / "b"))
    assert _weights_equal(first.state_dict(), second.state_dict())


# bf16-mixed: the precision `base` trains the diffusion and PixelCNN families in.
@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_killed_run_resumes_to_bitwise_identical_weights(tmp_path, precision):
    straight = _run_toy(tmp_path / "straight", tmp_path / "straight.pt", -1, precision)
    assert straight.returncode == 0, straight.stderr
    killed = _run_toy(tmp_path / "resumed", tmp_path / "unused.pt", 3, precision)
    assert killed.returncode == -9, killed.stderr  # SIGKILL, mid-training
    last = torch.load(toy_checkpoints(tmp_path / "resumed") / "last.ckpt",
                      weights_only=True)
    assert last["epoch"] == 2  # epochs 0..2 done and checkpointed
    resumed = _run_toy(tmp_path / "resumed", tmp_path / "resumed.pt", -1, precision)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming from" in resumed.stderr + resumed.stdout
    assert _weights_equal(torch.load(tmp_path / "straight.pt"),
                          torch.load(tmp_path / "resumed.pt"))
    # the history (and so the curves drawn from it) has every epoch, numbered
    # as in the uninterrupted run: byte-identical outputs
    straight_history = (tmp_path / "straight.pt.history.json").read_text()
    assert len(json.loads(straight_history)) == EPOCHS
    assert (tmp_path / "resumed.pt.history.json").read_text() == straight_history
    assert (tmp_path / "resumed.pt.curves.png").read_bytes() == \
        (tmp_path / "straight.pt.curves.png").read_bytes()


def test_checkpoint_of_another_configuration_is_not_resumed(tmp_path):
    ckpt = tmp_path / "ckpt"
    train(str(ckpt), epochs=2)
    # A 4-epoch run has another fingerprint: it must start from scratch...
    model, trainer = train(str(ckpt), epochs=4)
    fresh, _ = train(str(tmp_path / "fresh"), epochs=4)
    assert _weights_equal(model.state_dict(), fresh.state_dict())


def test_nan_loss_stops_with_clear_error_and_keeps_last_good_checkpoint(tmp_path):
    ckpt = tmp_path / "ckpt"
    steps_per_epoch = 96 // 8
    with pytest.raises(NonFiniteLossError,
                       match=r"toy: loss became nan at epoch 2 .*batch 4 of 12 in "
                             r"the epoch, batch 28 of the run;"):
        train(str(ckpt), nan_at_step=2 * steps_per_epoch + 3)
    last = torch.load(toy_checkpoints(ckpt) / "last.ckpt", weights_only=True)
    assert last["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values())


def test_atomic_checkpoint_io_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "x.ckpt"
    AtomicCheckpointIO().save_checkpoint({"a": torch.ones(3)}, path)

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        AtomicCheckpointIO().save_checkpoint({"a": torch.zeros(3)}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["x.ckpt"]


def test_trainer_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ValueError, match="max_epoch"):
        TrainerConfig(max_epoch=3, checkpoint_dir="x")
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        TrainerConfig(max_epochs=0, checkpoint_dir="x")


def test_fingerprint_depends_on_every_input():
    assert fingerprint({"a": 1}, 3) == fingerprint({"a": 1}, 3)
    assert fingerprint({"a": 1}, 3) != fingerprint({"a": 2}, 3)
    assert fingerprint({"a": 1}, 3) != fingerprint({"a": 1}, 4)


def test_metric_history_keeps_one_row_per_epoch(tmp_path):
    history = MetricHistory()
    train(str(tmp_path / "ckpt"), epochs=3, callbacks=[history])
    assert len(history.history) == 3
    # this epoch's training and validation metrics, together
    assert {"train_loss", "val_loss"} <= set(history.history[0])


def test_metrics_reach_the_active_mlflow_run_only_when_asked(tmp_path):
    import mlflow

    with mlflow.start_run() as run:
        train(str(tmp_path / "a"), epochs=2)
        train(str(tmp_path / "b"), epochs=2, log_to_mlflow=False)
    client = mlflow.MlflowClient()
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 2
    assert mlflow.get_run(run.info.run_id).info.status == "FINISHED"


def test_content_hash_sees_every_byte_and_ignores_key_order():
    a = {"x": torch.arange(6.0).reshape(2, 3), "y": np.arange(3)}
    same = {"y": np.arange(3), "x": torch.arange(6.0).reshape(2, 3)}
    assert content_hash(a) == content_hash(same)
    flipped = {**a, "x": a["x"].clone()}
    flipped["x"][1, 2] = 5.5
    assert content_hash(flipped) != content_hash(a)
    assert content_hash({**a, "y": np.arange(3).reshape(3, 1)}) != content_hash(a)
    assert content_hash({**a, "y": np.arange(3, dtype=np.int32)}) != content_hash(a)
    dense = torch.zeros(4, 4)
    dense[1, 2] = 1.0
    other = dense.clone()
    other[2, 1] = 1.0
    assert content_hash(dense.to_sparse()) != content_hash(other.to_sparse())


def test_configurations_keep_their_own_checkpoint_folders(tmp_path):
    ckpt = tmp_path / "ckpt"
    train(str(ckpt), epochs=2)
    first = toy_checkpoints(ckpt, epochs=2) / "last.ckpt"
    before = first.read_bytes()
    train(str(ckpt), epochs=3)  # another configuration, same checkpoint_dir
    assert first.read_bytes() == before  # untouched, not deleted
    assert (toy_checkpoints(ckpt, epochs=3) / "last.ckpt").is_file()


def test_a_second_live_run_of_one_configuration_fails_naming_the_first(tmp_path):
    ckpt = tmp_path / "ckpt"
    folder = toy_checkpoints(ckpt)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from genpipe.io import exclusive_lock\n"
         "with exclusive_lock(sys.argv[1], 'toy'):\n"
         "    print('held', flush=True); time.sleep(60)\n",
         str(folder.with_name(f"{folder.name}.lock"))],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeldError, match=rf"pid {holder.pid} .*"):
            train(str(ckpt))
        assert not folder.exists()  # nothing deleted or written meanwhile
    finally:
        holder.kill()
        holder.wait()
    train(str(ckpt), epochs=EPOCHS)  # a killed holder leaves no stale lock


def test_a_resumed_training_continues_the_killed_runs_mlflow_history(tmp_path,
                                                                      monkeypatch):
    import mlflow

    client = mlflow.MlflowClient()
    monkeypatch.setenv("TOY_MLFLOW", "straight")
    assert _run_toy(tmp_path / "straight", tmp_path / "straight.pt", -1).returncode == 0
    monkeypatch.setenv("TOY_MLFLOW", "killed")
    assert _run_toy(tmp_path / "resumed", tmp_path / "unused.pt", 3).returncode == -9
    monkeypatch.setenv("TOY_MLFLOW", "resumed")
    assert _run_toy(tmp_path / "resumed", tmp_path / "resumed.pt", -1).returncode == 0
    runs = {run.info.run_name: run for run in client.search_runs(
        [client.get_experiment_by_name("Default").experiment_id])}
    killed, resumed = runs["killed"], runs["resumed"]
    assert killed.info.status == "KILLED"  # not RUNNING forever
    assert killed.data.tags["genpipe.resumed_by"] == resumed.info.run_id
    assert resumed.data.tags["genpipe.resumed_from"] == killed.info.run_id

    def curve(run, key):
        return [(m.step, m.value) for m in sorted(
            client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)]

    # the whole history in one run, equal to the uninterrupted run's
    for key in ("val_loss", "train_loss"):
        assert len(curve(runs["straight"], key)) == EPOCHS
        assert curve(resumed, key) == curve(runs["straight"], key), key


class _Convs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3)
        self.heads = torch.nn.ModuleList([torch.nn.Linear(4, 2), torch.nn.Linear(4, 2)])
        self.act = torch.nn.ReLU()  # no parameters: not compiled


def test_speed_knobs_are_off_by_default_and_applied_when_asked():
    from genpipe.training.engine import apply_speedups, networks

    module = _Convs()
    apply_speedups(module, TrainerConfig(max_epochs=1, checkpoint_dir="x"))
    assert not module.conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert all(n._compiled_call_impl is None for n in networks(module))
    before = {k: v.clone() for k, v in module.state_dict().items()}
    apply_speedups(module, TrainerConfig(max_epochs=1, checkpoint_dir="x",
                                         channels_last=True, compile=True))
    assert module.conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert [type(n).__name__ for n in networks(module)] == ["Conv2d", "Linear",
                                                            "Linear"]
    assert all(n._compiled_call_impl is not None for n in networks(module))
    # in place: same keys, same values, so checkpoints and weights are unchanged
    assert _weights_equal(before, module.state_dict())


def test_fit_applies_the_speed_knobs(tmp_path, monkeypatch):
    import genpipe.training.engine as engine

    seen = []
    monkeypatch.setattr(engine, "apply_speedups",
                        lambda module, config, family: seen.append(
                            (config.channels_last, config.compile, family)))
    seed_everything(SEED)
    config = TrainerConfig(max_epochs=1, checkpoint_dir=str(tmp_path),
                           progress_bar=False, channels_last=True)
    fit(Toy(), toy_data(), config, device="cpu", family="toy",
        run_fingerprint="f", log_to_mlflow=False)
    assert seen == [(True, False, "toy")]


@pytest.mark.parametrize("key", ["channels_last", "compile"])
def test_an_invalid_speed_knob_fails_in_one_line(key):
    from genpipe.config import validate

    with pytest.raises(ParameterError) as error:
        validate(TrainerConfig, {"max_epochs": 1, "checkpoint_dir": "x", key: "yes"},
                 ("ddpm", "trainer"))
    problems = str(error.value).splitlines()[1:]
    assert len(problems) == 1 and f"parameters.ddpm.trainer.{key}" in problems[0]


def test_compile_without_a_compiler_fails_naming_the_key(monkeypatch):
    from genpipe.training.engine import apply_speedups

    monkeypatch.setenv("CXX", "no-such-compiler-here")
    config = TrainerConfig(max_epochs=1, checkpoint_dir="x", compile=True)
    with pytest.raises(ParameterError, match=r"^parameters\.ddpm\.trainer\.compile: "
                       r"no C\+\+ compiler 'no-such-compiler-here'"):
        apply_speedups(_Convs(), config, "ddpm")
