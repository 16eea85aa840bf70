"""Checkpoints: nested state (model, optimiser, scheduler, rng states, counters) in a safe format.

A checkpoint is a safetensors file written by gradkit.serialization (the format of ``gradkit.save``):
every array under its own name, the rest of the structure as JSON in the metadata, never pickle.
Writing is atomic: a temporary file in the same folder, flushed and fsynced, then renamed over the
target, so a crash or a full disk leaves the previous checkpoint intact and no half-written file
behind. Checkpoints of gradkit 0.1 (``.npz`` files with a JSON ``__meta__`` entry) still load.
"""
from __future__ import annotations

import json
import os

import numpy

from .. import serialization
from ..errors import CheckpointError

FORMAT = "gradkit-checkpoint"
VERSION = 2            # 1: the .npz container of gradkit 0.1; 2: safetensors
_ZIP_MAGIC = b"PK\x03\x04"


def save(path, state: dict) -> str:
    """Write ``state`` to ``path`` atomically; returns the path."""
    path = os.fspath(path)
    structure, arrays = serialization.flatten(state)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return serialization.write_file(path, arrays, {"format": "pt", FORMAT: str(VERSION),
                                                   serialization.STRUCTURE_KEY: json.dumps(structure)})


def load(path) -> dict:
    """Read a checkpoint written by ``save`` (or a version-1 ``.npz`` one); arrays stay NumPy arrays.

    Raises:
        CheckpointError: naming the file and the problem (missing, damaged, not a checkpoint)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            magic = stream.read(4)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read: {err.strerror or err}") from None
    if magic == _ZIP_MAGIC:
        return _load_npz(path)
    arrays, metadata = serialization.read_file(path)
    version = metadata.get(FORMAT)
    if version is None:
        raise CheckpointError(f"{path}: a safetensors file but not a gradkit checkpoint (no {FORMAT!r} "
                              "entry in its metadata); load plain weights with gradkit.load")
    if not version.isdigit() or int(version) > VERSION:
        raise CheckpointError(f"{path}: written by a newer gradkit (format version {version!r} > {VERSION})")
    try:
        structure = json.loads(metadata.get(serialization.STRUCTURE_KEY, ""))
    except ValueError as err:
        raise CheckpointError(f"{path}: corrupt metadata ({err})") from None
    return serialization.unflatten(structure, arrays, path, tensors=False)


def _load_npz(path: str) -> dict:
    """A version-1 checkpoint: arrays in an ``.npz``, the structure as JSON bytes in ``__meta__``."""
    try:
        with numpy.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as err:  # zipfile.BadZipFile, ValueError (pickled content), OSError ...
        raise CheckpointError(f"{path}: not a readable gradkit checkpoint ({type(err).__name__}: {err})") from None
    if "__meta__" not in arrays:
        raise CheckpointError(f"{path}: not a gradkit checkpoint (no __meta__ entry)")
    try:
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: corrupt metadata ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {meta.get('format') if isinstance(meta, dict) else meta!r}, "
                              f"expected {FORMAT!r}")
    if not isinstance(meta.get("version", 0), int) or meta.get("version", 0) > 1:
        raise CheckpointError(f"{path}: written by a newer gradkit (format version {meta['version']!r} > 1)")
    if "state" not in meta:
        raise CheckpointError(f"{path}: corrupt metadata: no 'state' entry")
    return serialization.unflatten(meta["state"], arrays, path, tensors=False)


def _natural(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def validate_run_state(state, path) -> dict:
    """``state`` when it has what ``Trainer.load`` needs, each entry of the right type; else a
    CheckpointError naming the file and every problem."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a Trainer checkpoint (its content is a {type(state).__name__})")
    problems = [f"no {key!r} entry" for key in ("model", "optimizer", "epoch", "global_step", "batch", "rng")
                if key not in state]
    for key in ("epoch", "global_step", "batch"):
        if key in state and not _natural(state[key]):
            problems.append(f"{key!r} is {state[key]!r}, expected a whole number >= 0")
    for key in ("model", "optimizer", "rng"):
        if key in state and not isinstance(state[key], dict):
            problems.append(f"{key!r} is a {type(state[key]).__name__}, expected a dict")
    if isinstance(state.get("model"), dict):
        odd = [k for k, v in state["model"].items() if not isinstance(v, numpy.ndarray)]
        if odd:
            problems.append(f"model entries {odd[:5]} are not arrays")
    if isinstance(state.get("rng"), dict) and not {"global", "modules"} <= set(state["rng"]):
        problems.append("'rng' lacks 'global' or 'modules'")
    totals = state.get("epoch_totals", {"sums": {}, "seen": 0})
    if not (isinstance(totals, dict) and isinstance(totals.get("sums"), dict) and _natural(totals.get("seen"))):
        problems.append("'epoch_totals' must hold 'sums' (a dict) and 'seen' (a whole number)")
    if state.get("loader") is not None and not isinstance(state["loader"], dict):
        problems.append("'loader' must be a dict or null")
    if problems:
        raise CheckpointError(f"{path}: not a usable Trainer checkpoint: " + "; ".join(problems))
    return state


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
            a, b = numpy.asarray(_array(expected[k])), numpy.asarray(_array(found[k]))
            if a.shape != b.shape:
                problems.append(f"{k}: shape {b.shape} in the checkpoint, {a.shape} in the {what}")
            elif a.dtype != b.dtype:
                problems.append(f"{k}: dtype {b.dtype} in the checkpoint, {a.dtype} in the {what}")
    if problems:
        raise CheckpointError(f"checkpoint does not fit the {what}: " + "; ".join(problems))


def _array(value):
    """The NumPy array of a Tensor or array (state dicts may hold either)."""
    return value.data if hasattr(value, "requires_grad") and hasattr(value, "data") else value


def all_finite(state: dict) -> bool:
    """Whether every floating-point array of a name -> array/Tensor mapping is finite."""
    for value in state.values():
        array = numpy.asarray(_array(value))
        if array.dtype.kind in "fc" and not numpy.isfinite(array).all():
            return False
    return True
