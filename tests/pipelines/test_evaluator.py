import numpy as np
import pytest
import torch
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from genpipe.pipelines.evaluator import create_pipeline
from genpipe.pipelines.evaluator.nodes import evaluate_evaluator, train_evaluator


def _split(n: int, seed: int) -> dict:
    """Digits that are trivially separable: class c lights up row 2c + 4."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28), dtype=np.uint8)
    images[np.arange(n), 2 * labels + 4, 4:24] = 255
    return {"images": images, "labels": labels}


def _params(tmp_path, epochs: int = 3) -> dict:
    return {
        "model": {"channels": [4, 8], "feature_dim": 16, "dropout": 0.0, "lr": 0.01,
                  "max_shift": 0},
        "batch_size": 20,
        "trainer": {"max_epochs": epochs, "checkpoint_dir": str(tmp_path / "ckpt"),
                    "progress_bar": False},
    }


def test_train_then_evaluate_learns_separable_digits(tmp_path):
    weights = train_evaluator(_split(200, 0), _split(50, 1), _params(tmp_path),
                              seed=0, device="cpu")
    assert all(isinstance(v, torch.Tensor) for v in weights.values())
    metrics, figure = evaluate_evaluator(weights, _split(100, 2), _params(tmp_path),
                                         device="cpu")
    assert metrics["test_acc"] > 0.9
    assert set(metrics) == {"test_acc", "test_loss"}
    assert "accuracy" in figure.axes[0].get_title()


def test_training_is_reproducible(tmp_path):
    first = train_evaluator(_split(100, 0), _split(20, 1), _params(tmp_path / "a", 1),
                            seed=3, device="cpu")
    second = train_evaluator(_split(100, 0), _split(20, 1), _params(tmp_path / "b", 1),
                             seed=3, device="cpu")
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_unknown_parameter_is_rejected(tmp_path):
    params = _params(tmp_path)
    params["trainer"]["epochs"] = 3
    with pytest.raises(ValueError, match="epochs"):
        train_evaluator(_split(20, 0), _split(10, 1), params, seed=0, device="cpu")


def test_pipeline_runs_on_an_in_memory_catalog(tmp_path):
    catalog = DataCatalog()
    for name, value in {"mnist_train": _split(100, 0), "mnist_val": _split(20, 1),
                        "mnist_test": _split(30, 2), "params:evaluator":
                        _params(tmp_path, 1), "params:seed": 0,
                        "params:device": "cpu"}.items():
        catalog[name] = value
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    assert set(outputs) == {"evaluator_metrics", "evaluator_confusion_matrix"}
    metrics = outputs["evaluator_metrics"].load()
    assert 0.0 <= metrics["test_acc"] <= 1.0
