import numpy as np
import pytest
import torch
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from genpipe.pipelines.evaluation import create_pipeline, evaluate_samples_pipeline
from genpipe.pipelines.evaluation.nodes import (
    compute_reference_stats,
    draw_real_samples,
    evaluate_samples,
)
from tests.helpers.images import EVALUATION, EVALUATOR, evaluator_weights


def _split(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"images": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            "labels": (np.arange(n) % 10).astype(np.uint8)}


def test_reference_then_evaluate_samples():
    weights = evaluator_weights()
    reference, binarized = compute_reference_stats(
        weights, _split(100, 0), EVALUATOR, EVALUATION, seed=0, device="cpu")
    assert reference["features"].shape == binarized["features"].shape == (80, 16)
    assert reference["sigma"].shape == (16, 16)
    assert not np.allclose(reference["mu"], binarized["mu"])
    samples = {"images": torch.rand(60, 1, 28, 28).numpy(),
               "binarized": np.array(False)}
    metrics, grid, scores = evaluate_samples(samples, weights, reference, binarized,
                                             EVALUATOR, EVALUATION, seed=0,
                                             device="cpu")
    assert metrics["num_samples"] == 60
    assert {"fid", "fid_std", "kid", "kid_std", "inception_score", "precision",
            "recall", "class_entropy", "class_kl_uniform"} <= set(metrics)
    assert metrics["inception_score_splits"] == 3  # 60 // 20
    assert not any(key.endswith("_binarized") for key in metrics)
    assert scores["evaluator_sha256"] == str(reference["evaluator_sha256"])
    assert scores["metrics"] == metrics and scores["protocol"]["num_samples"] == 60
    assert "FID" in grid.axes[0].get_title() and "KID" in grid.axes[0].get_title()


def test_binarized_samples_are_also_scored_against_binarized_real_data():
    weights = evaluator_weights()
    reference, binarized = compute_reference_stats(
        weights, _split(100, 0), EVALUATOR, EVALUATION, seed=0, device="cpu")
    real = draw_real_samples(_split(90, 1), EVALUATION, 0, binarized=True)
    assert set(np.unique(real["images"])) <= {0, 255} and bool(real["binarized"])
    metrics, _, scores = evaluate_samples(real, weights, reference, binarized,
                                          EVALUATOR, EVALUATION, seed=0, device="cpu")
    assert scores["binarized"] is True
    assert {"fid_binarized", "kid_binarized", "precision_binarized",
            "recall_binarized"} <= set(metrics)


def test_a_family_with_too_few_samples_is_refused():
    weights = evaluator_weights()
    reference, binarized = compute_reference_stats(
        weights, _split(100, 0), EVALUATOR, EVALUATION, seed=0, device="cpu")
    with pytest.raises(ValueError, match="exactly 60"):
        evaluate_samples({"images": torch.rand(40, 1, 28, 28).numpy()}, weights,
                         reference, binarized, EVALUATOR, EVALUATION, seed=0,
                         device="cpu")


def test_the_floor_draws_n_held_out_images_reproducibly():
    test = _split(90, 1)
    first = draw_real_samples(test, EVALUATION, 3, binarized=False)
    assert first["images"].shape == (60, 1, 28, 28)
    assert np.array_equal(first["images"],
                          draw_real_samples(test, EVALUATION, 3, binarized=False)
                          ["images"])
    with pytest.raises(ValueError, match="num_samples = 60"):
        draw_real_samples(_split(50, 1), EVALUATION, 3, binarized=False)


def test_namespaced_node_set_reads_and_writes_the_family_datasets():
    pipe = evaluate_samples_pipeline("ddpm.ddim", "ddpm", "diffusion")
    assert pipe.inputs() == {"ddpm.ddim.samples", "evaluator_model", "reference_stats",
                             "reference_stats_binarized", "params:evaluator",
                             "params:evaluation", "params:seed", "params:device"}
    assert pipe.outputs() == {"ddpm.ddim.metrics", "ddpm.ddim.sample_grid",
                              "ddpm.ddim.scores"}
    assert pipe.nodes[0].tags == {"family.ddpm", "group.diffusion", "run.ddpm.ddim"}


def test_evaluation_pipeline_scores_real_test_images_as_the_floor_rows():
    catalog = DataCatalog()
    for name, value in {"evaluator_model": evaluator_weights(),
                        "mnist_train": _split(120, 0),
                        "mnist_test": _split(90, 1), "params:evaluator": EVALUATOR,
                        "params:evaluation": EVALUATION, "params:seed": 0,
                        "params:device": "cpu"}.items():
        catalog[name] = value
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    assert set(outputs) == {f"{floor}.{name}" for floor in
                            ("reference", "reference_binarized")
                            for name in ("metrics", "sample_grid", "scores")}
    metrics = outputs["reference.metrics"].load()
    assert 0 < metrics["precision"] <= 1 and metrics["fid"] >= 0
    binarized = outputs["reference_binarized.metrics"].load()
    # binarized real data sits closer to the binarized reference
    assert binarized["fid_binarized"] < binarized["fid"]
