"""Ops composed from the primitives: they carry no derivative rules of their own.

These are the compositions Tensor's methods need, so they live beside the primitives;
``gradkit.functional`` builds everything else on top.
"""
from __future__ import annotations

import numpy

from . import ops
from .ops import _axis, _lift, broadcast_to, concatenate, max, maximum, reshape, sum, transpose, where
from .tensor import Tensor


def _count(x: Tensor, axis) -> int:
    if axis is None:
        return x.data.size
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``: sum(x) / n."""
    x = _lift(x)
    return sum(x, axis, keepdims) / float(_count(x, axis))


def var(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance: sum((x - mean x)^2) / (n - ddof). ddof=0 (the population variance) by default.
    The primitive ``ops.Var``, for torch's closed-form gradient."""
    return ops.var(x, axis, keepdims, ddof)


def min(x, axis=None, keepdims: bool = False, ties: str = "first") -> Tensor:
    """Minimum over ``axis``: -max(-x); ``ties`` as ``ops.Max``."""
    return -max(-_lift(x), axis, keepdims, ties)


def minimum(a, b) -> Tensor:
    """Elementwise minimum: -maximum(-a, -b)."""
    a, b = _lift(a), _lift(b)
    return -maximum(-a, -b)


def sqrt(x) -> Tensor:
    """Square root: x ** 0.5."""
    return _lift(x) ** 0.5


def clip(x, low=None, high=None) -> Tensor:
    """Clamp to [low, high]; the gradient passes where low <= x <= high (as torch.clamp)."""
    x = _lift(x)
    inside = numpy.ones(x.shape, dtype=bool)
    if low is not None:
        inside &= x.data >= low
    if high is not None:
        inside &= x.data <= high
    clipped = numpy.clip(x.data, low, high).astype(x.dtype, copy=False)  # NumPy-scalar bounds would promote
    return where(inside, x, Tensor._make(clipped))


def squeeze(x, axis=None) -> Tensor:
    """Drop axes of length 1 (all of them, or the ones named)."""
    x = _lift(x)
    if axis is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        axes = {_axis(a, x.ndim, "squeeze", x.shape) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))}
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has length {x.shape[a]}, not 1")
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    return reshape(x, shape)


def unsqueeze(x, axis: int) -> Tensor:
    """Insert an axis of length 1 at ``axis``."""
    x = _lift(x)
    axis = _axis(axis, x.ndim + 1, "unsqueeze", x.shape)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def flatten(x, start_axis: int = 0) -> Tensor:
    """Merge the axes from ``start_axis`` on into one."""
    x = _lift(x)
    start_axis = _axis(start_axis, x.ndim, "flatten", x.shape) if x.ndim else 0
    return reshape(x, x.shape[:start_axis] + (-1,))


def stack(xs, axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    xs = [_lift(x) for x in xs]
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    axis = _axis(axis, xs[0].ndim + 1, "stack", xs[0].shape)
    return concatenate([unsqueeze(x, axis) for x in xs], axis=axis)


def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    x = _lift(x)
    axis1, axis2 = _axis(axis1, x.ndim, "swapaxes", x.shape), _axis(axis2, x.ndim, "swapaxes", x.shape)
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, tuple(axes))


__all__ = ["mean", "var", "min", "minimum", "sqrt", "clip", "squeeze", "unsqueeze", "flatten",
           "stack", "swapaxes", "broadcast_to"]
