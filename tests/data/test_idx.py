from __future__ import annotations

import struct

import numpy as np
import pytest

from genpipe.data.idx import IdxFormatError, encode_idx, gunzip, gzip_bytes, parse_idx


def _images(n: int = 5) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def test_round_trip_uint8_3d() -> None:
    array = _images()
    payload = encode_idx(array)
    assert payload[:4] == b"\x00\x00\x08\x03"
    parsed = parse_idx(payload)
    assert parsed.dtype == np.uint8
    assert parsed.shape == (5, 28, 28)
    np.testing.assert_array_equal(parsed, array)


def test_round_trip_uint8_1d() -> None:
    labels = np.arange(10, dtype=np.uint8)
    payload = encode_idx(labels)
    assert struct.unpack(">I", payload[:4])[0] == 2049
    parsed = parse_idx(payload)
    assert parsed.shape == (10,)
    np.testing.assert_array_equal(parsed, labels)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.int32])
def test_round_trip_multibyte_dtypes_in_native_order(dtype: type) -> None:
    array = (np.arange(24, dtype=np.float64).reshape(2, 3, 4) * 1.5 - 7).astype(dtype)
    parsed = parse_idx(encode_idx(array))
    assert parsed.dtype == np.dtype(dtype)
    assert parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)


def test_encode_writes_big_endian_data() -> None:
    payload = encode_idx(np.array([1.0], dtype=np.float32))
    assert payload[8:] == struct.pack(">f", 1.0)


def test_encode_rejects_dtype_without_type_code() -> None:
    with pytest.raises(IdxFormatError):
        encode_idx(np.zeros(3, dtype=np.uint16))


@pytest.mark.parametrize(
    "header",
    [
        b"\x01\x00\x08\x01",  # first two bytes nonzero
        b"\x00\x01\x08\x01",
        b"\x00\x00\x07\x01",  # unknown type code
        b"\x00\x00\x08\x00",  # zero dimensions
    ],
)
def test_bad_magic_number_is_rejected(header: bytes) -> None:
    payload = header + struct.pack(">I", 3) + b"\x01\x02\x03"
    with pytest.raises(IdxFormatError, match="magic"):
        parse_idx(payload, "file.idx")


def test_error_names_the_file() -> None:
    with pytest.raises(IdxFormatError, match="my-file.idx"):
        parse_idx(b"\xff\xff\x08\x01\x00\x00\x00\x01\x00", "my-file.idx")


def test_too_short_payload_is_rejected() -> None:
    with pytest.raises(IdxFormatError):
        parse_idx(b"\x00\x00")


def test_truncated_header_is_rejected() -> None:
    payload = encode_idx(_images(2))
    with pytest.raises(IdxFormatError):
        parse_idx(payload[:10])


def test_truncated_data_is_rejected() -> None:
    payload = encode_idx(_images(2))
    with pytest.raises(IdxFormatError, match=str(len(payload) - 1)):
        parse_idx(payload[:-1])


def test_trailing_data_is_rejected() -> None:
    payload = encode_idx(_images(2))
    with pytest.raises(IdxFormatError):
        parse_idx(payload + b"\x00")


def test_gunzip_truncated_stream_reports_truncation() -> None:
    blob = gzip_bytes(encode_idx(_images(3)))
    with pytest.raises(IdxFormatError, match="truncated"):
        gunzip(blob[: len(blob) // 2], "x.gz")


def test_gunzip_garbage_is_rejected() -> None:
    with pytest.raises(IdxFormatError, match="not a valid gzip"):
        gunzip(b"this is definitely not gzip data", "x.gz")


def test_gunzip_corrupt_deflate_data_is_rejected() -> None:
    blob = bytearray(gzip_bytes(bytes(range(256)) * 40))
    blob[20:40] = b"\xff" * 20
    with pytest.raises(IdxFormatError):
        gunzip(bytes(blob))


def test_gzip_bytes_is_deterministic_and_inverted_by_gunzip() -> None:
    payload = encode_idx(_images(4))
    first, second = gzip_bytes(payload), gzip_bytes(payload)
    assert first == second
    assert first != payload
    assert gunzip(first) == payload
