"""The one seeding helper: python, numpy, torch (CPU and CUDA) and workers."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = True) -> torch.Generator:
    """Seeds every RNG genpipe uses and, optionally, asks for deterministic kernels.

    Args:
        seed: The run's seed (`params:seed`).
        deterministic: Calls `torch.use_deterministic_algorithms(True)`; on CUDA
            it only warns for ops without a deterministic kernel (exactness is
            guaranteed on CPU, best-effort on GPU).

    Returns:
        A fresh `torch.Generator` seeded with `seed`, for code that should not
        draw from (and so perturb) the global stream, e.g. DataLoaders.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    # Lightning's worker_init_fn derives per-worker seeds from this variable.
    os.environ["PL_GLOBAL_SEED"] = str(seed)
    os.environ["PL_SEED_WORKERS"] = "1"
    if deterministic:
        # cuBLAS needs a fixed workspace for reproducible GEMMs (CUDA >= 10.2).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=torch.cuda.is_available())
        torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


def rng_state() -> dict:
    """Every global RNG state as tensors, lists and ints.

    Lightning loads checkpoints with `torch.load(weights_only=True)`, which
    refuses pickled numpy objects, so numpy's state is stored as plain parts.
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                  int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restores what `rng_state` captured."""
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
