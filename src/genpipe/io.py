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


def remove_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Deletes the `.<name>.XXXX.tmp` files a killed writer of `target` left.

    Each writer holds an `fcntl` lock on its temporary for as long as it
    writes, and the kernel drops it when the writer dies: a temporary whose
    lock can be taken has no live writer. A concurrent writer's is kept.
    """
    import fcntl

    target = Path(target)
    removed = []
    for candidate in target.parent.glob(f".{target.name}.*.tmp"):
        try:
            fd = os.open(candidate, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live writer holds it
        else:
            if candidate.is_dir():  # an `atomic_folder` staging area
                import shutil

                shutil.rmtree(candidate, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    candidate.unlink()
            removed.append(candidate)
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yields a binary file handle whose content replaces `path` on success.

    Stale temporaries of `path` (from a killed writer) are removed first; a
    write that fails names `path` (e.g. "No space left on device").
    """
    import fcntl

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                    dir=target.parent)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "a live writer": see remove_stale_temporaries
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp creates 0600 files
            os.replace(tmp_name, target)
        except OSError as exc:
            if exc.filename is None and exc.errno is not None:
                # "No space left on device" alone does not say which file.
                raise OSError(exc.errno,
                              f"{exc.strerror} (writing {target})") from exc
            raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a path (not yet existing) to build a folder at; on success it
    replaces the folder `path`, swapped in with one `renameat2` exchange where
    Linux offers it (two renames elsewhere). A failure or kill before the swap
    leaves the previous folder; stale temporaries are removed first."""
    import fcntl
    import shutil

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    holder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent))
    fd = os.open(holder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "a live writer": see remove_stale_temporaries
    try:
        staging = holder / target.name
        yield staging
        if not staging.is_dir():
            raise FileNotFoundError(f"nothing was written for {target}")
        if target.exists():
            if not _exchange(staging, target):
                os.replace(target, holder / ".previous")
                os.replace(staging, target)
        else:
            os.replace(staging, target)
    finally:
        os.close(fd)
        shutil.rmtree(holder, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swaps two paths (Linux renameat2 RENAME_EXCHANGE)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b),
                     rename_exchange) == 0


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


class LockHeldError(RuntimeError):
    """Another live process holds the lock on what this run would write."""


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Holds an `fcntl` lock on `path` for the block; fails at once, naming the
    holder (pid, host, command, since when), if another process holds it.

    The kernel drops the lock when its holder dies (even by SIGKILL), so a
    killed run never leaves a stale lock behind; the file itself stays.
    """
    import fcntl
    import socket
    import sys
    import time

    lock_path = Path(path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip()
            raise LockHeldError(f"{what} is being written by another run "
                                f"({holder or 'unknown holder'}; lock {lock_path}): "
                                "wait for it to finish or stop it") from None
        since = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        info = (f"pid {os.getpid()} on {socket.gethostname()} since {since}: "
                f"{' '.join(sys.argv)[:300]}")
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
