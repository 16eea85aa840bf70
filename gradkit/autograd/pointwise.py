"""Elementwise ops under PyTorch's names, composed from the primitives (no derivative rules here).

Rounding ops (floor, ceil, round, trunc, sign) are piecewise constant: their gradient is 0, as in
PyTorch, and they keep a place in the graph so ``backward`` reaches the input with zeros.
"""
from __future__ import annotations

import math

import numpy

from .ops import _lift, _pair, _sign, cast, cos, div, log, mul, pow, sin, sub, where
from .tensor import Tensor


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _constant(x: Tensor, values) -> Tensor:
    """``values`` (x's dtype) with x's place in the graph and a zero gradient."""
    values = numpy.asarray(values).astype(x.dtype, copy=False)
    if not x.requires_grad and x.tangent is None:
        return Tensor._make(values)
    return where(numpy.zeros(x.shape, dtype=bool), x, Tensor._make(values))


def floor(x):
    x = _lift(x)
    return x if x.data.dtype.kind in "biu" else _constant(x, numpy.floor(x.data))


def ceil(x):
    x = _lift(x)
    return x if x.data.dtype.kind in "biu" else _constant(x, numpy.ceil(x.data))


def trunc(x):
    x = _lift(x)
    return x if x.data.dtype.kind in "biu" else _constant(x, numpy.trunc(x.data))


def round(x, decimals: int = 0):
    """Round half to even (as torch and NumPy), to ``decimals`` places."""
    x = _lift(x)
    return x if x.data.dtype.kind in "biu" else _constant(x, numpy.round(x.data, decimals))


def sign(x):
    """-1, 0 or 1; 0 at NaN, as torch (NumPy's sign gives NaN)."""
    x = _lift(x)
    return _constant(x, _sign(x.data))


def frac(x):
    """x - trunc(x); the gradient is 1."""
    return sub(x, trunc(x))


def reciprocal(x):
    return div(1.0, _lift(x))


def rsqrt(x):
    """1 / sqrt(x), with torch.rsqrt's gradient -0.5 y^3 (+inf at -0.0, NaN at -inf; torch's x ** -0.5
    has another one there)."""
    return div(1.0, pow(_lift(x), 0.5))


def square(x):
    x = _lift(x)
    return mul(x, x)


def tan(x):
    return div(sin(x), cos(x))


def log2(x):
    return div(log(x), math.log(2.0))


def log10(x):
    return div(log(x), math.log(10.0))


def floor_divide(a, b):
    """a // b rounded towards -inf (torch's floor_divide); no gradient."""
    a, b = _pair(a, b)
    return Tensor._make(numpy.asarray(numpy.floor_divide(a.data, b.data)))


def remainder(a, b):
    """a - floor(a / b) b, with the sign of b (as Python's % and torch.remainder)."""
    a, b = _pair(a, b)
    if a.data.dtype.kind in "biu":
        return Tensor._make(numpy.asarray(numpy.remainder(a.data, b.data)))
    return sub(a, mul(floor(div(a, b)), b))


def clamp(x, min=None, max=None, *, low=None, high=None):
    """Clamp to [min, max] (numbers or tensors), as torch.clamp: max(min(x, max), ...) with NaN
    propagated (a NaN x, or a NaN bound, gives NaN) and max where min > max. The gradients are
    torch's selects: x's where min <= x <= max (so 0 at NaN), a tensor min's where x < min < max, a
    tensor max's where x > max or max < min. ``low``/``high`` are gradkit's older names for min/max."""
    x = _lift(x)
    min = low if min is None else min
    max = high if max is None else max
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    lo, hi = _raw(min), _raw(max)
    dtype = x.dtype                      # the dtype where() gives x and the bounds (torch's promotion)
    for bound in (min, max):
        if bound is not None:
            dtype = _pair(Tensor._make(numpy.empty((0,) * x.ndim, dtype)), bound)[0].dtype
    value, inside = x.data, True
    if min is not None:
        value, inside = numpy.maximum(value, lo), inside & (x.data >= lo)
    if max is not None:
        value, inside = numpy.minimum(value, hi), inside & (x.data <= hi)
    y = Tensor._make(numpy.asarray(value).astype(dtype, copy=False))
    if isinstance(max, Tensor):
        y = where(numpy.asarray((x.data > hi) | (hi < lo) if min is not None else x.data > hi), max, y)
    if isinstance(min, Tensor):
        y = where(numpy.asarray((x.data < lo) & (lo < hi) if max is not None else x.data < lo), min, y)
    return where(numpy.asarray(inside), x, y)


def masked_fill(x, mask, value):
    """x with ``value`` where ``mask`` (a bool tensor broadcastable to x) is True."""
    x = _lift(x)
    mask = numpy.asarray(_raw(mask))
    if mask.dtype != bool:
        raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {mask.dtype}")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    value = value if isinstance(value, Tensor) else Tensor._make(numpy.asarray(value, dtype=x.dtype))
    return where(numpy.broadcast_to(mask, x.shape), cast(value, x.dtype), x)


def index_put(x, key, value):
    """x with x[key] replaced by value, as a graph op: x's gradient is zero at key, value's is the
    gradient at key (summed to value's shape)."""
    from .ops import GetItemGrad, _call, broadcast_to
    x = _lift(x)
    mask = numpy.zeros(x.shape, dtype=bool)
    mask[key] = True
    value = cast(value if isinstance(value, Tensor) else Tensor._make(numpy.asarray(value)), x.dtype)
    source = _call(GetItemGrad(key, x.shape), broadcast_to(value, x.data[key].shape))
    return where(mask, source, x)


# ---------------------------------------------------------------------------- comparisons, no gradient
def _compare(ufunc):
    def compare(a, b):
        return Tensor._make(numpy.asarray(ufunc(_raw(a), _raw(b))))
    compare.__doc__ = f"Elementwise {ufunc.__name__} as a bool tensor (no gradient)."
    return compare


eq, ne = _compare(numpy.equal), _compare(numpy.not_equal)
gt, ge = _compare(numpy.greater), _compare(numpy.greater_equal)
lt, le = _compare(numpy.less), _compare(numpy.less_equal)
logical_and, logical_or = _compare(numpy.logical_and), _compare(numpy.logical_or)
logical_xor = _compare(numpy.logical_xor)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_not(x):
    return Tensor._make(numpy.asarray(numpy.logical_not(_raw(x))))


def isnan(x):
    return Tensor._make(numpy.asarray(numpy.isnan(_raw(x))))


def isinf(x):
    return Tensor._make(numpy.asarray(numpy.isinf(_raw(x))))


def isfinite(x):
    return Tensor._make(numpy.asarray(numpy.isfinite(_raw(x))))


def equal(a, b) -> bool:
    """True when a and b have the same shape and the same values."""
    a, b = _raw(a), _raw(b)
    return numpy.shape(a) == numpy.shape(b) and bool(numpy.array_equal(a, b))


def isclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """|a - b| <= atol + rtol |b| elementwise (torch's defaults)."""
    return Tensor._make(numpy.asarray(numpy.isclose(_raw(a), _raw(b), rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return bool(numpy.allclose(_raw(a), _raw(b), rtol=rtol, atol=atol, equal_nan=equal_nan))

