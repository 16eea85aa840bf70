"""The array module, the default dtype and the random number generators.

Every array in gradkit lives in one array module: NumPy by default, CuPy when asked for with
``use("cupy")`` and installed. Floating-point data defaults to float32 (float64 on request, e.g.
for gradient checks). Randomness always flows from an explicit ``numpy.random.Generator``;
``manual_seed`` resets the global one that is used when a caller passes none.
"""
from __future__ import annotations

import numpy

xp = numpy  # the active array module
_default_dtype = numpy.dtype(numpy.float32)
_global_rng = numpy.random.default_rng(0)


def use(name: str) -> None:
    """Select the array module: ``"numpy"`` or ``"cupy"`` (needs the cupy package)."""
    global xp
    if name == "numpy":
        xp = numpy
    elif name == "cupy":
        try:
            import cupy
        except ImportError as err:  # pragma: no cover - depends on the machine
            raise RuntimeError("backend 'cupy' needs the cupy package: pip install cupy-cuda12x") from err
        xp = cupy
    else:
        raise ValueError(f"unknown backend {name!r}; expected 'numpy' or 'cupy'")


def get_array_module(array):
    """The module (numpy or cupy) that owns ``array``."""
    if type(array).__module__.startswith("cupy"):
        import cupy
        return cupy
    return numpy


def to_numpy(array) -> numpy.ndarray:
    """A NumPy copy of ``array`` (a no-op for NumPy arrays)."""
    if isinstance(array, numpy.ndarray):
        return array
    if hasattr(array, "get"):  # cupy
        return array.get()
    return numpy.asarray(array)


def get_default_dtype() -> numpy.dtype:
    """The dtype given to floating-point data created without an explicit dtype."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the default floating-point dtype: float32 or float64."""
    global _default_dtype
    dtype = numpy.dtype(dtype)
    if dtype not in (numpy.float32, numpy.float64):
        raise ValueError(f"default dtype must be float32 or float64, got {dtype}")
    _default_dtype = dtype


def manual_seed(seed: int) -> numpy.random.Generator:
    """Reset the global generator used when no rng is passed; returns it."""
    global _global_rng
    _global_rng = numpy.random.default_rng(seed)
    return _global_rng


def default_rng() -> numpy.random.Generator:
    """The global generator (seeded by ``manual_seed``; seed 0 at import)."""
    return _global_rng


def resolve_rng(rng=None) -> numpy.random.Generator:
    """Turn ``None`` (the global generator), an int seed or a Generator into a Generator."""
    if rng is None:
        return _global_rng
    if isinstance(rng, numpy.random.Generator):
        return rng
    if isinstance(rng, (int, numpy.integer)):
        return numpy.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")
