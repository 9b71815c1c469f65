"""One Optuna study on PostgreSQL shared by `kedro run` workers of a tuning
search (`gnn_tuning`, `automl`'s XGBoost search), each in its own project copy
as on separate machines: trials are shared, none lost or run twice, and a
killed worker's trial is failed by the heartbeat and run again by the next
worker."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import mlflow
import optuna
import pandas as pd
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from genpipe.tuning.study import open_rdb_storage
from tests.helpers.workers import (
    breast_cancer_project,
    cora_project,
    finish,
    kedro_run,
    kill,
    killed_on_exit,
    worker_env,
)

pytestmark = pytest.mark.slow

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
HEARTBEAT_S, GRACE_S = 1, 3
# Where no worker dies: a loaded machine that stalls a worker's heartbeat past
# GRACE_S would have the other fail its running trial (seen at nice 19).
SHARING_GRACE_S = 120


@dataclass(frozen=True)
class Search:
    """One pipeline's Optuna search, as a worker runs it and reports it."""

    block: str  # its parameters block, holding `study`
    selects: tuple[str, ...]  # the `kedro run` arguments that run it
    outputs: str  # `<outputs>_best_params.json`, `_trials.csv` in 07_model_output
    best_metric: str  # the summary metric holding the best value
    n_trials: int  # per worker
    quick: tuple[str, ...] = ()  # cheaper trials: the sharing is tested, not tuning


GNN = Search("gnn_tuning", ("--pipelines", "gnn_tuning"), "gnn_tuning",
             "best_val_acc", 3,
             ("gnn_tuning.seeds_per_trial=1", "gnn_tuning.trainer.max_epochs=5"))
# Only the Optuna search (auto-sklearn's minutes are not what is tested here).
AUTOML = Search("automl", ("--pipelines", "automl", "--nodes", "tune_xgboost_node"),
                "automl", "best_cv_score", 4)


def _worker_args(search: Search, url: str, study: str, *more: str,
                 grace_s: int = GRACE_S) -> list[str]:
    params = [f"{search.block}.study.{key}={value}" for key, value in (
        ("storage", url), ("study_name", study), ("n_trials", search.n_trials),
        ("heartbeat_interval_s", HEARTBEAT_S), ("grace_period_s", grace_s))]
    return [*search.selects, "--params", ",".join([*params, *search.quick, *more])]


def _report(project: Path, search: Search) -> tuple[set[int], dict, dict,
                                                    pd.DataFrame]:
    """What one worker recorded: the trial numbers it ran (its MLflow child
    runs), its summary metrics, its best parameters and its trials table."""
    client = mlflow.MlflowClient(f"sqlite:///{project}/mlflow.db")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    ran = {int(r.data.tags["optuna.trial"]) for r in runs
           if "optuna.trial" in r.data.tags}
    [summary] = [r.data.metrics for r in runs
                 if search.best_metric in r.data.metrics]
    output = project / "data/ci/07_model_output"
    best = json.loads((output / f"{search.outputs}_best_params.json").read_text())
    return ran, summary, best, pd.read_csv(output / f"{search.outputs}_trials.csv")


def _best_of(table: pd.DataFrame) -> pd.Series:
    complete = table[table["state"] == "COMPLETE"]
    return complete.loc[complete["value"].idxmax()]


def _first_best(study: optuna.Study) -> optuna.trial.FrozenTrial:
    """The study's best trial, ties going to the lowest number as in a
    worker's snapshot (PostgreSQL returns any one of tied trials)."""
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    return min((t for t in complete if t.value == study.best_value),
               key=lambda t: t.number)


def _assert_reports_best(search: Search, summary: dict, best: dict,
                         study: optuna.Study) -> None:
    """A worker that saw every trial reports the study's best, whichever
    worker ran it."""
    assert summary[search.best_metric] == pytest.approx(study.best_value)
    assert best.items() >= _first_best(study).params.items()


def _run_at_once(search: Search, projects: list[Path], mirror_root: Path,
                 url: str, study_name: str) -> None:
    """Starts one worker per project on one study at once; waits for all."""
    workers = [kedro_run(p, worker_env(p, mirror_root),
                         *_worker_args(search, url, study_name,
                                       grace_s=SHARING_GRACE_S))
               for p in projects]
    with killed_on_exit(*workers):
        for worker in workers:
            finish(worker)


def _assert_shared(search: Search, projects: list[Path], url: str,
                   study_name: str) -> None:
    """Two workers ran `search.n_trials` each of one study: none lost or run
    twice, and each reported consistently with the study."""
    n = search.n_trials
    study = optuna.load_study(study_name=study_name, storage=url)
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == list(range(2 * n))
    assert all(t.state in FINISHED for t in trials), [t.state for t in trials]
    drawn = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(drawn)) == len(drawn), drawn  # no two workers drew alike

    reports = [_report(p, search) for p in projects]
    ran = [report[0] for report in reports]
    assert [len(r) for r in ran] == [n, n]
    assert ran[0] | ran[1] == set(range(2 * n)) and not ran[0] & ran[1]

    stored = {t.number: t for t in trials}
    for _, summary, best, table in reports:
        # Each worker reports from one snapshot of the shared study, taken when
        # it ended: the trials it saw agree with the study, and its best is
        # the best of them, whichever worker ran it.
        for row in table.itertuples():
            if row.state in ("COMPLETE", "PRUNED"):
                assert stored[row.number].state.name == row.state
            if row.state == "COMPLETE":
                assert stored[row.number].value == pytest.approx(row.value)
        top = _best_of(table)
        assert summary[search.best_metric] == pytest.approx(top["value"])
        assert summary["trials"] == len(table)
        assert best.items() >= stored[int(top["number"])].params.items()
    # The worker that ended last saw every trial of both: its best is the
    # study's best trial, found by either worker.
    complete_views = [r for r in reports if len(r[3]) == 2 * n
                      and r[3]["state"].isin(["COMPLETE", "PRUNED"]).all()]
    assert complete_views
    for _, summary, best, _ in complete_views:
        _assert_reports_best(search, summary, best, study)
    finder = next(i for i, r in enumerate(ran) if _first_best(study).number in r)
    assert finder in (0, 1)


def test_two_workers_share_one_study_without_losing_or_repeating_trials(
        tmp_path, mirror_root, cora_ingested, postgres_database):
    projects = [cora_project(tmp_path / f"worker{i}", mirror_root, cora_ingested)
                for i in range(2)]
    _run_at_once(GNN, projects, mirror_root, postgres_database, "shared")
    _assert_shared(GNN, projects, postgres_database, "shared")


def test_two_automl_workers_share_one_xgboost_study(
        tmp_path, mirror_root, breast_cancer_ingested, postgres_database):
    projects = [breast_cancer_project(tmp_path / f"worker{i}", mirror_root,
                                      breast_cancer_ingested) for i in range(2)]
    _run_at_once(AUTOML, projects, mirror_root, postgres_database, "shared")
    _assert_shared(AUTOML, projects, postgres_database, "shared")


def _running(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    try:
        study = optuna.load_study(study_name=name, storage=url)
    except KeyError:  # not created yet
        return []
    return study.get_trials(states=(TrialState.RUNNING,))


def test_a_killed_workers_trial_is_failed_and_run_again_by_the_next(
        tmp_path, mirror_root, cora_ingested, postgres_database):
    killed, follower = (cora_project(tmp_path / name, mirror_root, cora_ingested)
                        for name in ("killed", "follower"))
    # Long trials for the worker to kill, so that it dies inside one.
    worker = kedro_run(killed, worker_env(killed, mirror_root), *_worker_args(
        GNN, postgres_database, "killed", "gnn_tuning.trainer.max_epochs=2000"))
    try:
        while not (running := _running(postgres_database, "killed")):
            assert worker.poll() is None, worker.communicate()[0][-4000:]
            time.sleep(0.2)
        time.sleep(2 * HEARTBEAT_S)  # its heartbeat is recorded
    finally:
        kill(worker)  # SIGKILL, as a lost machine would
    [orphan] = running
    left = _running(postgres_database, "killed")
    assert [t.number for t in left] == [orphan.number]  # left RUNNING
    time.sleep(GRACE_S + HEARTBEAT_S)  # its heartbeat is now stale

    output = finish(kedro_run(follower, worker_env(follower, mirror_root),
                              *_worker_args(GNN, postgres_database, "killed")))
    study = optuna.load_study(study_name="killed", storage=postgres_database)
    trials = study.get_trials()
    assert study.trials[orphan.number].state == TrialState.FAIL
    retried = RetryHeartbeatStaleTrialCallback.retried_trial_number
    retries = [t for t in trials if retried(t) == orphan.number]
    assert len(retries) == 1, output[-4000:]
    killed_params = study.trials[orphan.number].params
    assert killed_params and retries[0].params == killed_params
    assert retries[0].state in FINISHED
    assert not study.get_trials(states=(TrialState.RUNNING, TrialState.WAITING))
    # The follower ran its whole budget, the retried trial first.
    ran, summary, best, _ = _report(follower, GNN)
    assert len(ran) == GNN.n_trials and retries[0].number == min(ran)
    finished = [t for t in trials if t.state in FINISHED]
    assert len(finished) == GNN.n_trials + orphan.number  # the killed one's, then ours
    _assert_reports_best(GNN, summary, best, study)


def test_workers_opening_an_empty_database_at_once_all_open_it(postgres_database):
    # Optuna creates its schema check-then-create; workers started together on
    # an empty database race for it (a duplicate `studydirection` type once
    # failed CI). Every one of them must open the storage.
    workers = 6
    barrier = threading.Barrier(workers)

    def open_storage(_: int) -> str:
        barrier.wait()
        return open_rdb_storage(postgres_database).url

    with ThreadPoolExecutor(workers) as pool:
        urls = list(pool.map(open_storage, range(workers)))
    assert urls == [postgres_database] * workers
    study = optuna.create_study(storage=postgres_database, study_name="after")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    assert len(study.trials) == 1
