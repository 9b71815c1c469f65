import subprocess
import sys

import pytest
from pydantic import ValidationError

from genpipe.bayes.config import (
    BayesConfig,
    EmConfig,
    ImportanceConfig,
    RejectionConfig,
)


def test_config_modules_import_no_heavy_library():
    # genpipe.config imports them at every Kedro start-up
    code = ("import sys, genpipe.bayes.config, genpipe.theory.config; "
            "print(sorted(m for m in ('numpy', 'scipy', 'arviz', 'matplotlib', "
            "'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_block_has_defaults_and_unknown_keys_fail():
    assert BayesConfig.model_validate({}).mcmc.proposal_scale == 1.0
    with pytest.raises(ValidationError, match="extra_forbidden|Extra inputs"):
        BayesConfig.model_validate({"mcmc": {"proposal_sd": 1.0}})


@pytest.mark.parametrize(("model", "params", "message"), [
    (RejectionConfig, {"target": [0.5, 2]}, "unbounded"),
    (RejectionConfig, {"envelope_factors": [0.5]}, "must be >= 1"),
    (ImportanceConfig, {"good_scale": 0.6}, "infinite"),
    (EmConfig, {"labels_per_item": 20}, "number of annotators"),
    (EmConfig, {"accuracies": [0.9, 1.2, 0.5], "labels_per_item": 2},
     r"\[0, 1\]"),
    (EmConfig, {"class_prior": [0.5, 0.6]}, "summing to 1"),
])
def test_invalid_parameters_give_a_clear_error(model, params, message):
    with pytest.raises(ValidationError, match=message):
        model.model_validate(params)
