"""Functions that make Tensors, with PyTorch's signatures and default dtypes.

Python floats give float32 (the default dtype), Python ints int64, bools bool. Random functions
draw from ``rng`` (a numpy Generator or an int seed) or ``generator`` (the same), or else from the
global generator that ``manual_seed`` resets: randomness always has an explicit seed.
"""
from __future__ import annotations

import numpy

from . import backend, device as _device, dtypes
from .autograd.tensor import Tensor
from .autograd.shaping import shape_args


def _dtype(dtype, default=None):
    if dtype is None:
        return default
    dtype = dtypes.to_dtype(dtype)
    if dtype == numpy.float16:
        raise TypeError("half precision (float16) is not supported by gradkit; use float32")
    return dtype


def _make(array, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _device.check(device)
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return Tensor(backend.xp.asarray(array), requires_grad=requires_grad)


def _infer_array(data):
    """An array from nested Python data with torch's dtypes (floats -> default float, ints -> int64)."""
    array = numpy.asarray(data)
    if array.dtype == object:
        raise TypeError(f"could not convert {type(data).__name__} to a tensor (ragged or non-numeric data)")
    if not isinstance(data, numpy.ndarray) and not isinstance(data, numpy.generic):
        if array.dtype.kind == "f":
            array = array.astype(backend.get_default_dtype())
        elif array.dtype.kind in "iu":
            array = array.astype(numpy.int64)
    return array


def _unwrap_list(data):
    """Lists of one-element tensors (as torch accepts) become lists of numbers."""
    if isinstance(data, (list, tuple)) and data and any(isinstance(d, (Tensor, list, tuple)) for d in data):
        return [d.data if isinstance(d, Tensor) else _unwrap_list(d) for d in data]
    return data


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new Tensor holding a copy of ``data``: floats become float32, ints int64, bools bool."""
    source = data.data if isinstance(data, Tensor) else _unwrap_list(data)
    return _make(numpy.array(_infer_array(source), copy=True), _dtype(dtype), device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` itself when it is a Tensor of that dtype, else a Tensor sharing its memory where possible."""
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    array = data if isinstance(data, numpy.ndarray) else _infer_array(data)
    return _make(array, _dtype(dtype), device)


def from_numpy(array: numpy.ndarray) -> Tensor:
    """A Tensor sharing ``array``'s memory: writes to either show in the other."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._make(array)


def _filled(fill, shape, dtype, device, requires_grad):
    return _make(fill(shape_args(shape, "zeros"), dtype=_dtype(dtype, backend.get_default_dtype())),
                 None, device, requires_grad)


def zeros(*shape, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(numpy.zeros, shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(numpy.ones, shape, dtype, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uninitialised in torch; zeros here (NumPy's empty would expose stale memory for no gain)."""
    return _filled(numpy.zeros, shape, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (its dtype inferred as torch: float, int64, bool)."""
    dtype = _dtype(dtype, _infer_array(fill_value).dtype)
    return _make(numpy.full(shape_args((size,), "full"), fill_value, dtype=dtype), None, device, requires_grad)


def _like(x, dtype):
    return x.dtype if dtype is None else _dtype(dtype)


def zeros_like(x, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros(x.shape, dtype=_like(x, dtype), device=device, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return ones(x.shape, dtype=_like(x, dtype), device=device, requires_grad=requires_grad)


def empty_like(x, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros(x.shape, dtype=_like(x, dtype), device=device, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full(x.shape, fill_value, dtype=_like(x, dtype), device=device, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _make(numpy.eye(n, m, dtype=_dtype(dtype, backend.get_default_dtype())), None, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """[start, end) by step: int64 when all three are ints, else the default float dtype (as torch)."""
    if end is None:
        start, end = 0, start
    numbers = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    integral = all(isinstance(v, (int, numpy.integer)) for v in numbers)
    default = numpy.dtype(numpy.int64) if integral else backend.get_default_dtype()
    if step == 0:
        raise RuntimeError("step must be nonzero")
    return _make(numpy.arange(*numbers, dtype=numpy.float64 if not integral else numpy.int64),
                 _dtype(dtype, default), device, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _make(numpy.linspace(start, end, steps), _dtype(dtype, backend.get_default_dtype()), device, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, device=None, requires_grad: bool = False):
    return _make(numpy.logspace(start, end, steps, base=base), _dtype(dtype, backend.get_default_dtype()), device,
                 requires_grad)


def _rng(generator, rng):
    return backend.resolve_rng(rng if rng is not None else generator)


def randn(*shape, generator=None, rng=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard-normal samples from ``rng``/``generator`` (a Generator or a seed) or the global generator."""
    data = _rng(generator, rng).standard_normal(shape_args(shape, "randn"))
    return _make(data, _dtype(dtype, backend.get_default_dtype()), device, requires_grad)


def rand(*shape, generator=None, rng=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    data = _rng(generator, rng).random(shape_args(shape, "rand"))
    return _make(data, _dtype(dtype, backend.get_default_dtype()), device, requires_grad)


def randint(low, high=None, size=None, *, generator=None, rng=None, dtype=None, device=None) -> Tensor:
    """Integers in [low, high) (``randint(high, size)`` takes low = 0), int64 by default."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() missing 1 required argument: 'size'")
    data = _rng(generator, rng).integers(low, high, shape_args((size,), "randint"))
    return _make(data, _dtype(dtype, numpy.dtype(numpy.int64)), device)


def randperm(n: int, *, generator=None, rng=None, dtype=None, device=None) -> Tensor:
    """A random permutation of 0..n-1 (int64)."""
    return _make(_rng(generator, rng).permutation(n), _dtype(dtype, numpy.dtype(numpy.int64)), device)


def normal(mean, std, size=None, *, generator=None, rng=None, dtype=None, device=None) -> Tensor:
    """Samples of N(mean, std^2): numbers with ``size``, or tensors broadcast together."""
    mean_v = mean.data if isinstance(mean, Tensor) else mean
    std_v = std.data if isinstance(std, Tensor) else std
    shape = shape_args((size,), "normal") if size is not None else numpy.broadcast_shapes(numpy.shape(mean_v),
                                                                                         numpy.shape(std_v))
    float_dtype = next((t.dtype for t in (mean, std) if isinstance(t, Tensor)), backend.get_default_dtype())
    data = _rng(generator, rng).normal(mean_v, std_v, shape)
    return _make(numpy.asarray(data), _dtype(dtype, float_dtype), device)


def manual_seed(seed: int):
    """Reset the global generator (used where no rng or generator is passed)."""
    return backend.manual_seed(seed)
