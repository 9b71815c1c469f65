"""DDPM training throughput: our U-Net + scheduler against diffusers'.

    pip install -c constraints.txt -e .[bench]    # diffusers (pinned)
    flock /tmp/genpipe-heavy.lock python benchmarks/bench_diffusion.py \
        [--steps 20] [--rounds 3] [--batch-size 64]

Both sides run the same training step on the same MNIST batches (the ingested
`data/02_intermediate/mnist_train.npz`; random images if it is absent):
draw t and ε, x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, L_simple, backward, Adam step.
Ours is the `ddpm` family's network and `NoiseScheduler` with the `base`
parameters (EMA update included); the peer is diffusers' `UNet2DModel` (the
same 28 -> 14 -> 7 levels, attention at 7 x 7, one residual block per level)
at the block width whose parameter count is closest to ours, with
`DDPMScheduler.add_noise` on the linear 1e-4 -> 0.02, T = 1000 schedule. The
two alternate for `--rounds` rounds of `--steps` steps each (after a warm-up),
so a load change on the shared machine hits both; the median round is shown.
Also the network's forward throughput (images per network evaluation per
second, batch 100): what a sampler's images/s is, divided by its NFE.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from genpipe.models.generative import build

ROOT = Path(__file__).parents[1]


def _ours(model_params: dict):
    model = build("ddpm", model_params).train()
    optimizer = model.configure_optimizers()
    scheduler = model.scheduler

    def step(x0: torch.Tensor) -> None:
        loss = model.loss(x0, None)["loss"]  # L_simple, x in [0, 1] -> [-1, 1]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.update_ema()

    def forward(x: torch.Tensor) -> None:
        model.ema(x, torch.randint(0, scheduler.timesteps, (len(x),)))

    return step, forward, sum(p.numel() for p in model.net.parameters())


def _diffusers_unet(width: int, mults: tuple[int, ...], heads_dim: int):
    from diffusers import UNet2DModel

    levels = len(mults)
    return UNet2DModel(
        sample_size=28, in_channels=1, out_channels=1,
        block_out_channels=tuple(width * m for m in mults), layers_per_block=1,
        down_block_types=("DownBlock2D",) * (levels - 1) + ("AttnDownBlock2D",),
        up_block_types=("AttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1),
        norm_num_groups=8, attention_head_dim=heads_dim)


def _theirs(target: int, mults: tuple[int, ...], heads: int, lr: float):
    from diffusers import DDPMScheduler

    candidates = range(8, 65, 8)  # GroupNorm(8) needs multiples of 8
    sizes = {w: sum(p.numel() for p in _diffusers_unet(w, mults, 8).parameters())
             for w in candidates}
    width = min(sizes, key=lambda w: abs(sizes[w] - target))
    net = _diffusers_unet(width, mults, max(1, width * mults[-1] // heads)).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear",
                              beta_start=1e-4, beta_end=0.02)

    def step(x0: torch.Tensor) -> None:
        x0 = 2 * x0 - 1
        noise = torch.randn_like(x0)
        t = torch.randint(0, 1000, (len(x0),))
        loss = F.mse_loss(net(scheduler.add_noise(x0, noise, t), t).sample, noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def forward(x: torch.Tensor) -> None:
        net(x, torch.randint(0, 1000, (len(x),)))

    return step, forward, sum(p.numel() for p in net.parameters()), width


def _images(n: int) -> torch.Tensor:
    path = ROOT / "data/02_intermediate/mnist_train.npz"
    if path.is_file():
        images = np.load(path)["images"][:n]
        return torch.from_numpy(images).float().div(255).unsqueeze(1)
    return torch.rand(n, 1, 28, 28)


def _rate(fn, batches: list[torch.Tensor]) -> float:
    start = time.perf_counter()
    for batch in batches:
        fn(batch)
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.manual_seed(0)
    params = yaml.safe_load((ROOT / "conf/base/parameters_ddpm.yml").read_text())
    model_params = {**params["ddpm"]["model"], "progress_bar": False}
    ours_step, ours_forward, ours_size = _ours(model_params)
    theirs_step, theirs_forward, theirs_size, width = _theirs(
        ours_size, tuple(model_params["channel_mults"]),
        model_params["attention_heads"], model_params["lr"])
    data = _images(args.batch_size * args.steps).split(args.batch_size)
    probe = _images(100)
    rates: dict[str, list[float]] = {"ours": [], "diffusers": []}
    forward: dict[str, list[float]] = {"ours": [], "diffusers": []}
    for fn in (ours_step, theirs_step):  # warm-up
        _rate(fn, data[:2])
    for _ in range(args.rounds):
        rates["ours"].append(_rate(ours_step, data))
        rates["diffusers"].append(_rate(theirs_step, data))
        with torch.no_grad():
            forward["ours"].append(_rate(ours_forward, [probe] * 3))
            forward["diffusers"].append(_rate(theirs_forward, [probe] * 3))
    ours, theirs = (statistics.median(rates[k]) for k in ("ours", "diffusers"))
    fwd_ours, fwd_theirs = (statistics.median(forward[k]) for k in ("ours",
                                                                   "diffusers"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch "
          f"{args.batch_size}, {args.rounds} rounds x {args.steps} steps (median)")
    print("| model | parameters | train images/s | forward images/s (batch 100) |")
    print("|---|---:|---:|---:|")
    print(f"| genpipe DDPM U-Net (channels {model_params['channels']}) + "
          f"NoiseScheduler | {ours_size:,} | {ours:.1f} | {fwd_ours:.0f} |")
    print(f"| diffusers UNet2DModel (width {width}) + DDPMScheduler | "
          f"{theirs_size:,} | {theirs:.1f} | {fwd_theirs:.0f} |")
    print(f"| ratio ours / diffusers | {ours_size / theirs_size:.2f} | "
          f"{ours / theirs:.2f} | {fwd_ours / fwd_theirs:.2f} |")


if __name__ == "__main__":
    main()
