"""Property-based: any bytes given to the IDX reader or the checkpoint reader give a valid result or
gradkit's own clear error naming the file, never another exception."""
import struct

import numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradkit as gk
from gradkit.data import idx
from gradkit.errors import CheckpointError, DataError
from gradkit.serialization import decode, encode
from gradkit.train import checkpoint as ckpt

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _idx_headers():
    """Bytes that start like an IDX file (so the search reaches the size checks), then anything."""
    return st.builds(lambda code, dims, rest: struct.pack(f">HBB{len(dims)}I", 0, code, len(dims), *dims) + rest,
                     st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07]),
                     st.lists(st.one_of(st.integers(0, 4), st.integers(0, 2 ** 32 - 1)), min_size=0, max_size=6),
                     st.binary(max_size=64))


@SETTINGS
@given(st.one_of(st.binary(max_size=200), _idx_headers()))
def test_idx_reader_gives_an_array_or_a_data_error(data):
    try:
        array = idx.parse_idx(data, "fuzz.idx")
    except DataError as err:
        assert "fuzz.idx" in str(err)
    else:
        assert isinstance(array, numpy.ndarray) and array.ndim == data[3]


@SETTINGS
@given(st.binary(max_size=200))
def test_gzip_layer_gives_bytes_or_a_data_error(tail):
    try:
        idx.decompress(b"\x1f\x8b" + tail, "fuzz.gz")
    except DataError as err:
        assert "fuzz.gz" in str(err)


def _headers():
    """Safetensors-shaped bytes: a JSON header of plausible entries, then a payload of any length."""
    entry = st.fixed_dictionaries({"dtype": st.sampled_from(["F32", "F64", "U8", "I64", "BOOL", "BF16", "X"]),
                                   "shape": st.lists(st.integers(-1, 4), max_size=3),
                                   "data_offsets": st.lists(st.integers(-1, 40), min_size=1, max_size=3)})
    header = st.dictionaries(st.sampled_from(["a", "b", "__metadata__"]), entry, max_size=3)
    return st.builds(lambda h, payload: encode({}) if h is None else
                     struct.pack("<Q", len(__import__("json").dumps(h))) + __import__("json").dumps(h).encode() + payload,
                     header, st.binary(max_size=48))


@SETTINGS
@given(st.one_of(st.binary(max_size=200), _headers()))
def test_safetensors_decoder_gives_arrays_or_a_checkpoint_error(data):
    try:
        arrays, metadata = decode(data, "fuzz.safetensors")
    except CheckpointError as err:
        assert "fuzz.safetensors" in str(err)
    else:
        assert all(isinstance(a, numpy.ndarray) for a in arrays.values()) and isinstance(metadata, dict)


def _valid_checkpoint() -> bytes:
    model = gk.nn.Sequential(gk.nn.Linear(3, 2, rng=0))
    trainer = gk.train.Trainer(model, gk.optim.Adam(model.parameters()), rng=0)
    structure, arrays = gk.serialization.flatten(trainer.state_dict())
    return encode(arrays, {"gradkit-checkpoint": "2", "gradkit": __import__("json").dumps(structure)})


VALID = _valid_checkpoint()
HEADER_END = 8 + struct.unpack("<Q", VALID[:8])[0]
# most changes land in the header (the JSON structure), where a damaged value is hardest to catch
POSITION = st.one_of(st.integers(8, HEADER_END - 1), st.integers(8, HEADER_END - 1), st.integers(0, len(VALID) - 1))
CHARACTER = st.one_of(st.sampled_from(b'0123456789{}[]",:-.e nulltrue'), st.integers(0, 255))


@SETTINGS
@given(st.lists(st.tuples(POSITION, CHARACTER), min_size=1, max_size=4),
       st.one_of(st.just(len(VALID)), st.integers(0, len(VALID))))
def test_a_damaged_checkpoint_loads_or_gives_a_checkpoint_error(tmp_path_factory, flips, cut):
    data = bytearray(VALID)
    for position, value in flips:
        data[position] = value
    path = tmp_path_factory.mktemp("fuzz") / "last.safetensors"
    path.write_bytes(bytes(data[:cut]))
    model = gk.nn.Sequential(gk.nn.Linear(3, 2, rng=0))
    trainer = gk.train.Trainer(model, gk.optim.Adam(model.parameters()), rng=0)
    try:
        trainer.load(path)
    except CheckpointError as err:
        assert "last.safetensors" in str(err)
