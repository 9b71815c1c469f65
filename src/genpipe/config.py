"""Typed, validated parameters: the schema of every `conf/*/parameters*.yml`.

`GenpipeHooks` validates the merged parameters against `Parameters` when the
Kedro catalog is created, before any node runs: an unknown key, a wrong type or
an out-of-range value stops the run with the parameter's full dotted path.
Nodes turn their `params:` block into the same frozen models.

Every `kedro run` imports this module before it knows what it will run, so it
imports no torch, Lightning or PyG: the config types that model and engine
modules take live here, and those modules import them from here.
"""

from __future__ import annotations

import pkgutil
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from genpipe.bayes.config import BayesConfig  # pydantic only
from genpipe.rl.config import RlConfig  # pydantic only: no torch/SB3
from genpipe.theory.config import TheoryConfig  # pydantic only
from genpipe.tuning.config import SearchSpace, TuningConfig  # pydantic only

DEVICE_PATTERN = r"^(auto|cpu|cuda|cuda:\d+|mps)$"

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


# An int counts batches, a float is a fraction of the split (Lightning's rule).
BatchCount = Annotated[int, Field(ge=1)] | Annotated[float, Field(gt=0, le=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SPAWNED_STRATEGY = (
    "a strategy that trains in processes started inside the node, which hand "
    "back only the weights (the callbacks' state, e.g. the metric history, is "
    "lost)")


class TrainerConfig(Strict):
    """The `trainer:` block every family's parameters carry."""

    max_epochs: int = Field(ge=1)
    # Required here; the config loader fills in a block's default,
    # `<data_root>/06_models/checkpoints/<block>` (`with_checkpoint_dirs`).
    checkpoint_dir: str
    resume: bool = True
    precision: Literal["32-true", "64-true", "16-mixed", "bf16-mixed"] = "32-true"
    # DDP: `devices` processes (CPU) or GPUs per node, on `num_nodes` nodes;
    # more than one in all runs the `ddp` strategy (docs/engine.md#distributed).
    devices: int = Field(1, ge=1)
    num_nodes: int = Field(1, ge=1)
    strategy: str = "auto"
    # A rank that hangs fails the others after this long; one that dies fails
    # them at once (its connections close).
    ddp_timeout_s: int = Field(600, ge=1)
    gradient_clip_val: float | None = Field(None, gt=0)
    log_every_n_steps: int = Field(50, ge=1)
    checkpoint_every_n_epochs: int = Field(1, ge=1)
    progress_bar: bool = True
    deterministic: bool = True
    # Speed knobs, off by default (docs/benchmarks.md measures them per family):
    # conv weights in NHWC order, and each network compiled by torch.compile
    # (inductor; needs a C++ compiler). Strict booleans: "yes" is an error.
    channels_last: bool = Field(False, strict=True)
    compile: bool = Field(False, strict=True)
    # Batches per training / validation epoch: an int counts batches, a float
    # is a fraction of the split (Lightning's `limit_*_batches`). For models too
    # slow for whole epochs on a CPU budget (PixelCNN); each epoch still draws
    # its batches from a fresh (seed, epoch) shuffle of the whole split.
    limit_train_batches: BatchCount = 1.0
    limit_val_batches: BatchCount | Literal[0] = 1.0

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, strategy: str) -> str:
        if strategy in ("auto", "ddp"):
            return strategy
        why = SPAWNED_STRATEGY if strategy.startswith("ddp_") else \
            "not one the engine runs"
        raise ValueError(f"{strategy!r} is {why}; use 'auto' (one process, or "
                         "'ddp' when devices or num_nodes > 1) or 'ddp'")


class MnistClassifierConfig(Strict):
    """Architecture and optimisation of the classifier."""

    channels: tuple[int, int] = (32, 64)
    feature_dim: int = Field(128, ge=2)
    dropout: float = Field(0.3, ge=0, lt=1)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    max_shift: int = Field(2, ge=0, le=6)  # random translation, in pixels


class GNNConfig(Strict):
    """Architecture and optimisation of a two-layer GCN or GAT.

    The defaults are the GCN paper's; `PAPER["gat"]` holds the GAT paper's.
    """

    arch: Literal["gcn", "gat"]
    hidden: int = Field(16, ge=1, le=4096)  # GAT: features per head
    heads: int = Field(8, ge=1, le=64)  # GAT first layer only
    output_heads: int = Field(1, ge=1, le=64)  # GAT output layer, averaged
    dropout: float = Field(0.5, ge=0, lt=1)
    lr: float = Field(0.01, gt=0, le=1)
    weight_decay: float = Field(5e-4, ge=0, le=1)


class ExtractorConfig(Strict):
    kind: Literal["mnist_classifier", "inception_torchscript"] = "mnist_classifier"
    weights_path: str | None = None  # the TorchScript file, for inception_torchscript

    @model_validator(mode="after")
    def _weights_for_inception(self) -> ExtractorConfig:
        if self.kind == "inception_torchscript" and not self.weights_path:
            raise ValueError("kind inception_torchscript needs weights_path")
        return self


class SourceConfig(Strict):
    """Where a dataset's files come from and what they must hash to."""

    cache_dir: str
    urls: list[str] = []
    sha256: dict[str, Sha256] = Field(min_length=1)


class MnistConfig(SourceConfig):
    val_size: int = Field(5000, ge=1, lt=60000)
    # Keep only the first N examples of each split (tiny `ci` runs); null = all.
    max_examples_per_split: int | None = Field(None, ge=10)


class BreastCancerConfig(Strict):
    test_size: float = Field(0.3, gt=0, lt=1)
    random_state: int = 42


class DigitsConfig(Strict):
    """scikit-learn's 8 x 8 digits, resized to 28 x 28 (`genpipe.data.digits`)."""

    # sha256 of the table (images then labels, as uint8 bytes), scikit-learn 1.9
    sha256: Sha256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"
    test_size: float = Field(0.3, gt=0, lt=1)  # stratified, drawn with `seed`


class DataIngestionConfig(Strict):
    mirrors: list[str] = []
    download_timeout_s: float = Field(30, gt=0)
    mnist: MnistConfig
    cora: SourceConfig
    breast_cancer: BreastCancerConfig
    digits: DigitsConfig = DigitsConfig()


class EvaluatorConfig(Strict):
    model: MnistClassifierConfig
    batch_size: int = Field(128, ge=1)
    num_workers: int = Field(0, ge=0)
    trainer: TrainerConfig


class ProtocolConfig(Strict):
    """The one scoring protocol (`evaluation.protocol`): every family, every
    sampler and the real-data floor are scored on exactly `num_samples` images
    against the same reference, so their numbers compare."""

    num_samples: int = Field(1000, ge=50)  # N, per environment
    kid_subsets: int = Field(100, ge=1)
    kid_subset_size: int = Field(1000, ge=2)  # capped at N
    is_split_size: int = Field(500, ge=1)  # IS splits: N // this, in [1, 10]
    fid_bootstrap: int = Field(10, ge=2)  # resamples behind `fid_std`
    # bf16-mixed: every family samples under bf16 autocast (AVX-512 BF16 CPUs,
    # CUDA); `benchmarks/bench_sampling.py` measures what it saves.
    sampling_precision: Literal["32-true", "bf16-mixed"] = "32-true"


class EvaluationConfig(Strict):
    """How samples are scored (`evaluation` block, shared by every family)."""

    protocol: ProtocolConfig = ProtocolConfig()
    batch_size: int = Field(500, ge=1)
    reference_size: int = Field(10000, ge=20)  # real images in the reference stats
    pr_k: int = Field(3, ge=1)  # k-th neighbour radius of precision/recall
    grid_rows: int = Field(10, ge=1, le=32)
    extractor: ExtractorConfig = ExtractorConfig()


class GnnConfig(Strict):
    """Shared settings of the `gnn` pipeline (`gnn` block); each model's own
    hyper-parameters live in its namespace's `model` block (`gcn`, `gat`)."""

    seeds: int = Field(10, ge=1)  # mean ± std over this many seeds
    normalize_features: bool = True  # row-normalise x, as both papers do
    trainer: TrainerConfig
    tsne_perplexity: float = Field(30, gt=0)
    subgraph_nodes: int = Field(100, ge=2)


class GnnModelBlock(Strict):
    model: GNNConfig


class GnnTuningConfig(Strict):
    """`gnn_tuning`: Optuna over `search_space`, on top of `model`."""

    model: GNNConfig
    normalize_features: bool = True
    seeds_per_trial: int = Field(3, ge=1)
    trainer: TrainerConfig
    search_space: SearchSpace
    study: TuningConfig


class XGBoostConfig(Strict):
    """`xgboost`: the classifier's hyper-parameters (the course's by default:
    100 trees, learning rate 0.1; the rest are XGBoost's own defaults)."""

    n_estimators: int = Field(100, ge=1)
    learning_rate: float = Field(0.1, gt=0, le=1)
    max_depth: int = Field(6, ge=1)
    min_child_weight: float = Field(1.0, ge=0)
    subsample: float = Field(1.0, gt=0, le=1)
    colsample_bytree: float = Field(1.0, gt=0, le=1)
    reg_lambda: float = Field(1.0, ge=0)
    reg_alpha: float = Field(0.0, ge=0)
    gamma: float = Field(0.0, ge=0)
    tree_method: Literal["hist", "exact", "approx"] = "hist"
    n_jobs: int = Field(1, ge=1)  # one thread: bitwise-reproducible, 2-core CPU


class TabularMLPConfig(Strict):
    """The small MLP on standardized features that Integrated Gradients explains."""

    hidden: tuple[int, ...] = Field((32, 16), min_length=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    batch_size: int = Field(64, ge=1)
    val_size: float = Field(0.2, gt=0, lt=1)  # of train, stratified; selects epochs


class LimeConfig(Strict):
    num_samples: int = Field(5000, ge=100)  # perturbations around the patient
    num_features: int = Field(10, ge=1)


class IntegratedGradientsConfig(Strict):
    n_steps: int = Field(50, ge=2)  # Riemann steps along the straight-line path
    # The path starts at the training mean (all zeros once standardized).
    baseline: Literal["train_mean", "zeros_raw"] = "train_mean"


class XaiConfig(Strict):
    """`xai`: explanations of the `xgboost` classifier on Breast Cancer."""

    features: list[str] | None = None  # null: every column but target and row_id
    patient: int = Field(0, ge=0)  # test row of the waterfall and LIME explanation
    shap_tolerance: float = Field(1e-4, gt=0)  # max |sum(SHAP) + E[f] - margin|
    top_k: int = Field(10, ge=1)
    lime: LimeConfig = LimeConfig()
    mlp: TabularMLPConfig = TabularMLPConfig()
    trainer: TrainerConfig
    integrated_gradients: IntegratedGradientsConfig = IntegratedGradientsConfig()


class AutoSklearnConfig(Strict):
    """`automl.autosklearn`: the isolated Python 3.9 run (`make automl-env`)."""

    # The interpreter: this, else $GENPIPE_AUTOSKLEARN_PYTHON, else .venv-automl.
    python: str | None = None
    time_left_for_this_task: int = Field(120, ge=30)  # seconds (auto-sklearn: >= 30)
    per_run_time_limit: int = Field(30, ge=5)  # seconds, one pipeline fit
    memory_limit_mb: int = Field(3072, ge=512)
    n_jobs: int = Field(1, ge=1)
    ensemble_size: int = Field(50, ge=1)
    # How a pipeline is scored: auto-sklearn's default 67/33 holdout of the
    # training split, or k-fold cross-validation (`folds`).
    resampling_strategy: Literal["holdout", "cv"] = "holdout"
    folds: int = Field(5, ge=2)
    # Refit the ensemble's pipelines on the whole training split afterwards.
    refit: bool = False
    # The subprocess is killed this long after its budget ran out.
    grace_s: int = Field(180, ge=10)

    @model_validator(mode="after")
    def _run_fits_budget(self) -> AutoSklearnConfig:
        if self.per_run_time_limit > self.time_left_for_this_task:
            raise ValueError(f"per_run_time_limit ({self.per_run_time_limit}) "
                             f"> time_left_for_this_task "
                             f"({self.time_left_for_this_task})")
        return self


class AutomlConfig(Strict):
    """`automl`: Optuna-tuned XGBoost and auto-sklearn against the default."""

    features: list[str] | None = None
    cv_folds: int = Field(5, ge=2)
    cv_metric: Literal["accuracy", "roc_auc", "log_loss"] = "accuracy"
    search_space: SearchSpace
    study: TuningConfig
    autosklearn: AutoSklearnConfig = AutoSklearnConfig()

    @model_validator(mode="after")
    def _space_tunes_xgboost(self) -> AutomlConfig:
        unknown = sorted(set(self.search_space.root) - set(XGBoostConfig.model_fields))
        if unknown:
            raise ValueError(f"search_space names no XGBoost parameter: {unknown} "
                             f"(known: {sorted(XGBoostConfig.model_fields)})")
        return self


class ModelConfig(Strict):
    """Base of every generative family's `model:` block (the family's `Config`)."""

    lr: float = Field(1e-3, gt=0, le=1)
    weight_decay: float = Field(0.0, ge=0, le=1)


class GenerativeDataConfig(Strict):
    batch_size: int = Field(128, ge=1)
    num_workers: int = Field(0, ge=0)
    # Threshold pixels at 0.5: the data of Bernoulli likelihoods (nats on
    # binarized MNIST). Off: intensities in [0, 1].
    binarize: bool = False


class FamilyBlock(Strict):
    """One generative family's block (`vae:`, `vqvae:`, ...).

    `model` is checked against the family's own `Config` when a run that
    includes the family starts (`genpipe.models.generative.validate_models`):
    that needs torch, which this module does not import.
    """

    model: dict[str, Any] = {}
    data: GenerativeDataConfig = GenerativeDataConfig()
    trainer: TrainerConfig
    latent_map_points: int = Field(1000, ge=10)  # test images in the t-SNE map
    tsne_perplexity: float = Field(30, gt=0)
    reconstruction_rows: int = Field(8, ge=1, le=32)
    # Families that sample draw `evaluation.protocol.num_samples` images (the
    # same N for all); here: how many to draw from fixed noise after every
    # training epoch (the samples-over-training grid and the class entropy that
    # flags mode collapse; 0 turns the snapshots off).
    snapshot_samples: int = Field(100, ge=0, le=1000)


class DannModelConfig(Strict):
    """`dann.model`: Ganin & Lempitsky's MNIST networks and schedules."""

    channels: tuple[int, int] = (32, 48)  # the feature extractor's two 5x5 convs
    hidden: int = Field(100, ge=1)  # label and domain classifiers' hidden width
    lr: float = Field(1e-3, gt=0, le=1)  # μ0
    weight_decay: float = Field(0.0, ge=0, le=1)
    gamma: float = Field(10.0, gt=0)  # λ_p = 2 / (1 + exp(−γ p)) − 1
    lr_alpha: float = Field(10.0, ge=0)  # μ_p = μ0 / (1 + α p)^β
    lr_beta: float = Field(0.75, ge=0)
    domain_weight: float = Field(1.0, ge=0)  # weight of the domain loss


class DannConfig(Strict):
    """`dann`: source MNIST (labelled) -> target digits (labels unseen), with
    the source-only and target-trained bounds on the same networks."""

    model: DannModelConfig = DannModelConfig()
    batch_size: int = Field(64, ge=1)  # per domain: each step sees 2 x this
    eval_batch_size: int = Field(500, ge=1)
    trainer: TrainerConfig
    tsne_points: int = Field(300, ge=10)  # test images per domain in the t-SNE
    tsne_perplexity: float = Field(30, gt=0)


class CycleGANModelConfig(Strict):
    """`cyclegan.model`: Zhu et al.'s losses and optimiser, MNIST-scale nets."""

    channels: int = Field(16, ge=1)  # C: generator widths C, 2C; D widths C, 2C
    residual_blocks: int = Field(2, ge=0)  # at 14 x 14
    lr: float = Field(2e-4, gt=0, le=1)
    beta1: float = Field(0.5, ge=0, lt=1)
    cycle_weight: float = Field(10.0, ge=0)  # λ
    identity_weight: float = Field(5.0, ge=0)  # λ_id (the paper: 0.5 λ)


class CycleGANConfig(Strict):
    """`cyclegan`: MNIST <-> digits with the cycle loss (`cyclegan.cycle`) and
    without it (`cyclegan.no_cycle`: λ = 0, all else equal)."""

    model: CycleGANModelConfig = CycleGANModelConfig()
    batch_size: int = Field(32, ge=1)  # per domain
    trainer: TrainerConfig
    # The classifier of digits that judges G(MNIST) (the evaluator judges F(digits)).
    digits_classifier: MnistClassifierConfig = MnistClassifierConfig()
    digits_classifier_trainer: TrainerConfig
    eval_images: int = Field(500, ge=2)  # test images per domain translated
    grid_columns: int = Field(10, ge=1, le=32)


def family_names() -> tuple[str, ...]:
    """Every generative family: the public modules of `genpipe.models.generative`.

    Read from the file names, without importing them (no torch at start-up).
    Each family is also a pipeline (`kedro run --pipelines vae`) and a
    parameters block of the same name.
    """
    folder = Path(__file__).parent / "models" / "generative"
    return tuple(sorted(module.name for module in pkgutil.iter_modules([str(folder)])
                        if not module.name.startswith("_")))


class _Parameters(Strict):

    seed: int = Field(ge=0, lt=2**32)
    device: str = Field("auto", pattern=DEVICE_PATTERN)
    data_ingestion: DataIngestionConfig
    evaluator: EvaluatorConfig
    evaluation: EvaluationConfig
    gnn: GnnConfig
    gcn: GnnModelBlock
    gat: GnnModelBlock
    gnn_tuning: GnnTuningConfig
    xgboost: XGBoostConfig
    xai: XaiConfig
    automl: AutomlConfig
    rl: RlConfig
    bayes: BayesConfig
    theory: TheoryConfig
    dann: DannConfig
    cyclegan: CycleGANConfig


Parameters = create_model(
    "Parameters", __base__=_Parameters,
    __doc__="The whole parameter tree (`conf/base` merged with the run's environment).",
    **{name: (FamilyBlock, ...) for name in family_names()},
)


CHECKPOINTS = "06_models/checkpoints"  # under the environment's data root


def default_checkpoint_dir(data_root: str, block: str) -> str:
    """Where block `block`'s trainer checkpoints unless it names a folder:
    `<data_root>/06_models/checkpoints/<block>` (`data_root` of
    conf/<env>/globals.yml)."""
    return f"{data_root}/{CHECKPOINTS}/{block}"


def trained_blocks() -> tuple[str, ...]:
    """The top-level blocks with a `trainer:` (`TrainerConfig`): every family,
    the evaluator, gnn, gnn_tuning, xai, dann, cyclegan."""
    return tuple(
        name for name, field in Parameters.model_fields.items()
        if isinstance(field.annotation, type)
        and issubclass(field.annotation, BaseModel)
        and "trainer" in field.annotation.model_fields
        and field.annotation.model_fields["trainer"].annotation is TrainerConfig)


def with_checkpoint_dirs(params: dict, data_root: str) -> dict:
    """`params` where each trained block whose `trainer` names no
    `checkpoint_dir` gets `default_checkpoint_dir(data_root, block)`; a
    `checkpoint_dir` in the YAML (or `--params`) is kept as it is."""
    filled = dict(params)
    for name in trained_blocks():
        block = params.get(name)
        trainer = block.get("trainer") if isinstance(block, dict) else None
        if isinstance(trainer, dict) and "checkpoint_dir" not in trainer:
            filled[name] = {**block, "trainer": {
                **trainer, "checkpoint_dir": default_checkpoint_dir(data_root, name)}}
    return filled


class ParameterError(ValueError):
    """The run's parameters do not match the schema."""


def validate(model: type[BaseModel], params: dict,
             path: tuple[str, ...] = ()) -> BaseModel:
    """`model.model_validate(params)`; errors name `parameters.<path>.<key>`."""
    try:
        return model.model_validate(params)
    except ValidationError as err:
        lines = []
        for error in err.errors():
            parts = ("parameters", *path, *error["loc"])
            got = "" if error["type"] == "missing" else f" (got {error['input']!r})"
            lines.append(f"  {'.'.join(map(str, parts))}: {error['msg']}{got}")
        raise ParameterError(
            f"{len(lines)} invalid parameter(s); nothing was run:\n" + "\n".join(lines)
        ) from None


def validate_parameters(params: dict) -> BaseModel:
    """Validates the full parameter tree against `Parameters`."""
    return validate(Parameters, params)
