"""IDX files (the MNIST format), read and written with numpy.

An IDX file is a big-endian header followed by a dense array::

    magic = 0x00 0x00 <dtype code> <ndim>,  then ndim uint32 sizes,  then data

(LeCun et al., http://yann.lecun.com/exdb/mnist/). MNIST uses dtype 0x08
(uint8): images have ndim 3 (magic 2051), labels ndim 1 (magic 2049).
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib

import numpy as np

# IDX type code -> numpy dtype (big-endian where it matters).
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}


class IdxFormatError(ValueError):
    """The bytes are not a well-formed IDX payload (or not valid gzip)."""


def parse_idx(payload: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parses a decompressed IDX payload into an array of its stated shape.

    Args:
        payload: The decompressed file content.
        name: Used in error messages only.

    Returns:
        The array in native byte order, shape from the header (a read-only
        view of `payload` for single-byte types, a copy otherwise).

    Raises:
        IdxFormatError: bad magic number, unknown type code, or a payload whose
            length does not match the header.
    """
    if len(payload) < 4:
        raise IdxFormatError(f"{name}: {len(payload)} bytes is too short for IDX")
    zero, code, ndim = struct.unpack(">HBB", payload[:4])
    if zero != 0 or code not in _DTYPES or ndim == 0:
        raise IdxFormatError(
            f"{name}: bad IDX magic number 0x{payload[:4].hex()} "
            "(expected 0x0000 <type code> <ndim>, e.g. 0x00000803 for images)"
        )
    header_len = 4 + 4 * ndim
    if len(payload) < header_len:
        raise IdxFormatError(f"{name}: truncated IDX header ({ndim} dimensions)")
    shape = struct.unpack(f">{ndim}I", payload[4:header_len])
    dtype = _DTYPES[code]
    expected = header_len + int(np.prod(shape)) * dtype.itemsize
    if len(payload) != expected:
        raise IdxFormatError(
            f"{name}: payload is {len(payload)} bytes, header {shape} needs {expected}"
        )
    data = np.frombuffer(payload, dtype=dtype, offset=header_len).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)


def encode_idx(array: np.ndarray) -> bytes:
    """Encodes an array as an (uncompressed) IDX payload; inverse of `parse_idx`."""
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise IdxFormatError(f"dtype {array.dtype} has no IDX type code")
    code = _CODES[native]
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=_DTYPES[code]).tobytes()


def gunzip(blob: bytes, name: str = "<bytes>") -> bytes:
    """Decompresses gzip bytes, reporting truncation and corruption as such."""
    try:
        return gzip.decompress(blob)
    except EOFError as err:
        raise IdxFormatError(f"{name}: truncated gzip stream ({err})") from err
    except (OSError, zlib.error) as err:
        raise IdxFormatError(f"{name}: not a valid gzip file ({err})") from err


def gzip_bytes(payload: bytes) -> bytes:
    """Gzips bytes reproducibly (no timestamp in the header)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
        handle.write(payload)
    return buffer.getvalue()
