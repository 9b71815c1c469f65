import numpy as np
import pytest
import torch
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from genpipe.config import family_names
from genpipe.pipelines.evaluation.nodes import compute_reference_stats
from genpipe.pipelines.generative import family_pipelines
from genpipe.pipelines.generative.nodes import evaluate_family, train_family
from tests.pipelines.test_evaluation import EVALUATION, EVALUATOR, _weights


def _split(n: int, seed: int) -> dict:
    """Bars at random places (uint8), like the model tests' digits."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    for image, (row, col) in zip(images, rng.integers(4, 21, (n, 2)), strict=True):
        image[row:row + 3, 4:24] = 255
        image[4:24, col:col + 3] = 255
    return {"images": images, "labels": (np.arange(n) % 10).astype(np.uint8)}


def _block(tmp_path, model: dict, binarize: bool = False) -> dict:
    return {"model": model, "data": {"batch_size": 32, "binarize": binarize},
            "trainer": {"max_epochs": 2, "checkpoint_dir": str(tmp_path / "ckpt"),
                        "progress_bar": False, "log_every_n_steps": 1},
            "latent_map_points": 40, "tsne_perplexity": 5, "reconstruction_rows": 4}


def test_each_family_is_a_pipeline_with_the_template_datasets():
    pipelines = family_pipelines()
    assert set(pipelines) == set(family_names())
    ae, vae = pipelines["ae"], pipelines["vae"]
    assert ae.all_outputs() == {"ae.model", "ae.history", "ae.mlflow_model",
                                "ae.test_metrics", "ae.reconstructions_plot",
                                "ae.latent_plot", "ae.curves_plot"}
    # A sampling family also draws samples and scores them with the shared nodes.
    assert {"vae.samples", "vae.sampling_metrics", "vae.metrics",
            "vae.sample_grid", "vae.scores"} <= vae.all_outputs()
    assert "params:vae" in vae.inputs() and "params:ae" not in vae.inputs()
    assert {"evaluator_model", "reference_stats"} <= vae.inputs()
    assert "evaluator_model" not in ae.inputs()


def test_vae_pipeline_end_to_end(tmp_path):
    weights = _weights()
    train = _split(128, 0)
    catalog = DataCatalog()
    inputs = {
        "mnist_train": train, "mnist_val": _split(32, 1), "mnist_test": _split(64, 2),
        "params:vae": _block(tmp_path, {"hidden": [64], "latent_dim": 4,
                                        "nll_samples": 5, "nll_images": 20},
                             binarize=True),
        "params:seed": 0, "params:device": "cpu", "params:evaluator": EVALUATOR,
        "params:evaluation": EVALUATION, "evaluator_model": weights,
        "reference_stats": compute_reference_stats(weights, train, EVALUATOR,
                                                   EVALUATION, 0, "cpu"),
    }
    for name, value in inputs.items():
        catalog[name] = value
    outputs = SequentialRunner().run(family_pipelines()["vae"], catalog)
    metrics = outputs["vae.test_metrics"].load()
    assert {"test_mse", "test_elbo", "test_kl", "test_nll_is"} <= set(metrics)
    assert metrics["test_nll_is"] <= -metrics["test_elbo"] + 1e-4
    assert outputs["vae.metrics"].load()["num_samples"] == EVALUATION["num_samples"]
    assert outputs["vae.sampling_metrics"].load()["sampling_images_per_s"] > 0


def test_training_is_reproducible_and_evaluation_reports_the_family_metrics(tmp_path):
    block = _block(tmp_path, {"channels": 8, "codebook_size": 16, "embedding_dim": 4})
    train, val, test = _split(96, 0), _split(32, 1), _split(48, 2)
    first, _, history = train_family(train, val, block, 3, "cpu", family="vqvae")
    again, _, _ = train_family(train, val, {**block, "trainer": {
        **block["trainer"], "checkpoint_dir": str(tmp_path / "other")}}, 3, "cpu",
        family="vqvae")
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert len(history) == 2 and "val_loss" in history[-1]
    metrics, grid, latent, curves = evaluate_family(first, history, test, block, 3,
                                                    "cpu", family="vqvae")
    assert {"test_mse", "codebook_perplexity", "codebook_usage"} <= set(metrics)
    assert "MSE" in grid.axes[0].get_title()
    assert "t-SNE" in latent.axes[0].get_title()
    assert [axes.get_ylabel() for axes in curves.axes] == ["loss", "commitment",
                                                           "mse"]


def test_an_unknown_family_key_is_a_parameter_error(tmp_path):
    from genpipe.config import ParameterError

    with pytest.raises(ParameterError, match=r"parameters\.dae\.model\.corruption"):
        train_family(_split(8, 0), _split(8, 1),
                     _block(tmp_path, {"corruption": "blur"}), 0, "cpu",
                     family="dae")
