"""Training and sampling speed of every torch family on this CPU, in fp32,
Lightning `bf16-mixed`, `channels_last`, `torch.compile` and the best
combination, with the quality and bitwise determinism each setting keeps.

    python benchmarks/bench_training.py [--families ddpm gan ...] [--steps 10]
        [--warmup 3] [--repeats 2] [--samples 8] [--engine-costs ddpm ...]

Each family is built at its `--env` model config and batch size (the
project's own model classes) and trained for `--warmup` + `--steps` batches
through the engine's own `fit` (the Lightning Trainer exactly as the pipelines
build it: deterministic, gradient clipping, precision, the new
`trainer.channels_last` / `trainer.compile` knobs; no MLflow, no validation),
timing the last `--steps`. Then it draws `--samples` images twice (the second
timed; bf16 settings sample under bf16 autocast). Columns:

* train / sample img/CPU-s: images per CPU second of this process (all its
  threads), medians of `--repeats`; x fp32: ratios to fp32's. CPU seconds,
  not wall seconds, because the machine is shared: other jobs stretch the
  wall clock, not the work (`--threads 1` makes the two equal on an idle
  machine). train img/s (wall) is given beside it;
* warm-up s: the first `--warmup` steps (compilation included; the longest);
* peak RSS: the process's resident memory peak during the setting's training
  and sampling, less its RSS when the setting started (median, MiB);
* val loss: the family's validation loss (`val_loss`; GANs: the critic's
  `val_d_loss`; cyclegan: G's objective; dann: the adapted objective) of the
  trained weights, computed eagerly in fp32 on 1000 validation rows; noise
  is |fp32 - fp32 with seed + 1|: a setting is within noise if its distance
  to fp32 is at most that;
* bitwise: every repeat of the setting ended with identical weights (sha256
  of the state dict); and fp32-vs-setting: whether they equal fp32's.

"best" combines the single settings that trained >= 5% faster than fp32.
A setting that fails (e.g. inductor without a C compiler) reads
"n/a (reason)". Every setting runs in this one process, families one after
another; inductor's cache lives in a fresh temporary folder, so the first
repeat of a compiled setting compiles cold and the second finds the cache.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="inductor-"))

import torch  # noqa: E402
from common import ROOT  # noqa: E402
from torch_families import (  # noqa: E402
    FAMILIES,
    PeakRSS,
    load_splits,
    make_case,
    parameters,
    train_steps,
)

SETTINGS = {"fp32": {}, "bf16-mixed": {"precision": "bf16-mixed"},
            "channels_last": {"channels_last": True}, "compile": {"compile": True}}
WIN = 1.05  # a single setting joins "best" when it trains this much faster


def _reason(error: BaseException) -> str:
    line = (str(error).strip().splitlines() or [""])[0]
    return f"n/a ({type(error).__name__}: {line[:90]})"


def _run(case, setting: dict, args, seed: int) -> dict:
    """`--repeats` runs of one setting: medians, hashes, val loss."""
    rows = []
    for _ in range(args.repeats if seed == args.seed else 1):
        with PeakRSS() as memory:
            result = train_steps(case, steps=args.steps, warmup=args.warmup,
                                 seed=seed, device="cpu", samples=args.samples,
                                 **setting)
        rows.append((result, memory.delta_mib))
        torch._dynamo.reset()  # compiled code of this model is dead weight now
    sample = [r.sample_cpu_ips for r, _ in rows if r.sample_cpu_ips is not None]
    return {"train": statistics.median(r.train_cpu_ips for r, _ in rows),
            "wall": statistics.median(r.train_ips for r, _ in rows),
            "warmup": max(r.warmup_s for r, _ in rows),
            "sample": statistics.median(sample) if sample else None,
            "rss": statistics.median(m for _, m in rows),
            "hashes": {r.weights_hash for r, _ in rows},
            "val": rows[0][0].val_loss}


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "—" if value is None else format(value, spec)


def _ratio(value: float | None, reference: float | None) -> str:
    return "—" if value is None or not reference else f"{value / reference:.2f}x"


def _print_family(family: str, results: dict, noise: float | None) -> None:
    fp32 = results.get("fp32")
    for name, r in results.items():
        if isinstance(r, str):
            print(f"| {family} | {name} | {r} | | | | | | | | | |", flush=True)
            continue
        base = fp32 if isinstance(fp32, dict) else None
        delta = None if base is None else r["val"] - base["val"]
        within = "—" if name == "fp32" or delta is None or noise is None else \
            ("yes" if abs(delta) <= noise else "NO")
        bitwise = "yes" if len(r["hashes"]) == 1 else "NO"
        same = "" if base is None or name == "fp32" else \
            (", = fp32" if r["hashes"] == base["hashes"] else ", ≠ fp32")
        print(f"| {family} | {name} | {r['train']:.1f} | "
              f"{_ratio(r['train'], base and base['train'])} | {r['wall']:.1f} | "
              f"{r['warmup']:.1f} | "
              f"{_fmt(r['sample'], '.2f')} | "
              f"{_ratio(r['sample'], base and base['sample'])} | {r['rss']:.0f} | "
              f"{r['val']:.4f} | {_fmt(delta, '+.4f')} | {within} | "
              f"{bitwise}{same} |", flush=True)


def _family(family: str, params: dict, splits: dict, args) -> None:
    case = make_case(family, params, splits)
    results: dict[str, dict | str] = {}
    for name in args.settings:
        try:
            results[name] = _run(case, SETTINGS[name], args, args.seed)
        except Exception as error:  # a setting that cannot run is a table cell
            results[name] = _reason(error)
    noise = None
    if isinstance(results.get("fp32"), dict):
        try:
            other = _run(case, {}, args, args.seed + 1)
            noise = abs(other["val"] - results["fp32"]["val"])
        except Exception as error:
            results["fp32 seed+1"] = _reason(error)
    fp32 = results.get("fp32")
    winners = [name for name in SETTINGS if name != "fp32"
               and isinstance(results.get(name), dict) and isinstance(fp32, dict)
               and results[name]["train"] >= WIN * fp32["train"]]
    if len(winners) > 1:
        combined = {k: v for name in winners for k, v in SETTINGS[name].items()}
        try:
            results["best: " + " + ".join(winners)] = _run(case, combined, args,
                                                            args.seed)
        except Exception as error:
            results["best: " + " + ".join(winners)] = _reason(error)
    label = family + (f" ({'; '.join(case.notes)})" if case.notes else "")
    _print_family(label, results, noise)
    best = " + ".join(winners) if winners else "fp32 (none >= 5% faster)"
    print(f"| {family} | fp32 noise (seed {args.seed} vs {args.seed + 1}) | "
          f"|val| diff {_fmt(noise, '.4f')} | | | | | | | | | | best: {best} |",
          flush=True)


def _engine_costs(family: str, params: dict, splits: dict, args) -> None:
    """What the engine adds around the steps, at fp32 and the family's `base`
    budget: per-step MLflow writes, the validation pass and the snapshot draw
    of every epoch, and the sampler at 1 thread against the default."""
    import mlflow

    case = make_case(family, params, splits)
    block = params[family]
    trainer = case.trainer
    plain = train_steps(case, steps=args.steps, warmup=args.warmup, seed=args.seed,
                        device="cpu")
    step_s = case.batch_size / plain.train_cpu_ips
    with tempfile.TemporaryDirectory() as folder:
        mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
        with mlflow.start_run():
            logged = train_steps(case, steps=args.steps, warmup=args.warmup,
                                 seed=args.seed, device="cpu", log_every_n_steps=1)
    mlflow_ms = 1e3 * (case.batch_size / logged.train_cpu_ips - step_s)
    rows = len(splits["mnist_train"]["labels"])
    batches = rows // case.batch_size
    limit = trainer.limit_train_batches
    batches = int(limit) if isinstance(limit, int) else int(batches * limit)
    epoch_s = batches * step_s
    val_rows = len(splits["mnist_val"]["labels"])
    vlimit = trainer.limit_val_batches
    val_rows = min(val_rows, int(vlimit) * 1000) if isinstance(vlimit, int) else \
        int(val_rows * vlimit)
    module = plain.module.eval()
    val_s = snapshot_s = None
    if val_rows:
        start = time.process_time()
        case.val_loss(module)  # on VAL_ROWS rows: scaled to the epoch's
        val_s = (time.process_time() - start) * val_rows / len(case.val[0])
    snapshots = int(block.get("snapshot_samples", 0) or 0) if case.samples else 0
    if snapshots:
        with torch.no_grad():
            start = time.process_time()
            module.sample(snapshots)
            snapshot_s = time.process_time() - start
    threads = {}
    if case.samples and args.samples:
        default = torch.get_num_threads()
        for n in sorted({1, default}):
            torch.set_num_threads(n)
            with torch.no_grad():
                module.sample(args.samples, case.sampler)
                start = time.perf_counter()
                module.sample(args.samples, case.sampler)
                threads[n] = args.samples / (time.perf_counter() - start)  # wall
        torch.set_num_threads(default)

    def share(seconds: float | None) -> str:
        if seconds is None:
            return "—"
        return f"{seconds:.1f} ({100 * seconds / epoch_s:.0f}%)"
    print(f"| {family} | {batches} x {case.batch_size} | {epoch_s:.0f} | "
          f"{share(val_s)} | {share(snapshot_s)} | {mlflow_ms:+.1f} "
          f"({100 * mlflow_ms / 1e3 / step_s:+.0f}%) | "
          + " / ".join(f"{n}: {v:.2f}" for n, v in threads.items()) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES),
                        choices=FAMILIES, metavar="FAMILY")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS),
                        choices=list(SETTINGS))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--samples", type=int, default=8, help="0: no sampling")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--env", default="base")
    parser.add_argument("--data", default=str(ROOT / "data/02_intermediate"))
    parser.add_argument("--engine-costs", nargs="*", default=[], metavar="FAMILY",
                        help="families whose engine costs to measure (second table)")
    args = parser.parse_args()
    if "fp32" not in args.settings:
        args.settings.insert(0, "fp32")
    warnings.filterwarnings("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    params = parameters(args.env)
    splits, source = load_splits(Path(args.data))
    started, cpu = time.perf_counter(), time.process_time()
    print(f"env {args.env}, {source}; {args.warmup} warm-up + {args.steps} timed "
          f"steps, {args.repeats} repeats, {args.samples} samples; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, "
          f"{torch.backends.cpu.get_cpu_capability()}; load average "
          f"{os.getloadavg()[0]:.1f}\n")
    if args.families:
        print("| family | setting | train img/CPU-s | x fp32 | train img/s (wall) "
              "| warm-up s | sample img/CPU-s | x fp32 | peak RSS Δ MiB | val loss "
              "| Δ val vs fp32 | within noise | bitwise |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for family in args.families:
        _family(family, params, splits, args)
    if args.engine_costs:
        print("\n| family (fp32) | base epoch | epoch CPU-s (est.) | validation pass "
              "CPU-s (% of epoch) | snapshot draw CPU-s (% of epoch) | MLflow every "
              "step, CPU-ms/step | sample img/s (wall) by threads |")
        print("|---|---|---:|---:|---:|---:|---|")
        for family in args.engine_costs:
            _engine_costs(family, params, splits, args)
    print(f"\n{time.perf_counter() - started:.0f} s wall, "
          f"{time.process_time() - cpu:.0f} s CPU (this process); load average "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
