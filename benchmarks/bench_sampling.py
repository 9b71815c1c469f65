"""What the scoring protocol costs the slow samplers: seconds to draw the
protocol's N images at the `base` sizes, per sampler, in fp32 and in bf16
autocast (this CPU has AVX-512 BF16), side by side in one run.

    python benchmarks/bench_sampling.py [--n 1000] [--batch 500] [--probe 8]

For each sampler it times `--probe` network evaluations on a batch of
`--batch` images (after one warm-up), multiplies by the sampler's network
evaluations per image, and prints a markdown table: ms per evaluation,
images/s, and the minutes N images take. The autoregressive samplers are
timed a row at a time, the way they sample (the gated model's row path runs
in fp32 whatever the precision: its bf16 is slower). Untrained weights: the
cost of a forward pass does not depend on their values.
"""

from __future__ import annotations

import argparse
import time

import torch
import yaml
from common import ROOT

from genpipe.models.generative import build

SAMPLERS = {"ddpm": ("ddpm", "ddim"), "ncsn": ("langevin", "langevin_denoised"),
            "pixelcnn": (None,), "gated_pixelcnn": (None,)}


def _forward(model, family: str):
    """One network evaluation on a batch: what the sampler repeats NFE times."""
    if family in ("ddpm", "ncsn"):
        def evaluate(x):
            t = torch.zeros(len(x), dtype=torch.long)
            return model.ema(x, t)
        return evaluate
    # Autoregressive: one row of conditionals as the sampler computes it (a
    # pass over the receptive rows per pixel; the gated model's vertical
    # stack once and its horizontal stack per pixel), per pixel, mid-image.
    rows = model.net.receptive_rows + 1
    return lambda x: list(model._row_logits(x[:, :, :rows]))


def _evaluations(family: str) -> int:
    """Network evaluations one call of `_forward` stands for."""
    return 1 if family in ("ddpm", "ncsn") else 28


def _ms_per_eval(evaluate, x: torch.Tensor, probe: int, bf16: bool) -> float:
    context = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 \
        else torch.autocast("cpu", enabled=False)
    with torch.no_grad(), context:
        evaluate(x)  # warm-up
        start = time.perf_counter()
        for _ in range(probe):
            evaluate(x)
    return (time.perf_counter() - start) / probe * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--probe", type=int, default=8)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"N = {args.n}, batch {args.batch}, {args.threads} threads\n")
    print("| sampler | NFE/image | fp32 ms/eval | bf16 ms/eval | fp32 img/s "
          "| bf16 img/s | fp32 min for N | bf16 min for N | bf16 speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for family, samplers in SAMPLERS.items():
        path = ROOT / "conf/base" / f"parameters_{family}.yml"
        block = yaml.safe_load(path.read_text())
        model = build(family, block[family]["model"]).eval()
        x = torch.rand(args.batch, 1, 28, 28)
        evaluate = _forward(model, family)
        fp32, bf16 = (_ms_per_eval(evaluate, x, args.probe, bf16=bf16)
                      / _evaluations(family) for bf16 in (False, True))
        for sampler in samplers:
            nfe = model.sampling_cost(sampler)["nfe_per_image"]
            rates = [args.batch / (nfe * ms / 1000) for ms in (fp32, bf16)]
            minutes = [args.n / rate / 60 for rate in rates]
            name = f"{family}.{sampler}" if sampler else family
            print(f"| {name} | {nfe:.0f} | {fp32:.1f} | {bf16:.1f} | {rates[0]:.2f} "
                  f"| {rates[1]:.2f} | {minutes[0]:.1f} | {minutes[1]:.1f} "
                  f"| {fp32 / bf16:.2f}x |")


if __name__ == "__main__":
    main()
