"""Composites over the primitives that belong to no layer: they carry no derivative rules."""
from __future__ import annotations

import numpy

from ..autograd import ops
from ..autograd.ops import _axes, _lift
from ..autograd.tensor import Tensor


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log sum_i exp(x_i) over ``axis``, without overflow.

    logsumexp(x) = m + log sum_i exp(x_i - m) with m = max x held constant, so nothing overflows
    and the gradient is exactly softmax(x) (the m terms cancel). Rows that are all -inf give -inf.

    Example:
        >>> logsumexp(Tensor([1000.0, 1000.0]))    # 1000 + log 2, where exp alone overflows
        tensor(1000.6931)
    """
    x = _lift(x)
    axes = _axes(axis, x.ndim)
    m = x.data.max(axis=axes, keepdims=True)
    m = numpy.where(numpy.isfinite(m), m, 0).astype(x.dtype, copy=False)
    shift = Tensor._make(m)
    y = ops.log(ops.sum(ops.exp(x - shift), axes, keepdims=True)) + shift
    if keepdims:
        return y
    return ops.reshape(y, tuple(n for i, n in enumerate(x.shape) if axes is not None and i not in axes))


def one_hot(indices, num_classes: int, dtype=None) -> Tensor:
    """Rows of the identity: ``one_hot(t, C)[i, t_i] = 1``, zeros elsewhere (no gradient).

    Args:
        indices: integer array or Tensor of any shape, values in [0, num_classes).
        num_classes: C, the length of the new last axis.
        dtype: float dtype of the result (default: the default dtype, float32).
    """
    from ..backend import get_default_dtype
    t = indices.data if isinstance(indices, Tensor) else numpy.asarray(indices)
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got dtype {t.dtype}")
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(f"one_hot: indices must lie in [0, {num_classes}), got values from {t.min()} to {t.max()}")
    out = numpy.zeros(t.shape + (num_classes,), dtype=dtype or get_default_dtype())
    numpy.put_along_axis(out, t[..., None].astype(numpy.intp, copy=False), 1, axis=-1)
    return Tensor._make(out)


__all__ = ["logsumexp", "one_hot"]
