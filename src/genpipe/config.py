"""Typed, validated parameters: the schema of every `conf/*/parameters*.yml`.

`GenpipeHooks` validates the merged parameters against `Parameters` when the
Kedro context is created, before any node runs: an unknown key, a wrong type or
an out-of-range value stops the run with the parameter's full dotted path.
Nodes turn their `params:` block into the same frozen models.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from genpipe.evaluation.extractor import ExtractorConfig
from genpipe.models.gnn import GNNConfig
from genpipe.models.mnist_classifier import MnistClassifierConfig
from genpipe.training.device import DEVICE_PATTERN
from genpipe.training.engine import TrainerConfig
from genpipe.tuning.study import SearchSpace, TuningConfig

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class DataIngestionConfig(Strict):
    mirrors: list[str] = []
    download_timeout_s: float = Field(30, gt=0)
    mnist: MnistConfig
    cora: SourceConfig
    breast_cancer: BreastCancerConfig


class EvaluatorConfig(Strict):
    model: MnistClassifierConfig
    batch_size: int = Field(128, ge=1)
    num_workers: int = Field(0, ge=0)
    trainer: TrainerConfig


class EvaluationConfig(Strict):
    """How samples are scored (`evaluation` block, shared by every family)."""

    num_samples: int = Field(10000, ge=20)  # scored per family
    batch_size: int = Field(500, ge=1)
    reference_size: int = Field(10000, ge=20)  # real images in the reference stats
    is_splits: int = Field(10, ge=1)
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


class Parameters(Strict):
    """The whole parameter tree (`conf/base` merged with the run's environment)."""

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


class ParameterError(ValueError):
    """The run's parameters do not match the schema."""


def validate_parameters(params: dict) -> Parameters:
    """Validates the full parameter tree; errors name `parameters.<dotted.path>`."""
    try:
        return Parameters.model_validate(params)
    except ValidationError as err:
        lines = []
        for error in err.errors():
            path = ".".join(str(part) for part in ("parameters", *error["loc"]))
            got = "" if error["type"] == "missing" else f" (got {error['input']!r})"
            lines.append(f"  {path}: {error['msg']}{got}")
        raise ParameterError(
            f"{len(lines)} invalid parameter(s); nothing was run:\n" + "\n".join(lines)
        ) from None
