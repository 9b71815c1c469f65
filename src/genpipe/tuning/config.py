"""Parameter schema of the tuning pipelines (pydantic only, no optuna).

`genpipe.config` imports this module at every Kedro start-up, so it stays
light: Optuna and SQLAlchemy are imported by `genpipe.tuning.study`, which
runs the studies, and (SQLAlchemy) by the storage check when a URL is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    import optuna

# The values `Trial.suggest_categorical` accepts (Optuna's CategoricalChoiceType).
Choice = None | bool | int | float | str


class ParamSpec(BaseModel):
    """One parameter of a search space: a float, int or categorical range."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["float", "int", "categorical"]
    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = Field(None, gt=0)
    choices: tuple[Choice, ...] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        if self.type == "categorical":
            numeric = [key for key in ("low", "high", "step", "log")
                       if getattr(self, key) not in (None, False)]
            if not self.choices:
                raise ValueError("categorical needs a non-empty `choices` list")
            if numeric:
                raise ValueError(f"categorical takes only `choices`, not {numeric}")
            return self
        if self.choices is not None:
            raise ValueError(f"{self.type} takes `low`/`high`, not `choices`")
        if self.low is None or self.high is None:
            raise ValueError(f"{self.type} needs both `low` and `high`")
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) > high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log scale needs low > 0, got {self.low}")
        if self.log and self.step is not None:
            raise ValueError("`log` and `step` exclude each other (Optuna)")
        bounds = [v for v in (self.low, self.high, self.step) if v is not None]
        if self.type == "int" and not all(float(v).is_integer() for v in bounds):
            raise ValueError(f"int needs whole low/high/step, got {bounds}")
        return self

    def suggest(self, trial: optuna.Trial, name: str) -> Choice:
        """Draws this parameter's value for `trial` under `name`."""
        if self.type == "categorical":
            return trial.suggest_categorical(name, list(self.choices))
        if self.type == "int":
            return trial.suggest_int(name, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(name, self.low, self.high, step=self.step,
                                   log=self.log)


class SearchSpace(RootModel[dict[str, ParamSpec]]):
    """`{param: {type, low, high, log, step, choices}}`, e.g. from YAML.

    Validation errors carry the parameter's name in their location.
    """

    model_config = ConfigDict(frozen=True)

    root: dict[str, ParamSpec] = Field(min_length=1)


class PrunerConfig(BaseModel):
    """`MedianPruner` settings: trials and steps exempt from pruning."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_startup_trials: int = Field(5, ge=0)
    n_warmup_steps: int = Field(0, ge=0)


class TuningConfig(BaseModel):
    """The `tuning:` block of a pipeline's parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_trials: int = Field(ge=1)  # per `run_study` call; a reloaded study adds these
    seed: int
    storage: str | None = None  # None: SQLite at the caller's default path
    study_name: str = Field(min_length=1)
    direction: Literal["maximize", "minimize"] = "maximize"
    pruner: PrunerConfig = PrunerConfig()
    timeout_s: float | None = Field(None, gt=0)
    # A running trial writes a heartbeat every `heartbeat_interval_s`; one silent
    # for `grace_period_s` (None: twice the interval) belonged to a dead worker:
    # the next trial to start marks it FAIL and queues its parameters again, at
    # most `max_retry` times. None: no heartbeat (a dead worker's trial stays
    # RUNNING for ever).
    heartbeat_interval_s: int | None = Field(60, ge=1)
    grace_period_s: int | None = Field(None, ge=1)
    max_retry: int = Field(1, ge=0)

    @field_validator("storage")
    @classmethod
    def _sqlalchemy_url(cls, value: str | None) -> str | None:
        if value is not None:
            from sqlalchemy.engine import make_url  # lazily: see the docstring
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(value)
            except ArgumentError as error:
                raise ValueError(f"not a SQLAlchemy URL: {value!r}") from error
        return value
