"""Every torch family for a few steps on CUDA with the `gpu` environment's
parameters (conf/base merged with conf/gpu): training and sampling images/s
and peak GPU memory, one table.

    python benchmarks/bench_gpu.py [--families ddpm gan ...] [--steps 20]
        [--warmup 5] [--samples 64] [--precisions 32-true bf16-mixed]

Self-contained: it needs the project installed and a CUDA build of torch with
a visible GPU, nothing else (the ingested MNIST and digits under
`data/02_intermediate` when present, random stand-ins of the same shapes
otherwise: throughput does not depend on the pixels). Where CUDA is absent it
stops at once with one line naming what is missing and exit code 2. Each
family is trained through the engine's own `fit` with `device: cuda` and its
`gpu` batch size and model config, like `kedro run --env gpu` (no MLflow,
no validation); peak memory is `torch.cuda.max_memory_allocated` during
training, and during sampling, each reset before. A family that fails reads
"n/a (reason)" and the script then exits 1, so a run on a new machine lists
everything that breaks on CUDA in one go.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch


def _require_cuda() -> None:
    if not torch.cuda.is_available():
        built = torch.version.cuda or "none: a CPU-only build"
        print(f"bench_gpu.py: CUDA is absent: torch.cuda.is_available() is False "
                 f"(torch {torch.__version__}, CUDA {built}, CUDA_VISIBLE_DEVICES="
                 f"{os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}); run it on a "
              "machine with an NVIDIA GPU and a CUDA build of torch", file=sys.stderr)
        sys.exit(2)


def main() -> int:
    _require_cuda()
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="ind-"))
    from common import ROOT
    from torch_families import GANS, PeakRSS, load_splits, make_case, parameters
    from torch_families import train_steps as run_steps

    families = ("evaluator", "ae", "dae", "sparse_ae", "ksparse_ae", "cae", "vae",
                "vqvae", "pixelcnn", "gated_pixelcnn", "ddpm", "ncsn", *GANS,
                "latent_diffusion", "vqvae_prior", "cyclegan", "dann")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(families),
                        choices=families, metavar="FAMILY")
    parser.add_argument("--precisions", nargs="+", default=["32-true", "bf16-mixed"],
                        choices=["32-true", "bf16-mixed", "16-mixed"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--samples", type=int, default=64, help="0: no sampling")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--env", default="gpu")
    parser.add_argument("--data", default=str(ROOT / "data/02_intermediate"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    params = parameters(args.env)
    device = params.get("device", "cuda")
    splits, source = load_splits(Path(args.data))
    props = torch.cuda.get_device_properties(0)
    print(f"{props.name}, {props.total_memory / 2**30:.0f} GiB, CUDA "
          f"{torch.version.cuda}, torch {torch.__version__}; env {args.env}, device "
          f"{device}; {source}; {args.warmup} warm-up + {args.steps} timed steps, "
          f"{args.samples} samples\n")
    print("| family | precision | batch | train img/s | warm-up s | peak GPU MiB, "
          "training | sampler | sample img/s | peak GPU MiB, sampling | val loss "
          "| host RSS Δ MiB |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    failures = 0
    started = time.perf_counter()
    for family in args.families:
        try:
            case = make_case(family, params, splits)
        except Exception as error:
            failures += 1
            print(f"| {family} | | | n/a ({type(error).__name__}: "
                  f"{str(error).splitlines()[0][:100]}) | | | | | | | |", flush=True)
            continue
        for precision in args.precisions:
            try:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
                with PeakRSS() as host:
                    result = run_steps(case, steps=args.steps, warmup=args.warmup,
                                       seed=args.seed, device=device,
                                       precision=precision, samples=0,
                                       synchronize=torch.cuda.synchronize,
                                       autocast="cuda")
                train_peak = torch.cuda.max_memory_allocated() / 2**20
                sample_ips = sample_peak = None
                if case.samples and args.samples:
                    sample_ips, sample_peak = _sample(case, result.module, args,
                                                      precision)
                sampler = case.sampler or "default" if case.samples else "—"
                print(f"| {family} | {precision} | {case.batch_size} | "
                      f"{result.train_ips:.0f} | {result.warmup_s:.1f} | "
                      f"{train_peak:.0f} | {sampler} | "
                      f"{'—' if sample_ips is None else f'{sample_ips:.1f}'} | "
                      f"{'—' if sample_peak is None else f'{sample_peak:.0f}'} | "
                      f"{result.val_loss:.4f} | {host.delta_mib:.0f} |", flush=True)
            except Exception as error:
                failures += 1
                line = (str(error).strip().splitlines() or [""])[0][:100]
                print(f"| {family} | {precision} | | n/a ({type(error).__name__}: "
                      f"{line}) | | | | | | | |", flush=True)
    print(f"\n{time.perf_counter() - started:.0f} s; {failures} failure(s)")
    return 1 if failures else 0


def _sample(case, module, args, precision: str) -> tuple[float, float]:
    """Images/s of the family's sampler on the GPU (second of two draws) and
    the peak memory of the timed draw."""
    module = module.cuda().eval()
    dtype = torch.float16 if precision == "16-mixed" else torch.bfloat16
    with torch.no_grad(), torch.autocast("cuda", dtype=dtype,
                                         enabled=precision != "32-true"):
        module.sample(args.samples, case.sampler)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        module.sample(args.samples, case.sampler)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return args.samples / seconds, torch.cuda.max_memory_allocated() / 2**20


if __name__ == "__main__":
    sys.exit(main())
