"""Functions that make Tensors: from data, filled, ranges, random (always from an explicit rng)."""
from __future__ import annotations

from . import backend
from .autograd.tensor import Tensor


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _float(dtype):
    return backend.get_default_dtype() if dtype is None else dtype


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new Tensor holding a copy of ``data`` (Python floats become float32)."""
    source = data.data if isinstance(data, Tensor) else data
    return Tensor(backend.xp.array(source, copy=True), dtype=dtype, requires_grad=requires_grad) \
        if hasattr(source, "dtype") else Tensor(source, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    """``data`` itself when it is a Tensor, else a Tensor sharing its memory where possible."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    return Tensor(data, dtype=dtype)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(backend.xp.zeros(_shape(shape), dtype=_float(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(backend.xp.ones(_shape(shape), dtype=_float(dtype)), requires_grad=requires_grad)


def zeros_like(x: Tensor, dtype=None) -> Tensor:
    return zeros(x.shape, dtype=dtype or x.dtype)


def ones_like(x: Tensor, dtype=None) -> Tensor:
    return ones(x.shape, dtype=dtype or x.dtype)


def arange(start, stop=None, step=1, dtype=None) -> Tensor:
    return Tensor(backend.xp.arange(start, stop, step, dtype=dtype))


def randn(*shape, rng=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard-normal samples drawn from ``rng`` (a Generator, a seed, or the global generator)."""
    data = backend.resolve_rng(rng).standard_normal(_shape(shape)).astype(_float(dtype))
    return Tensor(backend.xp.asarray(data), requires_grad=requires_grad)


def rand(*shape, rng=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) drawn from ``rng``."""
    data = backend.resolve_rng(rng).random(_shape(shape)).astype(_float(dtype))
    return Tensor(backend.xp.asarray(data), requires_grad=requires_grad)
