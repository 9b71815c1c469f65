import numpy as np
import pandas as pd
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from genpipe.pipelines.theory import create_pipeline
from genpipe.pipelines.theory.pipeline import DEMOS

SMALL = {"entropy": {}, "divergences": {"n_mu": 7}, "kl_fit": {"grid_points": 801},
         "nash": {"steps": 50}, "sparse_kl": {"n_points": 99},
         "gan_gradient": {"d_steps": 6, "measure_every": 3, "batch_size": 8,
                          "n_images": 64, "channels": 4, "latent_dim": 8},
         "ksparse": {"ks": [2, 5], "latent_dim": 10, "n_train": 100, "n_test": 100,
                     "max_epochs": 1, "batch_size": 50, "filters_shown": 4}}


def test_theory_pipeline_runs_every_demo_with_its_checks():
    catalog = DataCatalog()
    catalog["params:seed"] = 0
    catalog["params:device"] = "cpu"
    for split in ("mnist_train", "mnist_test"):
        catalog[split] = {"images": np.random.default_rng(0).integers(
            0, 256, (100, 28, 28), dtype=np.uint8), "labels": np.zeros(100, np.int64)}
    for block, params in SMALL.items():
        catalog[f"params:theory.{block}"] = params
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    out = {name: dataset.load() for name, dataset in outputs.items()}
    for demo in [*DEMOS, "gan_gradient", "ksparse"]:
        assert isinstance(out[f"theory_{demo}_plot"], Figure)
        assert isinstance(out[f"theory_{demo}_table"], pd.DataFrame)
        assert {"quantity", "computed", "closed_form", "abs_error"} == set(
            out[f"theory_{demo}_checks"].columns)
        assert all("/" not in key for key in out[f"theory_{demo}_metrics"])
        assert out[f"theory_{demo}_scores"] == {
            k: v for k, v in out[f"theory_{demo}_metrics"].items()
            if isinstance(v, float)}
    assert round(out["theory_entropy_metrics"]["entropy_weather"], 2) == 2.23
    assert out["theory_nash_metrics"]["radius_simultaneous"] > \
        out["theory_nash_metrics"]["radius_start"]
    gan = out["theory_gan_gradient_metrics"]
    assert gan["logit_grad_max_abs_error"] < 1e-6
    assert [p["step"] for p in gan["grad_norm_minimax"]] == [0, 3, 6]
    ksparse = out["theory_ksparse_checks"]
    assert (ksparse["abs_error"] < 1e-9).all()  # exactly k of 10 units active
    assert set(out["theory_ksparse_metrics"]) == {"test_mse_k2", "test_mse_k5",
                                                  "units_used_k2", "units_used_k5"}


def test_every_node_names_its_family_and_group():
    nodes = create_pipeline().nodes
    assert {t for n in nodes for t in n.tags if t.startswith("family.")} == \
        {f"family.{demo}" for demo in [*DEMOS, "gan_gradient", "ksparse_filters"]}
    assert all("group.theory" in n.tags for n in nodes)
