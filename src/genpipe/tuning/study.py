"""Optuna studies: a YAML search space, TPE, median pruning, MLflow child runs.

Named `study.py`, not `optuna.py`: a module called `optuna` inside the package
would read as (and, imported by name, stand in for) the library itself.

A search space is the dict a `parameters_<pipeline>.yml` block holds::

    lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
    hidden: {type: int, low: 8, high: 64, step: 8}
    arch: {type: categorical, choices: [gcn, gat]}

`run_study` samples it with TPE (Bergstra et al., 2011), stops unpromising
trials with the median rule (Golovin et al., 2017, "Google Vizier"), stores the
study in an RDB (SQLite beside the project by default) and, inside an active
MLflow run, records each trial as a child run of it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import optuna
from sqlalchemy.engine import make_url

from genpipe.tuning.config import Choice, SearchSpace, TuningConfig

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

Objective = Callable[[optuna.Trial, dict], float]


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Choice]:
    """Draws one value per parameter of `space`.

    Args:
        trial: The Optuna trial being run.
        space: The search space.

    Returns:
        `{param: value}` in the space's order.
    """
    return {name: spec.suggest(trial, name) for name, spec in space.root.items()}


def history_figure(study: optuna.Study) -> Figure:
    """Optuna's optimisation-history plot of `study`, as a matplotlib Figure.

    Optuna's matplotlib plots call `plt.style.use("ggplot")`, which would
    restyle every later figure of the process (a full `kedro run` draws dozens
    after the tuning nodes); `rc_context` restores matplotlib's settings once
    this one is drawn.
    """
    import matplotlib  # lazily: see the TYPE_CHECKING import above

    with matplotlib.rc_context():
        return optuna.visualization.matplotlib.plot_optimization_history(study).figure


def storage_url(storage: str | None, default_path: str | Path) -> str:
    """The study's RDB URL; a SQLite file's parent directory is created.

    Args:
        storage: `TuningConfig.storage`: any SQLAlchemy URL (kept as is), or None.
        default_path: The SQLite file to use when `storage` is None; made
            absolute so the URL does not depend on the working directory.

    Returns:
        The URL to hand to Optuna.
    """
    url = storage or f"sqlite:///{Path(default_path).resolve()}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (
            None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def report_and_maybe_prune(trial: optuna.Trial, value: float, step: int) -> None:
    """Reports an intermediate value; stops the trial if the pruner says so.

    Args:
        trial: The running trial.
        value: The objective's value so far (e.g. validation accuracy).
        step: Its step (e.g. the epoch).

    Raises:
        optuna.TrialPruned: The value is worse than the median of earlier
            trials at this step (after the pruner's warm-up).
    """
    trial.report(value, step)
    if trial.should_prune():
        raise optuna.TrialPruned(f"pruned at step {step} with value {value}")


def _in_child_run(objective: Objective, trial: optuna.Trial, params: dict,
                  metric_name: str) -> float:
    """Runs one trial inside an MLflow run nested under the active one."""
    mlflow.start_run(run_name=f"trial-{trial.number}", nested=True,
                     tags={"optuna.study": trial.study.study_name,
                           "optuna.trial": str(trial.number)})
    mlflow.log_params(params)
    state, status = "FAIL", "FAILED"
    try:
        value = objective(trial, params)
        # Optuna fails a trial whose value is NaN; it has no metric to log.
        if math.isfinite(value):
            mlflow.log_metric(metric_name, value)
            state, status = "COMPLETE", "FINISHED"
        return value
    except optuna.TrialPruned:
        state, status = "PRUNED", "KILLED"
        raise
    finally:
        mlflow.set_tag("state", state)
        mlflow.end_run(status)


def run_study(objective: Objective, space: SearchSpace, config: TuningConfig,
              default_storage_path: str | Path, *,
              metric_name: str = "objective") -> optuna.Study:
    """Creates or reloads a study and runs `config.n_trials` more trials.

    Args:
        objective: `(trial, params) -> value`; `params` are the suggested values.
            Report intermediate values with `report_and_maybe_prune`.
        space: The search space.
        config: The `tuning:` block.
        default_storage_path: SQLite file used when `config.storage` is None.
        metric_name: Key of the objective's value in each trial's MLflow run.

    Returns:
        The study, holding every trial stored under `config.study_name`.

    Raises:
        ValueError: A stored study of that name optimises the other direction.
    """
    # Through python logging (Kedro's handlers), warnings and errors only.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    study = optuna.create_study(
        storage=storage_url(config.storage, default_storage_path),
        study_name=config.study_name,
        direction=config.direction,
        sampler=optuna.samplers.TPESampler(seed=config.seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=config.pruner.n_startup_trials,
            n_warmup_steps=config.pruner.n_warmup_steps),
        load_if_exists=True,
    )
    stored = study.direction.name.lower()
    if stored != config.direction:
        raise ValueError(f"study {config.study_name!r} is stored to {stored}, "
                         f"the configuration asks to {config.direction}")

    parent = mlflow.active_run()

    def trial_objective(trial: optuna.Trial) -> float:
        params = suggest(trial, space)
        if parent is None:
            return objective(trial, params)
        return _in_child_run(objective, trial, params, metric_name)

    study.optimize(trial_objective, n_trials=config.n_trials,
                   timeout=config.timeout_s, show_progress_bar=True)
    completed = study.get_trials(deepcopy=False,
                                 states=[optuna.trial.TrialState.COMPLETE])
    if completed:
        logger.info("Study %r: best %s = %.6g with %s (%d trials)",
                    study.study_name, metric_name, study.best_value,
                    study.best_params, len(study.trials))
    return study
