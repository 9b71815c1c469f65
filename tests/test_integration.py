"""End to end: `kedro run --env ci` in a temporary copy of the project."""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

ROOT = Path(__file__).parents[1]
KEDRO = Path(sys.executable).with_name("kedro")
# A `ci` evaluator (3 epochs on 2000 images, a tiny CNN) reaches ~92%;
# the full `base` run is the 99.3% benchmark of the README.
CI_MIN_ACCURACY = 0.85
# Metrics that measure the machine, not the model (SB3's `time/fps`, ...).
WALL_CLOCK = ("seconds", "per_second", "/time/fps", "/time/time_elapsed")

# One `kedro run --env ci` of every pipeline (all 22 generative families too)
# overran 10 min on a 2-core CPU shared with a `base` run: this guards against
# hangs with room for a loaded machine.
KEDRO_TIMEOUT_S = 1500
CI_DATA = "data/ci"  # conf/ci/globals.yml: ci's outputs never touch base's data/

pytestmark = pytest.mark.slow


def _copy_project(destination: Path) -> Path:
    destination.mkdir()
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy2(ROOT / name, destination / name)
    shutil.copytree(ROOT / "conf", destination / "conf",
                    ignore=shutil.ignore_patterns("local"))
    shutil.copytree(ROOT / "src", destination / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (destination / "conf" / "local").mkdir()
    for layer in (ROOT / "data").iterdir():
        if layer.is_dir():
            (destination / "data" / layer.name).mkdir(parents=True)
    return destination


def _kedro_run(project: Path, mirror: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GENPIPE_DATA_MIRROR": str(mirror)}
    env.pop("MLFLOW_TRACKING_URI", None)  # the project's own mlflow.yml decides
    return subprocess.run([str(KEDRO), "run", "--env", "ci", *args], cwd=project,
                          env=env, capture_output=True, text=True,
                          timeout=KEDRO_TIMEOUT_S)


def _only_run(project: Path) -> mlflow.entities.Run:
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("genpipe")
    runs = client.search_runs([experiment.experiment_id])
    top = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(top) == 1  # one MLflow run per `kedro run`...
    children = [r for r in runs if r not in top]
    # ...whose only children are the Optuna trials
    assert all(r.data.tags["mlflow.parentRunId"] == top[0].info.run_id
               and "optuna.trial" in r.data.tags for r in children)
    return top[0]


def _run_and_check(project: Path, mirror: Path) -> mlflow.entities.Run:
    result = _kedro_run(project, mirror)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return _only_run(project)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, mirror_root):
    project = _copy_project(tmp_path_factory.mktemp("ci") / "genpipe")
    return project, _run_and_check(project, mirror_root)


def test_ci_run_is_one_finished_mlflow_run_with_params_metrics_artifacts(first_run):
    project, run = first_run
    assert run.info.status == "FINISHED" and run.info.run_name == "__default__ [ci]"
    params = run.data.params
    assert params["seed"] == "42" and params["device"] == "cpu"
    assert params["evaluator.trainer.max_epochs"] == "3"  # conf/ci over conf/base
    assert params["data_ingestion.breast_cancer.random_state"] == "42"
    metrics = run.data.metrics
    assert metrics["data/mnist_train_size"] == 2000
    assert metrics["data/cora_nodes"] == 2708
    assert metrics["data/breast_cancer_test_size"] == 171
    assert metrics["evaluator/test_acc"] >= CI_MIN_ACCURACY
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    history = client.get_metric_history(run.info.run_id, "evaluator/val_acc")
    assert [m.step for m in history] == sorted(m.step for m in history)
    assert len(history) == 3  # one point per epoch, in the kedro-mlflow run
    artifacts = {a.path for folder in ("evaluator", "reference")
                 for a in client.list_artifacts(run.info.run_id, folder)}
    assert artifacts == {"evaluator/evaluator.pt",
                         "evaluator/evaluator_confusion_matrix.png",
                         "reference/reference_samples.png",
                         "reference/reference_scores.json"}
    # The reference row: real test images scored against real training images.
    assert metrics["reference/num_samples"] == 300
    assert metrics["reference/precision"] > 0.5 and metrics["reference/recall"] > 0.5
    assert metrics["reference/inception_score"] > 5  # of 10 classes, confidently
    assert metrics["reference/class_entropy"] > 0.9 * math.log(10)
    # GCN and GAT over 2 seeds of 30 epochs (ci): well above chance (1/7)
    assert metrics["gcn/test_acc_mean"] > 0.6 and metrics["gat/test_acc_mean"] > 0.6
    assert metrics["gcn/test_acc_std"] >= 0
    curve = client.get_metric_history(run.info.run_id, "gcn/val_acc")
    assert len(curve) == 30  # the first seed's per-epoch curve
    gnn_artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "gcn")}
    assert gnn_artifacts == {"gcn/gcn.pt", "gcn/gcn_seeds.csv", "gcn/gcn_tsne.png",
                             "gcn/gcn_curves.png"}
    trials = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}' "
                      "and tags.`optuna.study` = 'gnn-cora-ci'")
    assert len(trials) == 3 == metrics["gnn_tuning/trials"]
    # Every generative family: test reconstruction error, its plots, its model;
    # the sampling ones scored with the shared metrics.
    for family in ("ae", "dae", "sparse_ae", "ksparse_ae", "cae", "vae", "vqvae"):
        assert 0 < metrics[f"{family}/test_mse"] < 0.2, family
        assert len(client.get_metric_history(run.info.run_id,
                                             f"{family}/val_loss")) == 2
        files = {a.path for a in client.list_artifacts(run.info.run_id, family)}
        assert {f"{family}/{family}_{kind}.png"
                for kind in ("reconstructions", "latent", "curves")} <= files
    for family in ("vae", "vqvae"):
        assert metrics[f"{family}/num_samples"] == 300
        assert metrics[f"{family}/fid"] > metrics["reference/fid"]
        assert metrics[f"{family}/sampling_images_per_s"] > 0
    assert metrics["vae/test_nll_is"] <= -metrics["vae/test_elbo"] + 1e-3
    # The GANs: scored like every sampling family, class entropy per epoch
    # (mode collapse), the critic's Wasserstein estimate per step.
    for family in ("gan", "cgan", "wgan", "wgan_gp"):
        assert metrics[f"{family}/num_samples"] == 300
        assert metrics[f"{family}/fid"] > metrics["reference/fid"]
        assert len(client.get_metric_history(
            run.info.run_id, f"{family}/snapshot_class_entropy")) == 2
        assert len(client.get_metric_history(
            run.info.run_id, f"{family}/train_d_loss_step")) > 2
        files = {a.path for a in client.list_artifacts(run.info.run_id, family)}
        assert {f"{family}/{family}_{kind}.png" for kind in
                ("curves", "samples", "samples_over_training")} <= files
    for family in ("wgan", "wgan_gp"):
        assert len(client.get_metric_history(
            run.info.run_id, f"{family}/train_wasserstein_step")) > 2
    assert 0 <= metrics["cgan/label_accuracy"] <= 1
    assert "cgan/cgan_class_grid.png" in {
        a.path for a in client.list_artifacts(run.info.run_id, "cgan")}
    # Diffusion and score families: each named sampler scored and timed.
    for namespace, nfe in (("ddpm.ddpm", 50), ("ddpm.ddim", 10),
                           ("ncsn.langevin", 20), ("ncsn.langevin_denoised", 21)):
        assert metrics[f"{namespace}/num_samples"] == 40, namespace
        assert metrics[f"{namespace}/fid"] > metrics["reference/fid"], namespace
        assert metrics[f"{namespace}/sampling_nfe_per_image"] == nfe, namespace
    for family, figures in (("ddpm", ("forward_process", "reverse_process")),
                            ("ncsn", ("reverse_process",))):
        assert len(client.get_metric_history(run.info.run_id,
                                             f"{family}/snapshot_class_entropy")) == 2
        files = {a.path for a in client.list_artifacts(run.info.run_id, family)}
        assert {f"{family}/{family}_{name}.png"
                for name in (*figures, "curves", "samples_over_training")} <= files
    assert 1 <= metrics["vqvae/codebook_perplexity"] <= 128
    # Explicit-density families: exact / dequantized test NLL, scored samples.
    for family in ("pixelcnn", "gated_pixelcnn", "ppca", "gmm"):
        nll, bpd = metrics[f"{family}/test_nll"], metrics[f"{family}/test_bits_per_dim"]
        assert nll > 0 and bpd == pytest.approx(nll / (784 * math.log(2))), family
    assert metrics["pixelcnn/test_bits_per_dim"] < 1  # binarized: <= 1 bit/pixel
    assert metrics["gated_pixelcnn/test_bits_per_dim"] < 8  # beats uniform 8-bit
    for scored in ("pixelcnn", "gated_pixelcnn", "ppca.ancestral", "ppca.noise_free",
                   "gmm.ancestral", "gmm.noise_free"):
        assert metrics[f"{scored}/fid"] > metrics["reference/fid"], scored
    assert metrics["pixelcnn/num_samples"] == 20
    assert metrics["pixelcnn/sampling_nfe_per_image"] == 784
    assert {"ppca/ppca_spectrum.png", "ppca/ppca.pt"} <= {
        a.path for a in client.list_artifacts(run.info.run_id, "ppca")}
    logged = {m.name for m in client.search_logged_models([run.info.experiment_id])}
    assert {"ae_model", "vae_model", "vqvae_model"} <= logged  # pytorch flavour
    scores_file = project / CI_DATA / "08_reporting/reference_scores.json"
    scores = json.loads(scores_file.read_text())
    assert scores["metrics"]["fid"] == metrics["reference/fid"]
    assert len(scores["evaluator_sha256"]) == 64
    tags = run.data.tags
    assert tags["genpipe.env"] == "ci"
    assert "__default__" in tags["kedro_command"]
    sha_tags = [key for key in tags if key.startswith("dataset.")]
    assert len(sha_tags) == 12  # 4 MNIST + 8 Cora files
    assert (project / "mlruns").is_dir()  # artifacts beside the project's store


def test_same_ci_run_twice_gives_identical_metrics_and_files(first_run, tmp_path,
                                                            mirror_root):
    project, run = first_run
    again = _run_and_check(_copy_project(tmp_path / "genpipe"), mirror_root)
    # Wall times are measurements, not results: everything else must match.
    # So is auto-sklearn's search: a time budget, not a number of trials.
    def results(r):
        return {k: v for k, v in r.data.metrics.items()
                if not any(t in k for t in WALL_CLOCK) and not k.endswith("_per_s")
                and not k.startswith("autosklearn/")}
    assert results(again) == results(run)
    assert len(results(run)) > 40
    for output in ("data/06_models/evaluator.pt",
                   "data/02_intermediate/mnist_train.npz",
                   "data/02_intermediate/cora.pt",
                   "data/02_intermediate/breast_cancer_test.parquet",
                   "data/04_feature/reference_stats.npz",
                   "data/06_models/gcn.pt", "data/06_models/gat.pt",
                   "data/07_model_output/gnn_tuning_best_params.json",
                   "data/06_models/vae.pt", "data/06_models/vqvae.pt",
                   "data/07_model_output/vqvae_samples.npz",
                   "data/06_models/cgan.pt",
                   "data/07_model_output/wgan_gp_samples.npz",
                   "data/06_models/pixelcnn.pt",
                   "data/07_model_output/pixelcnn_samples.npz",
                   "data/07_model_output/gmm.ancestral_samples.npz",
                   "data/08_reporting/reference_scores.json",
                   "data/08_reporting/xai_top_features.csv",
                   "data/07_model_output/automl_best_params.json",
                   "data/07_model_output/ppo_training_episodes.csv",
                   "data/08_reporting/ppo_eval_episodes.csv",
                   "data/08_reporting/dqn_eval_episodes.csv",
                   "data/08_reporting/a2c_eval_episodes.csv"):
        output = output.replace("data/", f"{CI_DATA}/", 1)
        assert (project / output).read_bytes() == \
            (tmp_path / "genpipe" / output).read_bytes(), output


def test_ci_run_records_the_tabular_pipelines(first_run):
    project, run = first_run
    metrics = run.data.metrics
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    # xai: the course's XGBoost, SHAP that adds up, the MLP behind IG
    assert metrics["xgboost/test_acc"] >= 0.95
    assert metrics["xai/shap_max_additivity_error"] < 1e-4
    assert -1 <= metrics["xai/spearman_gain_shap"] <= 1
    assert metrics["mlp/test_acc"] > 0.9
    assert {a.path for a in client.list_artifacts(run.info.run_id, "xai")} >= {
        f"xai/xai_{name}" for name in (
            "shap_beeswarm.png", "shap_bar.png", "shap_waterfall.png",
            "importances.png", "importances.csv", "lime.png", "top_features.csv",
            "integrated_gradients.png", "shap_values.parquet")}
    logged = {m.name for m in client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'")}
    assert {"xgboost_model", "xgboost_tuned_model"} <= logged  # xgboost flavour
    # automl: 4 Optuna trials as child runs, then auto-sklearn for real (30 s)
    trials = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}' "
                      "and tags.`optuna.study` = 'xgboost-breast-cancer-ci'")
    assert len(trials) == 4 == metrics["xgboost_tuned/trials"]
    assert metrics["autosklearn/successful_runs"] >= 1
    assert metrics["autosklearn/test_acc"] > 0.9
    comparison = (project / CI_DATA / "08_reporting/automl_comparison.csv").read_text()
    assert [line.split(",")[0] for line in comparison.splitlines()] == [
        "model", "xgboost", "xgboost_tuned", "autosklearn"]
    assert {a.path for a in client.list_artifacts(run.info.run_id, "autosklearn")} \
        >= {"autosklearn/autosklearn_cv_scores.png",
            "autosklearn/autosklearn_ensemble_weights.png",
            "autosklearn/autosklearn_statistics.json"}


def test_invalid_parameter_stops_the_run_before_any_work(tmp_path, mirror_root):
    project = _copy_project(tmp_path / "genpipe")
    result = _kedro_run(project, mirror_root, "--params",
                        "evaluator.trainer.max_epochs=0")
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "parameters.evaluator.trainer.max_epochs" in output
    assert not any((project / "data").rglob("*.*"))  # nothing written
    if (project / "mlflow.db").exists():
        with sqlite3.connect(project / "mlflow.db") as db:
            assert db.execute("select count(*) from runs").fetchone()[0] == 0


def test_missing_mirror_fails_clearly_and_writes_nothing(tmp_path):
    project = _copy_project(tmp_path / "genpipe")
    result = _kedro_run(project, tmp_path / "no-such-mirror", "--pipelines",
                        "data_ingestion")
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "GENPIPE_DATA_MIRROR" in output and "no-such-mirror" in output
    # Nodes that succeeded (Breast Cancer needs no mirror) wrote whole files;
    # the failed ones wrote nothing, not even a temporary file.
    written = {p.name for p in (project / "data").rglob("*") if p.is_file()}
    assert written <= {"breast_cancer_train.parquet", "breast_cancer_test.parquet"}


def test_ci_run_records_the_rl_pipeline(first_run):
    from stable_baselines3 import A2C, DQN, PPO

    project, run = first_run
    assert run.data.params["rl.ppo.agent.total_timesteps"] == "1024"  # conf/ci
    assert run.data.params["rl.ppo.agent.clip_range"] == "0.2"  # conf/base
    metrics = run.data.metrics
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    table = pd.read_csv(project / CI_DATA / "08_reporting/rl_comparison.csv")
    assert table["algorithm"].tolist() == ["ppo", "dqn", "a2c"]
    for name, cls in (("ppo", PPO), ("dqn", DQN), ("a2c", A2C)):
        episodes = pd.read_csv(
            project / CI_DATA / f"08_reporting/{name}_eval_episodes.csv")
        assert episodes["seed"].tolist() == [10_000 + i for i in range(5)]
        assert metrics[f"rl/{name}/eval_reward_mean"] == episodes["reward"].mean()
        row = table.set_index("algorithm").loc[name]
        assert row["eval_reward_mean"] == metrics[f"rl/{name}/eval_reward_mean"]
        # per-rollout metrics as history, at increasing timesteps
        history = client.get_metric_history(run.info.run_id,
                                            f"rl/{name}/rollout/ep_rew_mean")
        steps = [m.step for m in history]
        assert len(steps) >= 2 and steps == sorted(steps)
        assert steps[-1] <= metrics[f"rl/{name}/timesteps"]
        agent = cls.load(project / CI_DATA / f"06_models/{name}.zip")  # SB3's own zip
        assert agent.num_timesteps == metrics[f"rl/{name}/timesteps"]
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id,
                                                           f"rl/{name}")}
        assert artifacts == {f"rl/{name}/{name}.zip",
                             f"rl/{name}/{name}_eval_episodes.csv",
                             f"rl/{name}/{name}_eval_rewards.png",
                             f"rl/{name}/{name}_training_episodes.csv"}
    for key in ("clip_fraction", "approx_kl", "entropy_loss", "value_loss"):
        updates = client.get_metric_history(run.info.run_id, f"rl/ppo/train/{key}")
        assert [m.step for m in updates] == [256, 512, 768, 1024]  # 4 rollouts
    assert metrics["rl/ppo/timesteps"] == 1024
    assert {a.path for a in client.list_artifacts(run.info.run_id, "rl")} >= {
        "rl/rl_comparison.csv", "rl/rl_comparison.png"}
