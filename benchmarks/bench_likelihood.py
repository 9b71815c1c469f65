"""Throughput of the autoregressive families on this machine: training images/s
and sampling images/s (pixel by pixel, with and without the receptive-field
crop), at the `base` sizes of conf/base/parameters_<family>.yml.

    python benchmarks/bench_likelihood.py [--threads 2] [--samples 20]

Run it under the heavy-job lock; it prints a markdown table.
"""

from __future__ import annotations

import argparse
import time

import torch
import yaml
from common import ROOT

from genpipe.models.generative import build


def _training_rate(model, batch: torch.Tensor, steps: int = 5) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for step in range(steps + 1):
        if step == 1:  # the first step warms up the allocator
            start = time.perf_counter()
        optimizer.zero_grad()
        model.loss(batch, None)["loss"].backward()
        optimizer.step()
    return steps * len(batch) / (time.perf_counter() - start)


def _sampling_rate(model, n: int, crop: bool) -> float:
    model.eval()
    rows = model.net.receptive_rows
    if not crop:
        model.net.receptive_rows = 28  # every earlier row: the uncropped pass
    start = time.perf_counter()
    model.sample(n)
    model.net.receptive_rows = rows
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"| family | output | train img/s (batch 64) | sample img/s, cropped | "
          f"sample img/s, full rows | ({args.threads} threads, {args.samples} "
          "samples) |")
    print("|---|---|---|---|---|---|")
    for family in ("pixelcnn", "gated_pixelcnn"):
        path = ROOT / "conf/base" / f"parameters_{family}.yml"
        config = yaml.safe_load(path.read_text())[family]["model"]
        torch.manual_seed(0)
        model = build(family, config)
        batch = torch.rand(64, 1, 28, 28)
        batch = batch.round() if config["output"] == "bernoulli" else \
            (batch * 255).round() / 255
        train = _training_rate(model, batch)
        cropped = _sampling_rate(model, args.samples, crop=True)
        full = _sampling_rate(model, args.samples, crop=False)
        print(f"| {family} | {config['output']} | {train:.0f} | {cropped:.2f} | "
              f"{full:.2f} | |")


if __name__ == "__main__":
    main()
