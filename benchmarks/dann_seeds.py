"""The `dann` pipeline's modes over several seeds: is DANN's gain real?

    python benchmarks/dann_seeds.py [--seeds 0,1,2] [--modes source_only,adapted]
                                    [--epochs 2] [--domain-weight 1.0]

Trains and evaluates each mode through the pipeline's own nodes
(`train_dann`, `evaluate_dann`) with the `base` configuration
(conf/base/parameters_dann.yml; --epochs and --domain-weight override it) on
the ingested `base` data (`kedro run --pipelines data_ingestion` first), and
prints one row per seed and mode, then mean ± std per mode: target (digits)
and source (MNIST) test accuracy, and the linear domain probe's accuracy.
Checkpoints go to a temporary folder, never to data/.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
from common import ROOT
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from genpipe.pipelines.dann.nodes import evaluate_dann, train_dann


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--modes", default="source_only,adapted")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--domain-weight", type=float)
    args = parser.parse_args()
    bootstrap_project(ROOT)
    with KedroSession.create(project_path=ROOT, env="base") as session:
        catalog = session.load_context().catalog
        data = {name: catalog.load(name) for name in
                ("mnist_train", "digits_train", "mnist_test", "digits_test")}
        params = catalog.load("params:dann")
    checkpoints = tempfile.mkdtemp(prefix="dann_seeds_")
    params["trainer"]["checkpoint_dir"] = checkpoints
    if args.epochs:
        params["trainer"]["max_epochs"] = args.epochs
    if args.domain_weight is not None:
        params["model"]["domain_weight"] = args.domain_weight
    print(f"\ndann, {params['trainer']['max_epochs']} epochs, domain_weight "
          f"{params['model']['domain_weight']} (checkpoints in {checkpoints})")
    print(f"{'mode':>12} {'seed':>5} {'target acc':>11} {'source acc':>11} "
          f"{'domain probe':>13} {'train s':>8}")
    results: dict[str, list[float]] = {}
    for mode in args.modes.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            weights, train = train_dann(data["mnist_train"], data["digits_train"],
                                        params, seed, "cpu", mode=mode)
            test = evaluate_dann(weights, data["mnist_test"], data["digits_test"],
                                 params, seed, "cpu", mode=mode)
            results.setdefault(mode, []).append(test["target_acc"])
            print(f"{mode:>12} {seed:>5} {test['target_acc']:>11.3f} "
                  f"{test['source_acc']:>11.3f} {test['domain_probe_acc']:>13.3f} "
                  f"{train['train_seconds']:>8.1f}", flush=True)
    print()
    for mode, accs in results.items():
        print(f"{mode:>12} target acc {np.mean(accs):.3f} ± {np.std(accs, ddof=1):.3f}"
              f" (n = {len(accs)})")


if __name__ == "__main__":
    main()
