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

Several workers (processes, machines) may run one study at once when its
storage is a database server (`postgresql://...`): each worker draws its
trials from the shared storage, a heartbeat marks a dead worker's trial FAIL
and `RetryHeartbeatStaleTrialCallback` queues its parameters again for the
next worker (docs/tracking.md, "Shared stores").
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import numpy as np
import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError

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


def is_server_url(url: str) -> bool:
    """True for a database server (PostgreSQL, MySQL...), False for SQLite."""
    return make_url(url).get_backend_name() != "sqlite"


def make_storage(config: TuningConfig, default_path: str | Path) -> RDBStorage:
    """The study's RDB storage, with the heartbeat and retry of `config`.

    Args:
        config: The `tuning:` block (`storage`, `heartbeat_interval_s`, ...).
        default_path: The SQLite file to use when `config.storage` is None.

    Returns:
        An `RDBStorage`; an in-memory SQLite one never has a heartbeat (no
        other process can share it).
    """
    url = storage_url(config.storage, default_path)
    kwargs = {}
    in_memory = make_url(url).database in (None, "", ":memory:")
    if config.heartbeat_interval_s and not in_memory:
        kwargs = dict(heartbeat_interval=config.heartbeat_interval_s,
                      grace_period=config.grace_period_s,
                      heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                          max_retry=config.max_retry))
    with warnings.catch_warnings():  # heartbeat and retry are "experimental"
        warnings.simplefilter("ignore", ExperimentalWarning)
        return open_rdb_storage(url, **kwargs)


def open_rdb_storage(url: str, attempts: int = 5, **kwargs) -> RDBStorage:
    """`RDBStorage(url, **kwargs)`, tried again when another worker is
    creating the same schema at that moment.

    Opening a new database creates Optuna's tables, enum types and version row
    (check-then-create, not atomic): two workers started together on an empty
    PostgreSQL database can both find a type missing and one fails with a
    duplicate key or "already exists". By the next try the other worker's
    schema is there and is only checked.
    """
    for attempt in range(1, attempts):
        try:
            return RDBStorage(url, **kwargs)
        except (IntegrityError, ProgrammingError) as error:
            logger.info("Optuna storage %s: schema being created by another worker "
                        "(%s); trying again", make_url(url).render_as_string(),
                        type(error.orig).__name__)
            time.sleep(0.2 * attempt)
    return RDBStorage(url, **kwargs)  # the last try raises what it meets


class TrialSeededTPESampler(optuna.samplers.TPESampler):
    """TPE whose random draws for trial n are seeded by (seed, n).

    Workers sharing a study with one fixed seed would all draw the same
    start-up points; seeding each trial by its number, which the storage hands
    out once, gives every trial its own draws whichever worker runs it. With
    the constant liar (Optuna's recommendation for parallel TPE), trials still
    running count as bad results, so workers spread out instead of piling up.
    """

    def __init__(self, seed: int, **kwargs) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            super().__init__(seed=seed, constant_liar=True, **kwargs)
        self._base_seed = seed

    def before_trial(self, study: optuna.Study,
                     trial: optuna.trial.FrozenTrial) -> None:
        entropy = np.random.SeedSequence([self._base_seed, trial.number])
        seed = int(entropy.generate_state(1)[0])
        self._rng.rng.seed(seed)  # what TPE draws its candidates with
        self._random_sampler._rng.rng.seed(seed)  # the start-up trials' draws
        super().before_trial(study, trial)


def make_sampler(config: TuningConfig, url: str) -> optuna.samplers.BaseSampler:
    """TPE seeded by `config.seed`: one stream for SQLite (a run replays the
    same trials), one per trial on a server shared by workers."""
    if is_server_url(url):
        return TrialSeededTPESampler(seed=config.seed)
    return optuna.samplers.TPESampler(seed=config.seed)


def snapshot(study: optuna.Study) -> optuna.Study:
    """An in-memory copy of `study` as it stands now.

    Other workers may add trials to a shared study at any moment; reading the
    best trial, the trials table and the history plot from one snapshot keeps
    a worker's outputs consistent with each other.
    """
    frozen = optuna.create_study(study_name=study.study_name,
                                 directions=study.directions)
    frozen.add_trials(study.get_trials(deepcopy=False))
    return frozen


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
        An in-memory snapshot of the study when this worker ended: every
        trial stored under `config.study_name` by then, whichever worker ran it.

    Raises:
        ValueError: A stored study of that name optimises the other direction.
    """
    # Through python logging (Kedro's handlers), warnings and errors only.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    storage = make_storage(config, default_storage_path)
    study = optuna.create_study(
        storage=storage,
        study_name=config.study_name,
        direction=config.direction,
        sampler=make_sampler(config, storage.url),
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
    study = snapshot(study)
    completed = study.get_trials(deepcopy=False,
                                 states=[optuna.trial.TrialState.COMPLETE])
    if completed:
        logger.info("Study %r: best %s = %.6g with %s (%d trials)",
                    study.study_name, metric_name, study.best_value,
                    study.best_params, len(study.trials))
    return study
