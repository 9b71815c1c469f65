"""Typed, validated parameters: the schema of every `conf/*/parameters*.yml`.

`GenpipeHooks` validates the merged parameters against `Parameters` when the
Kedro context is created, before any node runs: an unknown key, a wrong type or
an out-of-range value stops the run with the parameter's full dotted path.
Nodes turn their `params:` block into the same frozen models.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from genpipe.evaluation.extractor import ExtractorConfig
from genpipe.models.gnn import GNNConfig
from genpipe.models.mnist_classifier import MnistClassifierConfig
from genpipe.rl.config import RlConfig  # pydantic only: no torch/SB3
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
    rl: RlConfig


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
