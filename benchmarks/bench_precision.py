"""What bf16 autocast does to the scores: the same trained models, the same
seed, the protocol's N samples drawn in fp32 and in bf16 autocast, both scored
under the protocol, side by side in one run.

    python benchmarks/bench_precision.py [--env base] [--samplers ddpm.ddim pixelcnn]

Reads the trained models, the evaluator and the reference statistics of a
finished run of that environment (`make run`) through the project's catalog,
and calls the pipeline's own nodes (`sample_family`, `evaluate_samples`); it
writes nothing. A difference in FID within the bootstrap's `fid_std`, and in
KID within `kid_std`, is noise: the precision does not move the ranking.
"""

from __future__ import annotations

import argparse
import copy

from common import ROOT
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from genpipe.pipelines.evaluation.nodes import evaluate_samples
from genpipe.pipelines.generative.nodes import sample_family

PRECISIONS = ("32-true", "bf16-mixed")


def _score(catalog, params: dict, family: str, sampler: str | None,
           precision: str) -> dict[str, float]:
    evaluation = copy.deepcopy(params["evaluation"])
    evaluation["protocol"]["sampling_precision"] = precision
    samples, cost = sample_family(catalog.load(f"{family}.model"), params[family],
                                  evaluation, params["seed"], params["device"],
                                  family=family, sampler=sampler)
    metrics, _, _ = evaluate_samples(
        samples, catalog.load("evaluator_model"), catalog.load("reference_stats"),
        catalog.load("reference_stats_binarized"), params["evaluator"], evaluation,
        params["seed"], params["device"])
    return {**metrics, **cost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="base")
    parser.add_argument("--samplers", nargs="+", default=["ddpm.ddim", "pixelcnn"],
                        help="namespaces: <family> or <family>.<sampler>")
    args = parser.parse_args()
    bootstrap_project(ROOT)
    with KedroSession.create(project_path=ROOT, env=args.env) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
        n = params["evaluation"]["protocol"]["num_samples"]
        print(f"env {args.env}, N = {n}, seed {params['seed']}\n")
        print("| sampler | precision | FID ± std | KID ×10³ ± std | precision "
              "| recall | IS | images/s |")
        print("|---|---|---|---|---|---|---|---|")
        for namespace in args.samplers:
            family, _, sampler = namespace.partition(".")
            for precision in PRECISIONS:
                m = _score(catalog, params, family, sampler or None, precision)
                print(f"| {namespace} | {precision} | {m['fid']:.1f} ± "
                      f"{m['fid_std']:.1f} | {1e3 * m['kid']:.2f} ± "
                      f"{1e3 * m['kid_std']:.2f} | {m['precision']:.3f} | "
                      f"{m['recall']:.3f} | {m['inception_score']:.2f} | "
                      f"{m['sampling_images_per_s']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
