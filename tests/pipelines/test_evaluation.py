import numpy as np
import torch
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from genpipe.config import MnistClassifierConfig
from genpipe.models.mnist_classifier import MnistClassifier
from genpipe.pipelines.evaluation import create_pipeline, evaluate_samples_pipeline
from genpipe.pipelines.evaluation.nodes import compute_reference_stats, evaluate_samples

EVALUATOR = {"model": {"channels": [4, 8], "feature_dim": 16},
             "trainer": {"max_epochs": 1, "checkpoint_dir": "unused"}}
EVALUATION = {"num_samples": 60, "batch_size": 32, "reference_size": 80,
              "is_splits": 3, "pr_k": 3, "grid_rows": 4}


def _weights() -> dict:
    torch.manual_seed(0)
    return MnistClassifier(MnistClassifierConfig(channels=(4, 8), feature_dim=16)
                           ).state_dict()


def _split(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"images": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            "labels": (np.arange(n) % 10).astype(np.uint8)}


def test_reference_then_evaluate_samples():
    weights = _weights()
    reference = compute_reference_stats(weights, _split(100, 0), EVALUATOR,
                                        EVALUATION, seed=0, device="cpu")
    assert reference["features"].shape == (80, 16)
    assert reference["sigma"].shape == (16, 16)
    samples = torch.rand(100, 1, 28, 28)
    metrics, grid, scores = evaluate_samples(samples, weights, reference, EVALUATOR,
                                             EVALUATION, seed=0, device="cpu")
    assert metrics["num_samples"] == 60  # capped at num_samples
    assert {"fid", "inception_score", "precision", "recall", "class_entropy",
            "class_kl_uniform"} <= set(metrics)
    assert scores["evaluator_sha256"] == str(reference["evaluator_sha256"])
    assert scores["metrics"] == metrics
    assert "FID" in grid.axes[0].get_title()


def test_namespaced_node_set_reads_and_writes_the_family_datasets():
    pipe = evaluate_samples_pipeline("vae")
    assert pipe.inputs() == {"vae.samples", "evaluator_model", "reference_stats",
                             "params:evaluator", "params:evaluation", "params:seed",
                             "params:device"}
    assert pipe.outputs() == {"vae.metrics", "vae.sample_grid", "vae.scores"}


def test_evaluation_pipeline_scores_real_test_images_as_the_reference_row():
    catalog = DataCatalog()
    for name, value in {"evaluator_model": _weights(), "mnist_train": _split(120, 0),
                        "mnist_test": _split(90, 1), "params:evaluator": EVALUATOR,
                        "params:evaluation": EVALUATION, "params:seed": 0,
                        "params:device": "cpu"}.items():
        catalog[name] = value
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    assert set(outputs) == {"reference.metrics", "reference.sample_grid",
                            "reference.scores"}
    metrics = outputs["reference.metrics"].load()
    assert 0 < metrics["precision"] <= 1 and metrics["fid"] >= 0
