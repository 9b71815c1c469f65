"""Parameter validation of the tabular blocks (`xgboost`, `xai`, `automl`)."""

import copy

import pytest

from genpipe.config import ParameterError, validate_parameters
from tests.helpers.config import parameters


@pytest.fixture
def params() -> dict:
    return copy.deepcopy(parameters("ci"))


def test_shipped_tabular_blocks_and_ci_overrides(params):
    valid = validate_parameters(params)
    assert valid.xgboost.n_estimators == 100 and valid.xgboost.learning_rate == 0.1
    assert valid.automl.autosklearn.time_left_for_this_task == 30  # conf/ci
    assert valid.automl.autosklearn.per_run_time_limit == 10
    assert valid.automl.study.study_name == "xgboost-breast-cancer-ci"
    assert valid.automl.study.seed == 42  # kept from conf/base
    assert set(valid.automl.search_space.root) <= set(valid.xgboost.model_fields)


def test_search_space_may_only_tune_xgboost_parameters(params):
    params["automl"]["search_space"]["max_dpeth"] = {"type": "int", "low": 1,
                                                     "high": 3}
    with pytest.raises(ParameterError,
                       match=r"parameters\.automl: .*max_dpeth"):
        validate_parameters(params)


BLOCK = r"parameters\.automl\.autosklearn"


@pytest.mark.parametrize(("key", "value", "message"), [
    ("time_left_for_this_task", 20,  # auto-sklearn refuses less than 30 s
     BLOCK + r"\.time_left_for_this_task: .* 30 \(got 20\)"),
    ("per_run_time_limit", 60, BLOCK + r": .*per_run_time_limit \(60\) > "),
    ("budget", 5, BLOCK + r"\.budget: Extra inputs"),
])
def test_autosklearn_budget_is_checked(params, key, value, message):
    params["automl"]["autosklearn"][key] = value
    with pytest.raises(ParameterError, match=message):
        validate_parameters(params)


def test_xgboost_learning_rate_out_of_range_is_named(params):
    params["xgboost"]["learning_rate"] = 0
    with pytest.raises(ParameterError, match=r"parameters\.xgboost\.learning_rate"):
        validate_parameters(params)
