import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from genpipe.pipelines.bayes import create_pipeline
from genpipe.pipelines.bayes.pipeline import ITEMS

SMALL = {
    "mle_map": {"n_test": 100},
    "conjugacy": {"batches": 4},
    "rejection": {"n_proposals": 2000},
    "importance": {"n_samples": 200, "repeats": 20},
    "mcmc": {"draws": 1000, "burn_in": 100, "max_lag": 20},
    "em": {"n_items": 150},
    "evidence": {"n_train": 20, "n_test": 50},
}


def _run(seed: int = 0) -> dict:
    catalog = DataCatalog()
    catalog["params:seed"] = seed
    for block, params in SMALL.items():
        catalog[f"params:bayes.{block}"] = params
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    return {name: dataset.load() for name, dataset in outputs.items()}


def test_bayes_pipeline_runs_every_item_with_its_checks():
    out = _run()
    for item in ITEMS:
        assert isinstance(out[f"bayes_{item}_plot"], Figure)
        assert isinstance(out[f"bayes_{item}_table"], pd.DataFrame)
        checks = out[f"bayes_{item}_checks"]
        assert list(checks.columns) == ["quantity", "computed", "closed_form",
                                        "abs_error"]
        metrics = out[f"bayes_{item}_metrics"]
        assert all("/" not in key for key in metrics)  # plain keys
        assert out[f"bayes_{item}_scores"] == {
            k: v for k, v in metrics.items() if isinstance(v, float)}
    for item in ("mcmc_gamma", "mcmc_mixture"):
        metrics = out[f"bayes_{item}_metrics"]
        assert {"acceptance_rate", "ess_bulk", "ess_tail", "r_hat",
                "ks_distance"} <= set(metrics)
    em = out["bayes_em_metrics"]
    assert em["em_accuracy"] > em["majority_accuracy"]
    assert em["min_loglik_increase"] >= -1e-9
    assert out["bayes_mle_map_metrics"]["map_max_abs_error"] < 1e-5


def test_same_seed_same_numbers_other_seed_other_numbers():
    first, again, other = _run(0), _run(0), _run(1)
    for item in ITEMS:
        key = f"bayes_{item}_table"
        pd.testing.assert_frame_equal(first[key], again[key])
    assert first["bayes_mcmc_gamma_metrics"]["mean"] != \
        other["bayes_mcmc_gamma_metrics"]["mean"]


def test_every_node_names_its_family_and_group():
    for node in create_pipeline().nodes:
        family = [t for t in node.tags if t.startswith("family.")]
        assert len(family) == 1 and "group.bayes" in node.tags
    families = {t for n in create_pipeline().nodes for t in n.tags
                if t.startswith("family.")}
    assert families == {f"family.{item}" for item in ITEMS}


def test_unknown_parameter_fails_with_its_name():
    catalog = DataCatalog()
    catalog["params:seed"] = 0
    for block, params in SMALL.items():
        catalog[f"params:bayes.{block}"] = params
    catalog["params:bayes.mcmc"] = {**SMALL["mcmc"], "step": 1.0}
    with pytest.raises(Exception, match="step"):
        SequentialRunner().run(create_pipeline(), catalog)
