"""``gradkit.save`` / ``gradkit.load``: tensors and nested state in a safetensors file, never pickle.

The file is the safetensors format, written here with NumPy::

    8 bytes     N, the header's length, unsigned little-endian
    N bytes     JSON: {name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
                       "__metadata__": {str: str}}     (padded with spaces to a multiple of 8)
    the rest    every tensor's bytes, little-endian, C order, offsets counted from here

Tensors (and NumPy arrays) are stored under their names; everything else (dicts, lists, tuples,
numbers, strings, None) is JSON in ``__metadata__["gradkit"]`` with references to the tensors. A
flat state dict keeps its own key names, so ``safetensors.torch.load_file`` reads a gradkit file and
``gradkit.load`` reads one written by ``safetensors.torch.save_file`` (a dict of name -> Tensor).
The content is the same whatever the file's name: ``model.pt`` is a safetensors file too.
Reading checks everything before trusting it (header length, JSON, dtypes, shapes against byte
counts, offsets inside the file, no overlaps, no holes) and names the file in every error.
"""
from __future__ import annotations

import json
import math
import os
import struct

import numpy

from .errors import CheckpointError

DTYPES = {"F64": numpy.float64, "F32": numpy.float32, "F16": numpy.float16, "I64": numpy.int64,
          "I32": numpy.int32, "I16": numpy.int16, "I8": numpy.int8, "U64": numpy.uint64, "U32": numpy.uint32,
          "U16": numpy.uint16, "U8": numpy.uint8, "BOOL": numpy.bool_}
_CODES = {numpy.dtype(t): code for code, t in DTYPES.items()}
MAX_HEADER = 100 * 2 ** 20   # the reference implementation's limit
STRUCTURE_KEY = "gradkit"    # the __metadata__ entry holding the nested structure


# ---------------------------------------------------------------------- the container: arrays + str metadata
def encode(arrays: dict, metadata: dict | None = None) -> bytes:
    """The safetensors bytes of ``arrays`` (name -> ndarray) and ``metadata`` (str -> str)."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, array in arrays.items():
        array = numpy.asarray(array)
        code = _CODES.get(array.dtype.newbyteorder("="))
        if code is None:
            raise CheckpointError(f"cannot save {name!r}: dtype {array.dtype} has no safetensors code "
                                  f"(supported: {', '.join(str(numpy.dtype(t)) for t in DTYPES.values())})")
        raw = numpy.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)   # the tensors start 8-byte aligned
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def decode(data: bytes, source="<bytes>") -> tuple[dict, dict]:
    """``(arrays, metadata)`` from safetensors bytes; CheckpointError naming ``source`` when malformed."""
    def bad(why):
        return CheckpointError(f"{source}: not a valid safetensors file: {why}")
    if len(data) < 8:
        raise bad(f"{len(data)} bytes, the file starts with an 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or n > len(data) - 8:
        raise bad(f"header length {n} exceeds the file ({len(data) - 8} bytes after the length)"
                  if n <= MAX_HEADER else f"header length {n} exceeds the limit of {MAX_HEADER} bytes")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as err:
        raise bad(f"the header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise bad(f"the header is a JSON {type(header).__name__}, expected an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad("__metadata__ must map strings to strings")
    buffer = memoryview(data)[8 + n:]
    spans, arrays = [], {}
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"entry {name!r} must have exactly dtype, shape and data_offsets")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if code not in DTYPES:
            raise bad(f"{name!r} has dtype {code!r}; gradkit reads {', '.join(DTYPES)}"
                      + (" (BF16 has no NumPy dtype: convert it to F32 first)" if code == "BF16" else ""))
        if not (isinstance(shape, list) and all(_count(s) for s in shape)):
            raise bad(f"{name!r} has shape {shape!r}, expected a list of non-negative integers")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_count(o) for o in offsets)
                and offsets[0] <= offsets[1] <= len(buffer)):
            raise bad(f"{name!r} has data_offsets {offsets!r}, outside the {len(buffer)} bytes of data")
        dtype = numpy.dtype(DTYPES[code]).newbyteorder("<")
        size = math.prod(shape) * dtype.itemsize
        if offsets[1] - offsets[0] != size:
            raise bad(f"{name!r}: shape {shape} of {code} needs {size} bytes, its offsets span {offsets[1] - offsets[0]}")
        spans.append((offsets[0], offsets[1], name))
        arrays[name] = numpy.frombuffer(buffer[offsets[0]:offsets[1]], dtype=dtype).reshape(shape)
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            raise bad(f"{name!r} starts at byte {begin}, " + ("inside the previous tensor" if begin < end
                                                               else f"leaving bytes {end}..{begin} unused"))
        end = stop
    if end != len(buffer):
        raise bad(f"{len(buffer) - end} trailing bytes after the last tensor")
    order = sorted(arrays, key=lambda k: header[k]["data_offsets"])
    return {k: arrays[k].astype(arrays[k].dtype.newbyteorder("=")) for k in order}, metadata


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def write_file(path, arrays: dict, metadata: dict | None = None) -> str:
    """Write a safetensors file atomically (temporary file, fsync, rename); returns the path."""
    from .data.atomic import atomic_write
    path = os.fspath(path)
    data = encode(arrays, metadata)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CheckpointError(f"{path}: cannot write: the folder {folder} does not exist")
    with atomic_write(path) as stream:
        stream.write(data)
    return path


def read_file(path) -> tuple[dict, dict]:
    """``(arrays, metadata)`` of a safetensors file; CheckpointError naming the file when it is not one."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read: {err.strerror or err}") from None
    return decode(data, path)


# ---------------------------------------------------------------------- nested structures
def flatten(obj) -> tuple[object, dict]:
    """``(structure, arrays)``: arrays and Tensors replaced by ``{"__array__"|"__tensor__": name}``.

    Names follow the path of keys joined by dots (a top-level key keeps its own name)."""
    arrays: dict = {}

    def name_for(path):
        name = ".".join(path) or "tensor"
        unique, i = name, 1
        while unique in arrays:
            unique, i = f"{name}#{i}", i + 1
        return unique

    def walk(value, path):
        kind = "__array__"
        if hasattr(value, "requires_grad") and hasattr(value, "data"):    # a gradkit Tensor
            kind, value = "__tensor__", numpy.asarray(value.data)
        if isinstance(value, numpy.ndarray):
            name = name_for(path)
            arrays[name] = value
            return {kind: name}
        if isinstance(value, numpy.generic):
            return value.item()
        if isinstance(value, dict):
            for k in value:
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise CheckpointError(f"cannot save key {k!r} at {'/'.join(path) or 'top level'}: "
                                          "keys must be str or int")
            return {"__dict__": [[k, walk(v, path + [str(k)])] for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            items = [walk(v, path + [str(i)]) for i, v in enumerate(value)]
            return {"__tuple__": items} if isinstance(value, tuple) else items
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise CheckpointError(f"cannot save a {type(value).__name__} at /{'/'.join(path)}: gradkit.save stores "
                              "tensors, arrays, numbers, strings, None, lists, tuples and dicts (never pickle)")
    return walk(obj, []), arrays


def unflatten(structure, arrays: dict, source="<bytes>", tensors: bool = True):
    """Inverse of :func:`flatten`; ``tensors=False`` gives arrays where Tensors were saved."""
    from .autograd.tensor import Tensor

    def walk(value):
        if isinstance(value, dict):
            if len(value) == 1 and ("__array__" in value or "__tensor__" in value):
                kind, name = next(iter(value.items()))
                if name not in arrays:
                    raise CheckpointError(f"{source}: the structure refers to tensor {name!r}, which the file lacks")
                return Tensor(arrays[name]) if kind == "__tensor__" and tensors else arrays[name]
            if "__dict__" in value and isinstance(value["__dict__"], list):
                items = value["__dict__"]
                if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int)) for p in items):
                    raise CheckpointError(f"{source}: corrupt structure: a dict entry is not a [key, value] pair")
                return {k: walk(v) for k, v in items}
            if "__tuple__" in value and isinstance(value["__tuple__"], list):
                return tuple(walk(v) for v in value["__tuple__"])
            raise CheckpointError(f"{source}: corrupt structure: unknown object with keys {sorted(value)[:5]}")
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value
    return walk(structure)


def save(obj, path) -> str:
    """Save tensors, a state dict or nested dicts/lists/tuples of tensors, numbers and strings.

    ``gradkit.save(model.state_dict(), "model.pt")`` writes a safetensors file (whatever the suffix),
    atomically. Returns the path."""
    structure, arrays = flatten(obj)
    return write_file(path, arrays, {"format": "pt", STRUCTURE_KEY: json.dumps(structure)})


def load(path, tensors: bool = True):
    """Read what :func:`save` wrote, or any safetensors file (a dict of name -> Tensor).

    Raises:
        CheckpointError: naming the file, when it is missing, not safetensors, or corrupt."""
    path = os.fspath(path)
    arrays, metadata = read_file(path)
    if STRUCTURE_KEY not in metadata:   # written by another program: the tensors by name
        return unflatten({"__dict__": [[k, {"__tensor__": k}] for k in arrays]}, arrays, path, tensors)
    try:
        structure = json.loads(metadata[STRUCTURE_KEY])
    except ValueError as err:
        raise CheckpointError(f"{path}: corrupt gradkit structure in the metadata ({err})") from None
    return unflatten(structure, arrays, path, tensors)


__all__ = ["save", "load", "encode", "decode", "read_file", "write_file", "flatten", "unflatten", "DTYPES"]
