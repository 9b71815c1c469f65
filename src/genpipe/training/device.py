"""The `device` parameter: `auto` | `cpu` | `cuda` | `cuda:N` | `mps`."""

from __future__ import annotations

import re

import torch

from genpipe.config import DEVICE_PATTERN


class DeviceUnavailableError(RuntimeError):
    """The configured device does not exist on this machine."""


def _cuda_missing(spec: str) -> DeviceUnavailableError:
    built = torch.version.cuda or "no CUDA (a CPU build)"
    return DeviceUnavailableError(
        f"device={spec!r} was asked for, but torch.cuda.is_available() is False "
        f"(torch {torch.__version__}, built with {built}). Set `device: cpu` or "
        "`device: auto`, or install a CUDA build of torch before the project."
    )


def torch_device(spec: str) -> torch.device:
    """Resolves a `device` parameter to a concrete `torch.device`.

    `auto` picks CUDA, then MPS, then CPU. An explicit device that is absent is
    an error, never a silent fallback.
    """
    if not re.match(DEVICE_PATTERN, spec):
        raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps; got {spec!r}")
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        return torch.device("mps" if has_mps else "cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise _cuda_missing(spec)
        index = int(spec.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"device={spec!r}: only {torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    if spec == "mps" and not has_mps:
        raise DeviceUnavailableError("device='mps' was asked for, but MPS is absent")
    return torch.device(spec)


def resolve_device(spec: str, devices: int = 1) -> tuple[str, list[int] | int]:
    """Maps a `device` parameter to Lightning's `(accelerator, devices)`.

    Args:
        spec: The `device` parameter.
        devices: How many devices per node (DDP when > 1): GPUs, or processes
            on a CPU. With `cuda:N` the run uses devices N .. N+devices-1.
    """
    device = torch_device(spec)
    if device.type == "cuda":
        first = device.index or 0
        if first + devices > torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"{devices} CUDA device(s) from {first} asked for, "
                f"{torch.cuda.device_count()} present")
        return "gpu", list(range(first, first + devices))
    if devices != 1 and device.type != "cpu":
        raise DeviceUnavailableError(
            f"devices={devices} on {device.type}: one {device.type} device trains one "
            "process; use device cpu (one process per device) or cuda")
    return device.type, devices
