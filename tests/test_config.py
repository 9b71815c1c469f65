import copy

import pytest

from genpipe.config import ParameterError, validate_parameters, with_checkpoint_dirs
from tests.helpers.config import parameters


@pytest.mark.parametrize("env", ["ci", "gpu"])
def test_shipped_environments_are_valid(env):
    params = validate_parameters(parameters(env))
    assert params.seed == 42


def test_ci_overrides_single_keys_not_whole_blocks():
    params = validate_parameters(parameters("ci"))
    assert params.evaluator.trainer.max_epochs == 3  # from conf/ci
    assert params.evaluator.model.dropout == 0.3  # kept from conf/base
    assert params.data_ingestion.breast_cancer.test_size == 0.3


@pytest.fixture
def base() -> dict:
    return copy.deepcopy(parameters("ci"))


def test_unknown_key_is_named_with_its_full_path(base):
    base["evaluator"]["trainer"]["max_epoch"] = 3
    path = r"parameters\.evaluator\.trainer\.max_epoch"
    with pytest.raises(ParameterError, match=path + ": Extra inputs"):
        validate_parameters(base)


def test_wrong_type_is_named_with_its_full_path(base):
    base["evaluator"]["batch_size"] = "many"
    with pytest.raises(ParameterError,
                       match=r"parameters\.evaluator\.batch_size: .*integer.*'many'"):
        validate_parameters(base)


def test_out_of_range_value_is_named_with_its_full_path(base):
    base["data_ingestion"]["breast_cancer"]["test_size"] = 1.5
    with pytest.raises(ParameterError,
                       match=r"parameters\.data_ingestion\.breast_cancer\.test_size"):
        validate_parameters(base)


def test_bad_device_and_checksum(base):
    base["device"] = "gpu"
    base["data_ingestion"]["mnist"]["sha256"]["t10k-labels-idx1-ubyte.gz"] = "abc"
    with pytest.raises(ParameterError, match="2 invalid") as err:
        validate_parameters(base)
    assert "parameters.device" in str(err.value)
    assert "parameters.data_ingestion.mnist.sha256.t10k-labels-idx1-ubyte.gz" in str(
        err.value)


def test_missing_block(base):
    del base["evaluator"]
    with pytest.raises(ParameterError, match=r"parameters\.evaluator: Field required"):
        validate_parameters(base)


@pytest.mark.parametrize("env", ["ci", "gpu"])
def test_shipped_family_model_blocks_are_valid(env):
    from genpipe.config import family_names
    from genpipe.models.generative import validate_models

    validate_models(parameters(env), list(family_names()))


def test_hook_checks_the_model_blocks_of_the_families_a_run_includes(base):
    from kedro.io import DataCatalog
    from kedro.pipeline import Pipeline

    from genpipe.pipelines.generative import family_pipelines
    from genpipe.preflight import PreflightHooks

    hooks = PreflightHooks()
    base["vae"]["model"]["latent_dim"] = -1
    base["device"] = "cpu"
    hooks.after_catalog_created({"parameters": base})
    catalog = DataCatalog()  # every input a runtime MemoryDataset: none missing
    hooks.before_pipeline_run({}, family_pipelines()["ae"], catalog)  # no vae
    with pytest.raises(ParameterError, match=r"parameters\.vae\.model\.latent_dim"):
        hooks.before_pipeline_run({}, family_pipelines()["vae"], catalog)
    hooks.before_pipeline_run({}, Pipeline([]), catalog)


@pytest.mark.parametrize("path, value", [
    (("dann", "model", "gamma"), -1),
    (("dann", "model", "lr_alpha"), "fast"),
    (("cyclegan", "model", "cycle_weight"), -10),
    (("cyclegan", "eval_images"), 1),
    (("data_ingestion", "digits", "test_size"), 1.0),
    (("data_ingestion", "digits", "sha256"), "abc"),
])
def test_the_issue_23_blocks_name_a_bad_key(base, path, value):
    block = base
    for key in path[:-1]:
        block = block[key]
    block[path[-1]] = value
    with pytest.raises(ParameterError, match=r"parameters\." + r"\.".join(path)):
        validate_parameters(base)


@pytest.mark.parametrize("env, root", [("base", "data"), ("ci", "data/ci")])
def test_a_trainer_checkpoints_under_its_block_name_by_default(env, root):
    params = validate_parameters(parameters(env))
    assert params.vae.trainer.checkpoint_dir == f"{root}/06_models/checkpoints/vae"
    assert params.gnn.trainer.checkpoint_dir == f"{root}/06_models/checkpoints/gnn"
    # A folder named otherwise stays as the YAML gives it.
    assert params.xai.trainer.checkpoint_dir == \
        f"{root}/06_models/checkpoints/tabular_mlp"
    # Not a trainer block, but the same root: `ci` writes nothing under data/.
    assert params.theory.ksparse.checkpoint_dir == f"{root}/06_models/checkpoints"


def test_an_explicit_checkpoint_dir_is_kept():
    raw = {"vae": {"trainer": {"max_epochs": 1, "checkpoint_dir": "elsewhere"}},
           "ddpm": {"trainer": {"max_epochs": 1}}, "seed": 0}
    filled = with_checkpoint_dirs(raw, "data/x")
    assert filled["vae"]["trainer"]["checkpoint_dir"] == "elsewhere"
    assert filled["ddpm"]["trainer"]["checkpoint_dir"] == \
        "data/x/06_models/checkpoints/ddpm"
    assert "checkpoint_dir" not in raw["ddpm"]["trainer"]  # not mutated


def test_gpu_trains_whole_epochs_where_base_trains_fractions_of_them():
    """`base` halves some families' epochs to fit its CPU hour; the soft merge
    would carry that into `gpu` unless `gpu` sets the limit back."""
    base, gpu = parameters("base"), parameters("gpu")
    fractions = {name for name, block in base.items()
                 if isinstance(block, dict)
                 and isinstance(limit := block.get("trainer", {}).get(
                     "limit_train_batches"), float) and limit < 1}
    assert fractions >= {"progan", "wgan_gp"}
    for name in fractions:
        assert gpu[name]["trainer"]["limit_train_batches"] == 1.0, name
