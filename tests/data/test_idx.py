"""IDX reader and writer: round trips, and every kind of corrupt file raises a DataError naming it."""
from __future__ import annotations

import gzip
import struct

import numpy
import pytest
from hypothesis import given, settings, strategies as st

from gradkit.data import DataError, read_idx, write_idx
from gradkit.data.atomic import atomic_write
from gradkit.data.idx import encode_idx

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]


@settings(max_examples=25, deadline=None)
@given(dtype=st.sampled_from(DTYPES), shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
       gz=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_round_trip(tmp_path_factory, dtype, shape, gz, seed):
    array = (numpy.random.default_rng(seed).standard_normal(shape) * 100).astype(dtype)
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz
    back = read_idx(path, shape=tuple(shape))
    assert back.dtype == numpy.dtype(dtype) and back.dtype.isnative
    numpy.testing.assert_array_equal(back, array)
    back[...] = 0  # the array is writable


def test_header_layout_and_deterministic_gzip(tmp_path):
    array = numpy.arange(6, dtype=numpy.int16).reshape(2, 3)
    data = encode_idx(array)
    assert data[:4] == b"\x00\x00\x0b\x02" and struct.unpack(">II", data[4:12]) == (2, 3)
    assert data[12:] == array.astype(">i2").tobytes()  # big-endian payload
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_writer_refuses_unsupported_dtypes(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "x", numpy.zeros(3, numpy.int64))
    assert list(tmp_path.iterdir()) == []


def _write(path, data: bytes, gz: bool = False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_bad_magic(tmp_path, gz):
    path = _write(tmp_path / "bad.idx", b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00", gz)
    with pytest.raises(DataError, match=r"bad\.idx: bad magic number 0x12340801"):
        read_idx(path)


def test_unknown_type_code(tmp_path):
    path = _write(tmp_path / "code.idx", b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError, match=r"code\.idx: bad magic number"):
        read_idx(path)


def test_zero_dimensions(tmp_path):
    path = _write(tmp_path / "ndim0.idx", b"\x00\x00\x08\x00")
    with pytest.raises(DataError, match=r"ndim0\.idx: .*ndim is 0"):
        read_idx(path)


def test_wrong_ndim_for_the_data_set(tmp_path):
    path = write_idx(tmp_path / "labels.gz", numpy.zeros(10, numpy.uint8))
    with pytest.raises(DataError, match=r"labels\.gz: wrong shape: expected 3 dimensions \*x28x28, found 1 dimensions 10"):
        read_idx(path, shape=(None, 28, 28))


def test_truncated_header(tmp_path):
    path = _write(tmp_path / "head.idx", b"\x00\x00\x08\x03" + struct.pack(">I", 10))
    with pytest.raises(DataError, match=r"head\.idx: truncated: header of 3 dimensions needs 16 bytes, found 8"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_payload(tmp_path, gz):
    path = _write(tmp_path / "short.idx", b"\x00\x00\x08\x03" + struct.pack(">III", 10000, 28, 28) + bytes(123), gz)
    with pytest.raises(DataError, match=r"short\.idx: truncated: header says 10000x28x28 = 7840000 bytes of uint8, "
                                        r"found 123"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = _write(tmp_path / "long.idx", encode_idx(numpy.zeros(4, numpy.uint8)) + b"\x00")
    with pytest.raises(DataError, match=r"long\.idx: trailing bytes: header says 4 = 4 bytes of uint8, found 5"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    whole = gzip.compress(encode_idx(numpy.arange(5000, dtype=numpy.int32)))
    path = _write(tmp_path / "cut.gz", whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"cut\.gz: truncated gzip stream"):
        read_idx(path)


@pytest.mark.parametrize("garbage", [b"\x1f\x8b" + bytes(range(200)), "flipped"])
def test_garbage_gzip(tmp_path, garbage):
    if garbage == "flipped":  # valid header, corrupted deflate data or CRC
        data = bytearray(gzip.compress(encode_idx(numpy.arange(5000, dtype=numpy.int32))))
        data[len(data) // 2] ^= 0xFF
        garbage = bytes(data)
    path = _write(tmp_path / "junk.gz", garbage)
    with pytest.raises(DataError, match=r"junk\.gz: (corrupt gzip|truncated gzip)"):
        read_idx(path)


def test_missing_file_and_error_type(tmp_path):
    with pytest.raises(DataError, match=r"nothere\.gz: cannot read") as info:
        read_idx(tmp_path / "nothere.gz")
    assert isinstance(info.value, ValueError)


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "weights.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as stream:
            stream.write(b"half of the new")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]
    with atomic_write(target) as stream:
        stream.write(b"new")
    assert target.read_bytes() == b"new" and len(list(tmp_path.iterdir())) == 1
