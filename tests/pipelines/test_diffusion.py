"""The ddpm and ncsn families through the generative template."""

import numpy as np
import pytest
import torch
from kedro.runner import SequentialRunner

from genpipe.pipelines.generative import family_pipelines
from genpipe.pipelines.generative.nodes import train_family
from tests.helpers import Kept
from tests.helpers.generative import EVALUATION, family_catalog, split

TINY = {"channels": 8, "channel_mults": [1, 2], "attention_heads": 2,
        "progress_bar": False, "strip_images": 3, "strip_steps": 4, "test_images": 16}
MODELS = {"ddpm": {**TINY, "timesteps": 20, "ddim_steps": 4, "preview_steps": 2},
          "ncsn": {**TINY, "num_scales": 3, "steps_per_level": 2,
                   "preview_steps_per_level": 1}}

N = EVALUATION["protocol"]["num_samples"]  # the protocol's


def _block(tmp_path, family: str) -> dict:
    return {"model": MODELS[family], "data": {"batch_size": 32},
            "trainer": {"max_epochs": 2, "checkpoint_dir": str(tmp_path / family),
                        "progress_bar": False, "log_every_n_steps": 1},
            "snapshot_samples": 4}


def test_the_families_sample_with_named_samplers_and_do_not_reconstruct():
    pipelines = family_pipelines()
    ddpm, ncsn = pipelines["ddpm"], pipelines["ncsn"]
    assert {"ddpm.ddpm.samples", "ddpm.ddim.samples", "ddpm.ddpm.metrics",
            "ddpm.ddim.sampling_metrics", "ddpm.forward_process_plot",
            "ddpm.reverse_process_plot", "ddpm.samples_over_training_plot",
            "ddpm.curves_plot"} <= ddpm.all_outputs()
    assert {"ncsn.langevin.metrics", "ncsn.langevin_denoised.metrics",
            "ncsn.reverse_process_plot"} <= ncsn.all_outputs()
    assert not any("reconstruction" in name for name in ddpm.all_outputs()
                   | ncsn.all_outputs())


def test_training_is_reproducible_with_the_ema_weights(tmp_path):
    train, val = split(64, 0), split(16, 1)
    first = train_family(train, val, _block(tmp_path, "ddpm"), 3, "cpu",
                         family="ddpm")
    again = train_family(train, val, _block(tmp_path / "again", "ddpm"), 3, "cpu",
                         family="ddpm")
    weights = first["model"]
    assert any(key.startswith("ema.") for key in weights)
    assert weights["ema_updates"].item() == 4  # 2 epochs of 2 batches
    assert all(torch.equal(weights[key], again["model"][key]) for key in weights)
    assert first["snapshots"]["images"].shape == (2, 4, 1, 28, 28)
    assert np.array_equal(first["snapshots"]["images"], again["snapshots"]["images"])


def test_both_pipelines_end_to_end(tmp_path):
    catalog = family_catalog({family: _block(tmp_path, family)
                              for family in ("ddpm", "ncsn")}, sizes=(64, 16, 32))
    # An input of langevin_denoised's node: kept for the check below.
    catalog["ncsn.langevin.sampling_metrics"] = Kept()
    pipelines = family_pipelines()
    outputs = SequentialRunner().run(pipelines["ddpm"] + pipelines["ncsn"], catalog)
    for namespace, nfe in (("ddpm.ddpm", 20), ("ddpm.ddim", 4),
                           ("ncsn.langevin", 6), ("ncsn.langevin_denoised", 7)):
        metrics = outputs[f"{namespace}.metrics"].load()
        assert metrics["num_samples"] == N and metrics["fid"] > 0, namespace
        speed = (outputs.get(f"{namespace}.sampling_metrics")
                 or catalog[f"{namespace}.sampling_metrics"]).load()
        assert speed["nfe_per_image"] == nfe and \
            speed["sampling_images_per_s"] > 0
    assert outputs["ddpm.test_metrics"].load()["test_loss"] > 0
    strip = outputs["ddpm.forward_process_plot"].load()
    assert "forward process" in strip.axes[0].get_title()


class Killed(RuntimeError):
    pass


def test_an_interrupted_run_resumes_to_bitwise_identical_weights(tmp_path,
                                                                 monkeypatch):
    """Stopped after the first epoch's checkpoint, then run again: the same
    net, EMA weights, EMA step count and snapshots as an uninterrupted run."""
    from genpipe.models.generative.ddpm import DDPM

    train, val = split(64, 0), split(16, 1)
    straight = train_family(train, val, _block(tmp_path / "straight", "ddpm"), 3,
                            "cpu", family="ddpm")

    def stop(self):
        if self.current_epoch == 1:
            raise Killed

    block = _block(tmp_path / "resumed", "ddpm")
    with monkeypatch.context() as patch:
        patch.setattr(DDPM, "on_train_epoch_start", stop, raising=False)
        try:
            train_family(train, val, block, 3, "cpu", family="ddpm")
        except Killed:
            pass
        else:
            raise AssertionError("the run was not interrupted")
    resumed = train_family(train, val, block, 3, "cpu", family="ddpm")
    weights = straight["model"]
    assert all(torch.equal(weights[k], resumed["model"][k]) for k in weights)
    assert np.array_equal(straight["snapshots"]["images"],
                          resumed["snapshots"]["images"])


def test_ncsn_draws_one_chain_for_both_samplers_and_the_same_images(
        tmp_path, monkeypatch):
    """`langevin_denoised` is finished from `langevin`'s chain: the images each
    sampler draws alone, in the same batches (20, 20, 10 here), and a cost
    of the chain plus the Tweedie step."""
    from genpipe.config import FamilyBlock
    from genpipe.models import generative
    from genpipe.models.generative.ncsn import NCSN
    from genpipe.pipelines.generative import nodes

    monkeypatch.setattr(nodes, "EVAL_BATCH", 20)
    evaluation = {**EVALUATION, "protocol": {**EVALUATION["protocol"],
                                             "num_samples": 50}}
    block = _block(tmp_path, "ncsn")
    torch.manual_seed(0)  # weights of some size (a fresh U-Net's output is 0)
    weights = {key: value + 0.1 * torch.randn_like(value)
               if value.is_floating_point() else value
               for key, value in generative.build(
                   "ncsn", FamilyBlock.model_validate(block).model
               ).state_dict().items()}
    alone = {sampler: nodes.sample_family(weights, block, evaluation, 5, "cpu",
                                          family="ncsn", sampler=sampler)[0]
             for sampler in NCSN.samplers}
    chains, original = [], NCSN.chain
    monkeypatch.setattr(NCSN, "chain", lambda self, n, sampler: (
        chains.append(n), original(self, n, sampler))[1])
    samples, cost, chain = nodes.sample_family(
        weights, block, evaluation, 5, "cpu", family="ncsn", sampler="langevin",
        keep_chain=True)
    finished, finished_cost = nodes.continue_sampling(
        weights, block, evaluation, chain, cost, 5, "cpu", family="ncsn",
        sampler="langevin_denoised")
    assert chains == [20, 20, 10]  # one chain, drawn once
    assert chain.shape == (50, 1, 28, 28) and chain.dtype == np.float32
    assert np.array_equal(samples["images"], alone["langevin"]["images"])
    assert np.array_equal(finished["images"], alone["langevin_denoised"]["images"])
    assert not np.array_equal(finished["images"], samples["images"])
    assert finished_cost["sampling_seconds"] > cost["sampling_seconds"]
    assert finished_cost["nfe_per_image"] == cost["nfe_per_image"] + 1
    with pytest.raises(ValueError, match="ncsn.langevin_denoised: the chain it "
                       "continues has 49 states, the protocol draws 50"):
        nodes.continue_sampling(weights, block, evaluation, chain[:49], cost, 5,
                                "cpu", family="ncsn", sampler="langevin_denoised")
