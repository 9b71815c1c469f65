"""Atomic file writes: a reader never sees a half-written file.

Everything genpipe persists (datasets, weights, checkpoints, downloads) goes
through `atomic_write`: the bytes land in a temporary file in the target's
directory, are flushed to disk, and only then replace the target with
`os.replace` (atomic on POSIX). An exception or a kill before the rename leaves
the previous file, or no file, never a truncated one.

Loading is the mirror image: a file received from a shared DVC remote may have
been planted, so nothing is loaded in a way that can run code (`load_tensors`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yields a binary file handle whose content replaces `path` on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                    dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp creates 0600 files
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes `data` to `path` atomically."""
    with atomic_write(path) as handle:
        handle.write(data)


class RefusedFileError(ValueError):
    """A file held something a safe load refuses (e.g. a pickled object)."""

    @classmethod
    def about(cls, path: Any, what: str, exc: BaseException) -> RefusedFileError:
        """One line naming the file, what it held, and the culprit."""
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        # torch's message starts with advice to retry unsafely; its culprit line
        # is the useful part ("Unsupported global: GLOBAL posix.system ...").
        culprit = [line for line in lines if "nsupported" in line or "GLOBAL" in line]
        detail = (culprit or lines or [type(exc).__name__])[0]
        return cls(f"{path}: refused to load {what} ({detail}); only plain data is "
                   "loaded, never code: regenerate the file with this project "
                   "(e.g. `make repro`) instead of trusting it")


def load_tensors(path: str | os.PathLike, map_location: Any = "cpu") -> Any:
    """`torch.load` restricted to tensors and plain containers (`weights_only`).

    An unrestricted `torch.load` would run whatever a planted pickle's
    `__reduce__` asks for; this one refuses the file with one line instead.
    """
    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise RefusedFileError.about(path, "a .pt holding more than tensors",
                                     exc) from None
