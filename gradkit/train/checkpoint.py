"""Checkpoints: nested state (model, optimiser, scheduler, rng states, counters) in a safe format.

One ``.npz`` file written with NumPy (never pickle): every array under its own key, and the rest
of the structure as JSON in the key ``__meta__`` with arrays replaced by references. Writing is
atomic: a temporary file in the same folder, flushed and fsynced, then renamed over the target, so
a crash or a full disk leaves the previous checkpoint intact and no half-written file behind.
"""
from __future__ import annotations

import json
import os

import numpy

from ..data.atomic import atomic_write

FORMAT = "gradkit-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit what it is loaded into."""


def _split(obj, arrays: dict, path: str):
    """Replace arrays in a nested structure by {"__array__": key}; collect them in ``arrays``."""
    if hasattr(obj, "data") and hasattr(obj, "requires_grad"):  # a Tensor
        obj = obj.data
    if isinstance(obj, numpy.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, numpy.generic):
        return obj.item()
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, (str, int)):
                raise CheckpointError(f"cannot save key {k!r} at {path or 'top level'}: keys must be str or int")
        return {"__dict__": [[k, _split(v, arrays, f"{path}/{k}")] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_split(v, arrays, f"{path}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_split(v, arrays, f"{path}/{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise CheckpointError(f"cannot save a {type(obj).__name__} at {path or 'top level'}: "
                          "checkpoints hold arrays, numbers, strings, lists, tuples and dicts only")


def _join(obj, arrays):
    if isinstance(obj, dict):
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__dict__" in obj:
            return {k: _join(v, arrays) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(_join(v, arrays) for v in obj["__tuple__"])
    if isinstance(obj, list):
        return [_join(v, arrays) for v in obj]
    return obj


def save(path, state: dict) -> str:
    """Write ``state`` to ``path`` atomically; returns the path."""
    path = os.fspath(path)
    arrays: dict = {}
    meta = {"format": FORMAT, "version": VERSION, "state": _split(state, arrays, "")}
    arrays["__meta__"] = numpy.frombuffer(json.dumps(meta).encode(), dtype=numpy.uint8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path) as stream:
        numpy.savez(stream, **arrays)
    return path


def load(path) -> dict:
    """Read a checkpoint written by ``save``; raises CheckpointError naming the file and the problem."""
    path = os.fspath(path)
    try:
        with numpy.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as err:  # zipfile.BadZipFile, ValueError (pickled content), OSError ...
        raise CheckpointError(f"{path}: not a readable gradkit checkpoint ({type(err).__name__}: {err})") from None
    if "__meta__" not in arrays:
        raise CheckpointError(f"{path}: not a gradkit checkpoint (no __meta__ entry)")
    try:
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: corrupt metadata ({err})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: written by a newer gradkit (format version {meta['version']} > {VERSION})")
    missing = _references(meta["state"]) - arrays.keys()
    if missing:
        raise CheckpointError(f"{path}: truncated, arrays {sorted(missing)} are missing")
    return _join(meta["state"], arrays)


def _references(obj) -> set:
    if isinstance(obj, dict):
        if "__array__" in obj:
            return {obj["__array__"]}
        return set().union(*(_references(v) for v in obj.values())) if obj else set()
    if isinstance(obj, list):
        return set().union(*(_references(v) for v in obj)) if obj else set()
    return set()


def check_compatible(expected: dict, found: dict, what: str) -> None:
    """Compare two name -> array mappings; raise one CheckpointError naming every mismatch
    (missing and unexpected names, shapes, dtypes)."""
    problems = []
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected: {', '.join(unexpected)}")
    for k in expected:
        if k in found:
            a, b = numpy.asarray(expected[k]), numpy.asarray(found[k])
            if a.shape != b.shape:
                problems.append(f"{k}: shape {b.shape} in the checkpoint, {a.shape} in the {what}")
            elif a.dtype != b.dtype:
                problems.append(f"{k}: dtype {b.dtype} in the checkpoint, {a.dtype} in the {what}")
    if problems:
        raise CheckpointError(f"checkpoint does not fit the {what}: " + "; ".join(problems))
