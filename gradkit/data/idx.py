"""The IDX file format of MNIST: read (raw or gzip) with full validation, write (raw or gzip).

An IDX file is a big-endian header followed by the raw values in C order::

    magic   = 0x00 0x00 <type code> <ndim>          (4 bytes)
    dims    = ndim unsigned 32-bit sizes             (4 * ndim bytes)
    payload = prod(dims) values of the given type    (big-endian)

Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
(Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of handwritten digits", the format note
at http://yann.lecun.com/exdb/mnist/). Files are plain data: nothing here ever unpickles.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import math
import struct
import zlib
from pathlib import Path

import numpy

from .atomic import atomic_write

GZIP_MAGIC = b"\x1f\x8b"

# type code -> big-endian dtype of the payload
IDX_TYPES = {
    0x08: numpy.dtype("u1"),
    0x09: numpy.dtype("i1"),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}


from ..errors import DataError  # noqa: E402  (re-exported: gradkit.data.DataError)


def decompress(raw: bytes, source="<bytes>") -> bytes:
    """The IDX bytes of ``raw``: gunzipped when it starts with the gzip magic, else ``raw`` itself.

    Raises:
        DataError: naming ``source``, when the gzip stream is truncated or corrupt.
    """
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(f"{source}: truncated gzip stream ({len(raw)} compressed bytes end before the "
                        "end-of-stream marker); delete the file and download it again") from None
    except (OSError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{source}: corrupt gzip data ({err}); delete the file and download it again") from None


def parse_idx(data: bytes, source="<bytes>") -> numpy.ndarray:
    """Decode the IDX bytes ``data`` (already decompressed) into a native-endian array.

    Checks the magic number (two zero bytes, a known type code, ndim >= 1), that the header is
    complete and that the payload length is exactly ``prod(dims) * itemsize``.

    Raises:
        DataError: naming ``source`` and what is wrong.
    """
    if len(data) < 4:
        raise DataError(f"{source}: truncated: {len(data)} bytes, an IDX file starts with a 4-byte magic number")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in IDX_TYPES:
        raise DataError(f"{source}: bad magic number 0x{data[:4].hex()}: expected 0x0000 followed by a type code "
                        f"({', '.join(f'0x{c:02X}' for c in IDX_TYPES)}) and the number of dimensions; "
                        "not an IDX file")
    if ndim == 0:
        raise DataError(f"{source}: bad magic number 0x{data[:4].hex()}: ndim is 0, expected at least 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: truncated: header of {ndim} dimensions needs {header} bytes, found {len(data)}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[code]
    expected = math.prod(dims) * dtype.itemsize  # Python ints: huge dimensions cannot overflow
    found = len(data) - header
    if found != expected:
        what = "truncated" if found < expected else "trailing bytes"
        raise DataError(f"{source}: {what}: header says {'x'.join(map(str, dims))} = {expected} bytes "
                        f"of {dtype.newbyteorder('=').name}, found {found}")
    try:  # an empty payload with other huge dimensions exceeds what NumPy can index
        array = numpy.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    except ValueError as err:
        raise DataError(f"{source}: header says {'x'.join(map(str, dims))}, a shape NumPy cannot hold ({err})") from None
    return array.astype(dtype.newbyteorder("="))  # a writable native-endian copy


def check_shape(array: numpy.ndarray, shape, source="<bytes>") -> numpy.ndarray:
    """``array`` when its shape matches ``shape`` (``None`` entries match any size), else DataError."""
    if shape is not None and (array.ndim != len(shape)
                              or any(want is not None and want != got for want, got in zip(shape, array.shape))):
        expected = "x".join("*" if s is None else str(s) for s in shape)
        raise DataError(f"{source}: wrong shape: expected {len(shape)} dimensions {expected}, "
                        f"found {array.ndim} dimensions {'x'.join(map(str, array.shape))}")
    return array


def read_idx(path, shape=None) -> numpy.ndarray:
    """Read an IDX file, gzip-compressed (detected by its magic bytes, not its name) or raw.

    Args:
        path: the file.
        shape: optional expected shape; ``None`` entries match any size.

    Raises:
        DataError: naming the file, when it is unreadable, truncated, corrupt or of the wrong shape.

    Example:
        >>> images = read_idx("train-images-idx3-ubyte.gz", shape=(None, 28, 28))  # doctest: +SKIP
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
    return check_shape(parse_idx(decompress(raw, path), path), shape, path)


def encode_idx(array) -> bytes:
    """The IDX bytes (header and big-endian payload) of ``array``."""
    array = numpy.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"encode_idx: IDX stores uint8, int8, int16, int32, float32 or float64, got {array.dtype}")
    if not 1 <= array.ndim <= 255 or any(size >= 2 ** 32 for size in array.shape):
        raise ValueError(f"encode_idx: IDX needs 1 to 255 dimensions each below 2**32, got shape {array.shape}")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + numpy.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()


def write_idx(path, array, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file, atomically (a temporary file, fsync, rename).

    Args:
        path: destination; gzip-compressed when ``compress`` is True, or when it is None and the
            name ends with ``.gz``. The gzip header carries no time stamp, so equal arrays give equal files.
        array: uint8, int8, int16, int32, float32 or float64 values.
    """
    path = Path(path)
    data = encode_idx(array)
    if compress if compress is not None else path.suffix == ".gz":
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as stream:
            stream.write(data)
        data = buffer.getvalue()
    with atomic_write(path) as stream:
        stream.write(data)
    return path


def sha256_hex(data: bytes) -> str:
    """The hex sha256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


__all__ = ["DataError", "IDX_TYPES", "decompress", "parse_idx", "check_shape", "read_idx", "encode_idx",
           "write_idx", "sha256_hex"]
