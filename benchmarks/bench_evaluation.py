"""Scoring speed: FID + IS + precision/recall, 10k generated vs 10k real images.

    python benchmarks/bench_evaluation.py [--n 10000] [--repeats 3]

Uses the trained evaluator (`data/06_models/evaluator.pt`, from
`kedro run --pipelines evaluator`) and the ingested MNIST splits. The
"generated" set is a stand-in: training images with noise and shifts (timing
does not depend on what the images show). Features of *both* sets are
extracted inside the timed region. The peer row computes the same
precision/recall with scikit-learn's NearestNeighbors (exact k-NN radii, then
ball membership), to show the chunked torch version is both equal and faster.
Target on a 2-core CPU: the whole scoring <= 15 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
import yaml

from genpipe.config import ExtractorConfig, MnistClassifierConfig
from genpipe.datasets import NpzDataset, TorchDataset
from genpipe.evaluation import metrics, scoring
from genpipe.evaluation.extractor import build_extractor
from genpipe.models.mnist_classifier import random_shift

ROOT = Path(__file__).parents[1]


def _timed(fn, repeats: int):
    times, peak, result = [], 0, None
    for _ in range(repeats):
        tracemalloc.start()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return statistics.median(times), peak / 2**20, result


def _sklearn_precision_recall(real, fake, k):
    from sklearn.neighbors import NearestNeighbors

    def radii(x):
        return NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)[0][:, -1]

    def coverage(points, centres, r):
        distance, index = NearestNeighbors(n_neighbors=len(centres)).fit(
            centres).radius_neighbors(points, radius=r.max(), sort_results=True)
        return np.mean([np.any(d <= r[i]) for d, i in zip(distance, index,
                                                          strict=True)])

    return coverage(fake, real, radii(real)), coverage(real, fake, radii(fake))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    conf = ROOT / "conf/base/parameters_evaluator.yml"
    evaluator = yaml.safe_load(conf.read_text())
    weights = TorchDataset(str(ROOT / "data/06_models/evaluator.pt")).load()
    extractor = build_extractor(
        ExtractorConfig(), weights,
        MnistClassifierConfig(**evaluator["evaluator"]["model"]), torch.device("cpu"))
    def split(name: str) -> torch.Tensor:
        path = ROOT / f"data/02_intermediate/mnist_{name}.npz"
        return scoring.as_images(NpzDataset(str(path)).load())[: args.n]

    real, train = split("test"), split("train")
    torch.manual_seed(0)
    fake = (random_shift(train, 2) + 0.1 * torch.randn_like(train)).clamp(0, 1)

    def full():
        reference = scoring.reference_statistics(extractor, real, 500)
        return scoring.score(extractor, fake, reference, batch_size=500,
                             is_splits=10, k=3)

    rows = []
    seconds, mib, scores = _timed(full, args.repeats)
    rows.append((f"all metrics, {len(fake)} vs {len(real)} (extraction incl.)",
                 seconds, mib))
    seconds, mib, _ = _timed(lambda: (extractor(real, 500), extractor(fake, 500)),
                             args.repeats)
    rows.append(("  feature extraction, both sets", seconds, mib))
    real_f, fake_f = extractor(real, 500).features, extractor(fake, 500).features
    seconds, mib, ours = _timed(lambda: metrics.precision_recall(real_f, fake_f, 3),
                                args.repeats)
    rows.append(("  precision/recall (torch, chunked)", seconds, mib))
    seconds, mib, peer = _timed(lambda: _sklearn_precision_recall(real_f, fake_f, 3), 1)
    rows.append(("  peer: precision/recall (sklearn k-NN)", seconds, mib))

    print(f"\n{'benchmark':<52} {'wall s':>8} {'numpy MiB':>9}")
    for name, seconds, mib in rows:
        print(f"{name:<52} {seconds:>8.2f} {mib:>9.0f}")
    print(f"\nratio peer / ours (precision-recall): {rows[3][1] / rows[2][1]:.1f}x; "
          f"same values: {np.allclose(ours, peer)} ({ours} vs {peer})")
    print("target: all metrics <= 15 s; scores of the stand-in set: "
          + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))


if __name__ == "__main__":
    main()
