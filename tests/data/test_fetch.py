from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from genpipe.data.fetch import (
    MIRROR_ENV,
    DataIntegrityError,
    DataNotFoundError,
    fetch_file,
    mirror_dirs,
)
from genpipe.data.idx import encode_idx, gzip_bytes

NAME = "train-labels-idx1-ubyte.gz"


def _payload(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return encode_idx(rng.integers(0, 10, size=64, dtype=np.uint8))


def _sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _put(directory: Path, blob: bytes, name: str = NAME) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(blob)
    return path


def _dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    return tmp_path / "mirror1", tmp_path / "mirror2", tmp_path / "cache"


def test_found_in_first_mirror(tmp_path: Path) -> None:
    m1, m2, cache = _dirs(tmp_path)
    payload = _payload()
    path = _put(m1, gzip_bytes(payload))
    _put(m2, gzip_bytes(payload))
    fetched = fetch_file(NAME, _sha(payload), [m1, m2], cache, urls=[])
    assert fetched.payload == payload
    assert fetched.sha256 == _sha(payload)
    assert fetched.name == NAME
    assert fetched.source == str(path)
    assert not cache.exists()


def test_missing_in_first_mirror_found_in_second(tmp_path: Path) -> None:
    m1, m2, cache = _dirs(tmp_path)
    m1.mkdir()
    payload = _payload()
    path = _put(m2, gzip_bytes(payload))
    fetched = fetch_file(NAME, _sha(payload), [m1, m2], cache, urls=[])
    assert fetched.payload == payload
    assert fetched.source == str(path)


def test_recompressed_mirror_copy_is_accepted(tmp_path: Path) -> None:
    import gzip

    m1, _, cache = _dirs(tmp_path)
    payload = _payload()
    _put(m1, gzip.compress(payload, compresslevel=1, mtime=12345))
    fetched = fetch_file(NAME, _sha(payload), [m1], cache, urls=[])
    assert fetched.payload == payload


def test_corrupt_mirror_falls_back_to_cache(tmp_path: Path) -> None:
    m1, _, cache = _dirs(tmp_path)
    payload = _payload()
    mirror_path = _put(m1, gzip_bytes(_payload(seed=1)))
    cache_path = _put(cache, gzip_bytes(payload))
    fetched = fetch_file(NAME, _sha(payload), [m1], cache, urls=[])
    assert fetched.payload == payload
    assert fetched.source == str(cache_path)
    assert mirror_path.read_bytes() == gzip_bytes(_payload(seed=1))


def test_checksum_mismatch_everywhere_raises_integrity_error(tmp_path: Path) -> None:
    m1, m2, cache = _dirs(tmp_path)
    expected, wrong = _payload(), _payload(seed=1)
    _put(m1, gzip_bytes(wrong))
    _put(m2, gzip_bytes(wrong))
    _put(cache, gzip_bytes(wrong))
    with pytest.raises(DataIntegrityError) as info:
        fetch_file(NAME, _sha(expected), [m1, m2], cache, urls=[])
    assert not isinstance(info.value, DataNotFoundError)
    message = str(info.value)
    assert NAME in message
    assert _sha(expected) in message
    assert _sha(wrong) in message


def test_truncated_gzip_in_mirror_raises_integrity_error(tmp_path: Path) -> None:
    m1, _, cache = _dirs(tmp_path)
    payload = _payload()
    blob = gzip_bytes(payload)
    _put(m1, blob[: len(blob) // 2])
    with pytest.raises(DataIntegrityError, match="truncated"):
        fetch_file(NAME, _sha(payload), [m1], cache, urls=[])


def test_nothing_anywhere_raises_not_found_listing_every_place(tmp_path: Path) -> None:
    m1, m2, cache = _dirs(tmp_path)
    m1.mkdir()
    urls = [(tmp_path / "remote1").as_uri(), (tmp_path / "remote2").as_uri() + "/"]
    with pytest.raises(DataNotFoundError) as info:
        fetch_file(NAME, _sha(_payload()), [m1, m2], cache, urls=urls)
    message = str(info.value)
    assert NAME in message
    assert str(m1 / NAME) in message
    assert str(m2 / NAME) in message
    assert str(cache / NAME) in message
    assert f"{(tmp_path / 'remote1').as_uri()}/{NAME}" in message
    assert f"{(tmp_path / 'remote2').as_uri()}/{NAME}" in message
    assert MIRROR_ENV in message


def _cache_contents(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_download_is_verified_and_written_to_cache(tmp_path: Path) -> None:
    m1, _, cache = _dirs(tmp_path)
    payload = _payload()
    blob = gzip_bytes(payload)
    _put(tmp_path / "remote", blob)
    url_base = (tmp_path / "remote").as_uri()
    fetched = fetch_file(NAME, _sha(payload), [m1], cache, urls=[url_base])
    assert fetched.payload == payload
    assert fetched.source == f"{url_base}/{NAME}"
    assert (cache / NAME).read_bytes() == blob
    assert _cache_contents(cache) == [NAME]
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*"))


def test_download_after_failed_url_uses_next_url(tmp_path: Path) -> None:
    _, _, cache = _dirs(tmp_path)
    payload = _payload()
    _put(tmp_path / "remote", gzip_bytes(payload))
    urls = [(tmp_path / "missing").as_uri(), (tmp_path / "remote").as_uri()]
    fetched = fetch_file(NAME, _sha(payload), [], cache, urls=urls)
    assert fetched.payload == payload
    assert (cache / NAME).is_file()


def test_cached_download_is_used_next_time(tmp_path: Path) -> None:
    _, _, cache = _dirs(tmp_path)
    payload = _payload()
    remote = _put(tmp_path / "remote", gzip_bytes(payload))
    url_base = (tmp_path / "remote").as_uri()
    fetch_file(NAME, _sha(payload), [], cache, urls=[url_base])
    remote.unlink()
    fetched = fetch_file(NAME, _sha(payload), [], cache, urls=[url_base])
    assert fetched.source == str(cache / NAME)


def test_download_failing_checksum_is_not_cached(tmp_path: Path) -> None:
    m1, _, cache = _dirs(tmp_path)
    expected, wrong = _payload(), _payload(seed=1)
    _put(tmp_path / "remote", gzip_bytes(wrong))
    url_base = (tmp_path / "remote").as_uri()
    with pytest.raises(DataIntegrityError) as info:
        fetch_file(NAME, _sha(expected), [m1], cache, urls=[url_base])
    assert _sha(wrong) in str(info.value)
    assert not (cache / NAME).exists()
    assert _cache_contents(cache) == []


def test_truncated_download_is_not_cached(tmp_path: Path) -> None:
    _, _, cache = _dirs(tmp_path)
    payload = _payload()
    blob = gzip_bytes(payload)
    _put(tmp_path / "remote", blob[:-10])
    url_base = (tmp_path / "remote").as_uri()
    with pytest.raises(DataIntegrityError, match="truncated"):
        fetch_file(NAME, _sha(payload), [], cache, urls=[url_base])
    assert _cache_contents(cache) == []


def test_uncompressed_file_is_verified_on_its_raw_bytes(tmp_path: Path) -> None:
    m1, _, cache = _dirs(tmp_path)
    raw = b"plain bytes of ind.cora.x"
    _put(m1, raw, name="ind.cora.x")
    fetched = fetch_file("ind.cora.x", _sha(raw), [m1], cache, urls=[])
    assert fetched.payload == raw


@pytest.mark.parametrize("environ", [{}, {MIRROR_ENV: ""}])
def test_mirror_dirs_uses_configured_without_env(environ: dict[str, str]) -> None:
    dirs = mirror_dirs(["/data/a", "/data/b"], "mnist", environ=environ)
    assert dirs == [Path("/data/a/mnist"), Path("/data/b/mnist")]


def test_mirror_dirs_env_replaces_configured() -> None:
    environ = {MIRROR_ENV: "/env/one:/env/two"}
    dirs = mirror_dirs(["/data/a"], "cora", environ=environ)
    assert dirs == [Path("/env/one/cora"), Path("/env/two/cora")]


def test_mirror_dirs_ignores_empty_env_entries() -> None:
    dirs = mirror_dirs(["/data/a"], "cora", environ={MIRROR_ENV: ":/env/one:"})
    assert dirs == [Path("/env/one/cora")]


def test_mirror_dirs_reads_os_environ_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(MIRROR_ENV, "/from/os")
    assert mirror_dirs(["/data/a"], "mnist") == [Path("/from/os/mnist")]
