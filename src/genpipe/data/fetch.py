"""Find a dataset file: mirrors, then the local cache, then the canonical URLs.

Every candidate is verified by the sha256 of its *payload* (the decompressed
bytes for `.gz` files, since a mirror may re-compress) before it is used, and a
download is written to the cache atomically, after verification. When nothing
works, one error lists every place tried and why it failed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from http.client import HTTPException  # e.g. IncompleteRead mid-download
from pathlib import Path

from tqdm.auto import tqdm

from genpipe.data.idx import IdxFormatError, gunzip
from genpipe.io import atomic_write_bytes

logger = logging.getLogger(__name__)

MIRROR_ENV = "GENPIPE_DATA_MIRROR"


class DataSourceError(RuntimeError):
    """No location yielded a verified copy of a dataset file."""


class DataNotFoundError(DataSourceError):
    """The file is in none of the mirrors, not cached, and not downloadable."""


class DataIntegrityError(DataSourceError):
    """A copy was found but failed verification (checksum, gzip, format)."""


class ChecksumMismatchError(DataIntegrityError):
    """The payload's sha256 is not the pinned one."""


@dataclass(frozen=True)
class FetchedFile:
    """A verified dataset file: its decompressed payload and where it came from."""

    name: str
    payload: bytes
    sha256: str
    source: str


def mirror_dirs(configured: Sequence[str], subdir: str,
                environ: os._Environ | dict | None = None) -> list[Path]:
    """The mirror directories to search, `GENPIPE_DATA_MIRROR` taking precedence.

    Args:
        configured: Mirror roots from the parameters.
        subdir: The dataset's folder under each root (`mnist`, `cora`).
        environ: The environment (defaults to `os.environ`).

    Returns:
        `<root>/<subdir>` for each root in the `:`-separated env var, or, when it
        is unset or empty, for each configured root.
    """
    environ = os.environ if environ is None else environ
    from_env = [p for p in environ.get(MIRROR_ENV, "").split(os.pathsep) if p]
    return [Path(root).expanduser() / subdir for root in (from_env or configured)]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verify(blob: bytes, name: str, expected_sha256: str, where: str) -> bytes:
    payload = gunzip(blob, f"{where}/{name}") if name.endswith(".gz") else blob
    actual = sha256_hex(payload)
    if actual != expected_sha256:
        raise ChecksumMismatchError(
            f"{where}/{name}: sha256 of the payload is {actual}, "
            f"expected {expected_sha256}"
        )
    return payload


def _download(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        chunks = []
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                  leave=False, disable=total is not None and total < 1 << 20) as bar:
            while chunk := response.read(1 << 20):
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


def fetch_file(
    name: str,
    sha256: str,
    mirrors: Sequence[Path],
    cache_dir: Path,
    urls: Sequence[str],
    timeout: float = 30.0,
) -> FetchedFile:
    """Returns the verified payload of `name` from the first location that has it.

    Order: each mirror directory, then `cache_dir`, then each base URL (the
    download is verified, then written atomically into `cache_dir`). Mirrors are
    read in place and never written.

    Raises:
        DataIntegrityError: some copy existed but none verified.
        DataNotFoundError: no copy anywhere; the message says how to set
            `GENPIPE_DATA_MIRROR`.
    """
    attempts: list[str] = []
    corrupt = False
    for directory, kind in [*((m, "mirror") for m in mirrors), (cache_dir, "cache")]:
        path = Path(directory) / name
        if not path.is_file():
            attempts.append(f"{kind} {path}: not found")
            continue
        try:
            payload = _verify(path.read_bytes(), name, sha256, str(directory))
        except (IdxFormatError, ChecksumMismatchError) as err:
            corrupt = True
            attempts.append(f"{kind} {path}: {err}")
            logger.warning("Skipping %s copy of %s: %s", kind, name, err)
            continue
        return FetchedFile(name, payload, sha256, str(path))

    for base in urls:
        url = f"{base.rstrip('/')}/{name}"
        try:
            blob = _download(url, timeout)
            payload = _verify(blob, name, sha256, base.rstrip("/"))
        except (OSError, ValueError, HTTPException, DataIntegrityError) as err:
            corrupt |= isinstance(err, IdxFormatError | DataIntegrityError)
            attempts.append(f"download {url}: {err}")
            continue
        atomic_write_bytes(Path(cache_dir) / name, blob)
        logger.info("Downloaded %s into %s", url, cache_dir)
        return FetchedFile(name, payload, sha256, url)

    tried = "\n  ".join(attempts)
    if corrupt:
        raise DataIntegrityError(f"No valid copy of {name}. Tried:\n  {tried}")
    raise DataNotFoundError(
        f"{name} was found nowhere. Tried:\n  {tried}\n"
        f"Offline? Point {MIRROR_ENV} at a folder holding the canonical files, "
        f"e.g. `export {MIRROR_ENV}=/path/to/datasets` (several: `:`-separated); "
        "each dataset lives in its own subfolder (mnist/, cora/)."
    )
