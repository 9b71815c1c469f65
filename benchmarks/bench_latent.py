"""Latent against pixel diffusion at the `base` parameters: training images/s
and sampling seconds per image, measured side by side.

    PYTHONPATH=src python benchmarks/bench_latent.py [--steps 20] [--rounds 3]

Pixel: the `ddpm` family (U-Net on 28 x 28, batch `ddpm.data.batch_size`).
Latent: the `latent_diffusion` family (residual MLP on the `ae` family's
latents, batch `latent_diffusion.data.batch_size`, label dropout), on top of
an `ae` of the base architecture. One training step is the same for both:
draw t and ε, L_simple, backward, Adam step, EMA update; the latent side's
batches are latents (the training images are encoded once, before training:
that one-off cost is timed too). The two alternate for `--rounds` rounds of
`--steps` steps (after a warm-up), so a load change on the shared machine hits
both; the median round is shown. Sampling: DDIM-`ddim_steps` for a batch of
`--sample-batch` (pixel unguided; latent unguided and guided, w > 0 doubles
the network evaluations), decoding included. Weights are untrained: the cost
of a step does not depend on them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import yaml

from genpipe.config import GenerativeDataConfig
from genpipe.models.generative import build

ROOT = Path(__file__).parents[1]


def _block(family: str) -> dict:
    """Family `family`'s `base` block (conf/base/parameters_<family>.yml)."""
    path = ROOT / "conf/base" / f"parameters_{family}.yml"
    return yaml.safe_load(path.read_text())[family]


def _trainer(model, batch, labels):
    optimizer = model.configure_optimizers()
    model.train()

    def step() -> None:
        loss = model.loss(batch, labels)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.update_ema()
    return step


def _timed(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample-batch", type=int, default=100)
    parser.add_argument("--encode-images", type=int, default=55000)
    args = parser.parse_args()
    torch.manual_seed(0)

    pixel_block = _block("ddpm")
    pixel = build("ddpm", pixel_block["model"])
    latent_block = _block("latent_diffusion")
    latent = build("latent_diffusion", latent_block["model"])
    latent.attach_first_stage(build("ae", _block("ae")["model"]).eval())
    b_pixel = GenerativeDataConfig(**pixel_block.get("data", {})).batch_size
    b_latent = GenerativeDataConfig(**latent_block.get("data", {})).batch_size
    images = torch.rand(args.encode_images, 1, 28, 28)
    start = time.perf_counter()
    z0, _ = latent.training_inputs(images, images[:10], 500)
    encode_seconds = time.perf_counter() - start

    steps = {"pixel": _trainer(pixel, torch.rand(b_pixel, 1, 28, 28), None),
             "latent": _trainer(latent, z0[:b_latent],
                                torch.arange(b_latent) % 10)}
    batch = {"pixel": b_pixel, "latent": b_latent}
    for step in steps.values():
        step()  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            rates[name].append(batch[name] * args.steps / _timed(step, args.steps))

    pixel.eval(), latent.eval()
    n = args.sample_batch
    with torch.no_grad():
        sampling = {
            "pixel ddim": _timed(lambda: pixel.sample(n, "ddim"), 1) / n,
            "latent ddim w=0": _timed(lambda: latent.sample(n, "ddim_w0"), 1) / n,
            "latent ddim w=1": _timed(lambda: latent.sample(n, "ddim_w1"), 1) / n,
            "latent ddpm w=1": _timed(lambda: latent.sample(n, "ddpm"), 1) / n,
        }
    params = {"pixel": sum(p.numel() for p in pixel.net.parameters()),
              "latent": sum(p.numel() for p in latent.net.parameters())}
    print(f"{'':8} {'params':>9} {'batch':>6} {'train images/s (median)':>24}")
    for name in steps:
        print(f"{name:8} {params[name]:9d} {batch[name]:6d} "
              f"{statistics.median(rates[name]):24.1f}")
    print(f"latent: encoding {args.encode_images} images once took "
          f"{encode_seconds:.1f} s")
    print(f"sampling, batch {n}, decoding included (DDIM S = "
          f"{pixel.config.ddim_steps} / {latent.config.ddim_steps}, DDPM T = "
          f"{latent.config.timesteps}):")
    for name, seconds in sampling.items():
        print(f"  {name:16} {seconds * 1000:8.2f} ms/image")


if __name__ == "__main__":
    main()
