"""Hyper-parameter tuning with Optuna, shared by every pipeline that tunes."""

from genpipe.tuning.study import (
    ParamSpec,
    PrunerConfig,
    SearchSpace,
    TuningConfig,
    history_figure,
    report_and_maybe_prune,
    run_study,
    storage_url,
    suggest,
)

__all__ = [
    "ParamSpec",
    "PrunerConfig",
    "SearchSpace",
    "TuningConfig",
    "history_figure",
    "report_and_maybe_prune",
    "run_study",
    "storage_url",
    "suggest",
]
