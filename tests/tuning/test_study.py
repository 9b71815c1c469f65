import time

import mlflow
import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.storages import RetryHeartbeatStaleTrialCallback

from genpipe.tuning.config import SearchSpace, TuningConfig
from genpipe.tuning.study import (
    TrialSeededTPESampler,
    history_figure,
    is_server_url,
    make_sampler,
    make_storage,
    report_and_maybe_prune,
    run_study,
    storage_url,
    suggest,
)

# What a `parameters_<pipeline>.yml` block parses into.
SPACE = SearchSpace.model_validate({
    "x": {"type": "float", "low": -5.0, "high": 5.0},
    "kind": {"type": "categorical", "choices": ["a", "b", "c"]},
})
OFFSET = {"a": 3.0, "b": 0.0, "c": 1.0}


def quadratic(trial: optuna.Trial, params: dict) -> float:
    """Minimum 0 at x = 1, kind = b."""
    return (params["x"] - 1.0) ** 2 + OFFSET[params["kind"]]


def config(**overrides) -> TuningConfig:
    base = {"n_trials": 15, "seed": 0, "study_name": "quadratic",
            "direction": "minimize"}
    return TuningConfig(**{**base, **overrides})


def test_tpe_gets_near_the_optimum_and_the_default_sqlite_file_is_created(tmp_path):
    db = tmp_path / "missing" / "dir" / "optuna.db"
    study = run_study(quadratic, SPACE, config(n_trials=15), db)
    assert db.is_file()
    assert study.best_params["kind"] == "b"
    assert study.best_value < 0.25, study.best_params  # range [0, 39]


def test_same_study_name_continues_the_stored_study(tmp_path):
    db = tmp_path / "optuna.db"
    run_study(quadratic, SPACE, config(n_trials=3), db)
    study = run_study(quadratic, SPACE, config(n_trials=4), db)
    assert len(study.trials) == 7
    assert [t.number for t in study.trials] == list(range(7))


def test_stored_study_with_the_other_direction_is_refused(tmp_path):
    db = tmp_path / "optuna.db"
    run_study(quadratic, SPACE, config(n_trials=1), db)
    with pytest.raises(ValueError, match="stored to minimize"):
        run_study(quadratic, SPACE, config(n_trials=1, direction="maximize"), db)


def test_storage_url_defaults_to_sqlite_and_keeps_any_other_url(tmp_path):
    assert storage_url(None, tmp_path / "a.db") == f"sqlite:///{tmp_path}/a.db"
    url = "postgresql://user:secret@db.example:5432/optuna"
    assert storage_url(url, tmp_path / "unused.db") == url
    assert config(storage=url).storage == url
    with pytest.raises(ValueError, match="storage"):
        config(storage="not a url")


@pytest.mark.parametrize(("entry", "reason"), [
    ({"type": "float", "low": 1.0, "high": 0.1}, "low .* > high"),
    ({"type": "uniform", "low": 0.0, "high": 1.0}, "type"),
    ({"type": "categorical"}, "non-empty `choices`"),
    ({"type": "categorical", "choices": []}, "non-empty `choices`"),
    ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "log scale"),
    ({"type": "int", "low": 1, "high": 4.5}, "whole"),
    ({"type": "float", "low": 0.0, "hgih": 1.0}, "hgih"),
])
def test_bad_search_space_entries_name_the_parameter(entry, reason):
    with pytest.raises(ValueError, match=f"(?s)learning_rate.*{reason}"):
        SearchSpace.model_validate({"ok": {"type": "int", "low": 1, "high": 3},
                                    "learning_rate": entry})


def test_suggest_draws_every_type_within_its_range():
    space = SearchSpace.model_validate({
        "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "hidden": {"type": "int", "low": 8, "high": 64, "step": 8},
        "arch": {"type": "categorical", "choices": ["gcn", "gat"]},
    })
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        params = suggest(study.ask(), space)
        assert 1e-4 <= params["lr"] <= 1e-1
        assert params["hidden"] in range(8, 65, 8)
        assert params["arch"] in {"gcn", "gat"}


def test_bad_intermediate_values_get_trials_pruned(tmp_path):
    def curve(trial: optuna.Trial, params: dict) -> float:
        final = quadratic(trial, params)
        for step in range(10):
            report_and_maybe_prune(trial, final + 10.0 / (step + 1), step)
        return final

    tuning = config(n_trials=20, pruner={"n_startup_trials": 3, "n_warmup_steps": 2})
    study = run_study(curve, SPACE, tuning, tmp_path / "optuna.db")
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.PRUNED) > 0
    assert states.count(optuna.trial.TrialState.COMPLETE) >= 3


def test_trials_are_child_runs_of_the_active_mlflow_run(tmp_path):
    db = tmp_path / "optuna.db"
    run_study(quadratic, SPACE, config(n_trials=2, study_name="quiet"), db)
    assert mlflow.search_runs(search_all_experiments=True).empty  # no active run

    def pruned(trial: optuna.Trial, params: dict) -> float:
        raise optuna.TrialPruned()

    def failing(trial: optuna.Trial, params: dict) -> float:
        raise RuntimeError("diverged")

    with mlflow.start_run() as parent:
        study = run_study(quadratic, SPACE, config(n_trials=4), db,
                          metric_name="toy/loss")
        run_study(pruned, SPACE, config(n_trials=1, study_name="pruned"), db)
        with pytest.raises(RuntimeError, match="diverged"):
            run_study(failing, SPACE, config(n_trials=1, study_name="failing"), db)

    children = MlflowClient().search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    by_study: dict[str, dict] = {}
    for run in children:
        by_study.setdefault(run.data.tags["optuna.study"], {})[run.info.run_name] = run
    assert set(by_study) == {"quadratic", "pruned", "failing"}
    assert set(by_study["quadratic"]) == {"trial-0", "trial-1", "trial-2", "trial-3"}
    for trial in study.trials:
        run = by_study["quadratic"][f"trial-{trial.number}"]
        assert (run.data.tags["state"], run.info.status) == ("COMPLETE", "FINISHED")
        assert run.data.params == {k: str(v) for k, v in trial.params.items()}
        assert run.data.metrics == {"toy/loss": pytest.approx(trial.value)}
    (pruned_run,) = by_study["pruned"].values()
    assert (pruned_run.data.tags["state"], pruned_run.info.status) == ("PRUNED",
                                                                        "KILLED")
    (failed_run,) = by_study["failing"].values()
    assert (failed_run.data.tags["state"], failed_run.info.status) == ("FAIL",
                                                                        "FAILED")
    assert mlflow.get_run(parent.info.run_id).info.status == "FINISHED"


def test_history_figure_leaves_matplotlibs_style_as_it_found_it(tmp_path):
    import matplotlib

    study = run_study(quadratic, SPACE, config(n_trials=3), tmp_path / "optuna.db")
    before = dict(matplotlib.rcParams)
    figure = history_figure(study)
    # optuna draws it in its "ggplot" style; later figures keep the defaults
    assert figure.axes[0].get_facecolor() != matplotlib.colors.to_rgba(
        before["axes.facecolor"])
    assert dict(matplotlib.rcParams) == before


def test_a_stale_running_trial_is_failed_and_its_parameters_run_again(tmp_path):
    # A worker that died inside trial 0: RUNNING, with a heartbeat, then silence.
    db = tmp_path / "optuna.db"
    settings = config(n_trials=2, heartbeat_interval_s=1, grace_period_s=1)
    storage = make_storage(settings, db)
    dead = optuna.create_study(storage=storage, study_name="quadratic",
                               direction="minimize").ask()
    dead.suggest_float("x", -5.0, 5.0)
    dead.suggest_categorical("kind", ["a", "b", "c"])
    storage.record_heartbeat(dead._trial_id)
    time.sleep(2.5)  # past the grace period

    study = run_study(quadratic, SPACE, settings, db)
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    retry = study.trials[1]
    assert RetryHeartbeatStaleTrialCallback.retried_trial_number(retry) == 0
    assert retry.params == study.trials[0].params


def test_heartbeat_is_off_for_in_memory_sqlite_and_on_request():
    memory = make_storage(config(storage="sqlite:///:memory:"), "unused.db")
    assert memory.get_heartbeat_interval() is None
    off = make_storage(config(storage="sqlite:///:memory:",
                              heartbeat_interval_s=None), "unused.db")
    assert off.get_heartbeat_interval() is None


def _first_draws_of_two_workers(sampler) -> tuple[float, float]:
    """Two workers, each with its own sampler from `sampler()`, take trials 0
    and 1 of one study at once."""
    storage = optuna.storages.InMemoryStorage()
    first = optuna.create_study(storage=storage, study_name="s", sampler=sampler())
    second = optuna.load_study(storage=storage, study_name="s", sampler=sampler())
    trials = first.ask(), second.ask()
    return tuple(t.suggest_float("x", -5.0, 5.0) for t in trials)


def test_on_a_server_each_trial_draws_from_its_own_seed():
    assert is_server_url("postgresql://u@h/db") and not is_server_url("sqlite:///a")
    assert isinstance(make_sampler(config(), "postgresql://u@h/db"),
                      TrialSeededTPESampler)
    assert not isinstance(make_sampler(config(), "sqlite:///a.db"),
                          TrialSeededTPESampler)
    # One seed, one stream per worker: both workers draw the same point.
    plain = _first_draws_of_two_workers(lambda: optuna.samplers.TPESampler(seed=0))
    assert plain[0] == plain[1]
    seeded = _first_draws_of_two_workers(lambda: TrialSeededTPESampler(seed=0))
    assert seeded[0] != seeded[1]
    assert seeded == _first_draws_of_two_workers(lambda: TrialSeededTPESampler(seed=0))
