"""Reductions under PyTorch's signatures (``dim=``, ``keepdim=``), composed from the primitives.

``axis=`` and ``keepdims=`` (gradkit's and NumPy's spellings) are accepted as aliases. ``max`` and
``min`` over one dim return ``(values, indices)`` as torch does; over all elements, or over a tuple
of dims (gradkit's extension), they return the values alone, as ``amax``/``amin`` always do.
"""
from __future__ import annotations

import builtins
import collections

import numpy

from .. import backend
from . import composite, ops
from .ops import _axis, _lift
from .tensor import Tensor

# named as torch's torch.return_types.max etc., so ``values, indices = t.max(1)`` and ``.values`` work
MaxResult = collections.namedtuple("max", ["values", "indices"])
MinResult = collections.namedtuple("min", ["values", "indices"])
SortResult = collections.namedtuple("sort", ["values", "indices"])
TopkResult = collections.namedtuple("topk", ["values", "indices"])


def resolve(dim, keepdim, axis=None, keepdims=None):
    """``dim``/``keepdim`` with gradkit's ``axis``/``keepdims`` as aliases (one of each at most)."""
    if axis is not None:
        if dim is not None:
            raise TypeError("pass dim= or its alias axis=, not both")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    if isinstance(dim, list):
        dim = tuple(dim)
    return dim, bool(keepdim)


def sum(x, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
    """Sum over ``dim`` (all by default); bool and integer tensors sum to int64, as torch."""
    x = _lift(x)
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    if dtype is not None:
        x = ops.cast(x, dtype)
    elif x.data.dtype.kind in "biu" and x.data.dtype != numpy.int64:
        x = ops.cast(x, numpy.int64)
    return ops.sum(x, dim, keepdim)


def mean(x, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
    """Arithmetic mean over ``dim``; integer tensors are refused, as torch (pass dtype=)."""
    x = _lift(x)
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    if dtype is not None:
        x = ops.cast(x, dtype)
    if x.data.dtype.kind not in "fc":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point "
                           f"or complex dtype. Got: {x.dtype}")
    return composite.mean(x, dim, keepdim)


def _correction(unbiased, correction, ddof):
    if ddof is not None:
        return ddof
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None, ddof=None, axis=None, keepdims=None):
    """Variance sum((x - mean)^2) / (n - correction); torch's default correction is 1 (unbiased).
    ``ddof`` is NumPy's name for ``correction``."""
    x = _lift(x)
    if isinstance(unbiased, (int, tuple, list)) and not isinstance(unbiased, bool):  # var(x, 0): a dim
        dim, unbiased = unbiased if dim is None else dim, None
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    return composite.var(x, dim, keepdim, _correction(unbiased, correction, ddof))


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None, ddof=None, axis=None, keepdims=None):
    """Standard deviation: sqrt(var) with the same arguments. Where the variance is 0 (a constant
    slice) the gradient is 0, as torch's (sqrt's would be inf * 0 = NaN)."""
    variance = var(x, dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis, keepdims=keepdims)
    zero = variance.data == 0
    if not zero.any():
        return composite.sqrt(variance)
    return ops.where(zero, 0.0, composite.sqrt(ops.where(zero, 1.0, variance)))


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Maximum over ``dim`` (an int, a tuple, or all); the gradient is shared evenly among tied
    maxima, and is NaN over a slice holding NaN, as torch's amax."""
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    return ops.max(_lift(x), dim, keepdim, ties="amax")


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    return composite.min(_lift(x), dim, keepdim, ties="amax")


def _extreme(x, dim, keepdim, axis, keepdims, other, largest: bool):
    x = _lift(x)
    if isinstance(dim, Tensor) or other is not None:   # torch.max(a, b): elementwise
        other = dim if other is None else other
        return ops.maximum(x, other) if largest else composite.minimum(x, other)
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    if dim is None:   # torch's max(): the gradient shared among tied maxima (the NaNs, if any)
        return ops.max(x, None, keepdim, "split") if largest else composite.min(x, None, keepdim, "split")
    if isinstance(dim, tuple):
        return amax(x, dim, keepdim) if largest else amin(x, dim, keepdim)
    if x.ndim and x.shape[_axis(dim, x.ndim, "max" if largest else "min", x.shape)] == 0:
        raise IndexError(f"max(): Expected reduction dim {dim} to have non-zero size.")
    # the gradient goes to the returned index (the first maximum), as torch's
    values = ops.max(x, dim, keepdim) if largest else composite.min(x, dim, keepdim)
    index = argmax(x, dim, keepdim) if largest else argmin(x, dim, keepdim)
    return (MaxResult if largest else MinResult)(values, index)


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):
    """``max(x)``: the largest element; ``max(x, dim)``: (values, indices) along dim; ``max(a, b)``:
    the elementwise maximum."""
    return _extreme(x, dim, keepdim, axis, keepdims, other, True)


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):
    """As ``max``, for the smallest."""
    return _extreme(x, dim, keepdim, axis, keepdims, other, False)


def _arg(x, dim, keepdim, axis, keepdims, largest):
    x = _lift(x)
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    data = x.data
    if dim is None:
        index = numpy.asarray(data.argmax() if largest else data.argmin(), dtype=numpy.int64)
        return Tensor._make(index.reshape((1,) * x.ndim) if keepdim else index)
    dim = _axis(dim, builtins.max(x.ndim, 1), "argmax" if largest else "argmin", x.shape)
    if x.ndim == 0:
        return Tensor._make(numpy.asarray(0, dtype=numpy.int64))
    index = (data.argmax if largest else data.argmin)(axis=dim, keepdims=keepdim)
    return Tensor._make(numpy.asarray(index, dtype=numpy.int64))


def argmax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the (first) largest element along ``dim`` (of the flattened tensor without dim)."""
    return _arg(x, dim, keepdim, axis, keepdims, True)


def argmin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _arg(x, dim, keepdim, axis, keepdims, False)


def all(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    return Tensor._make(numpy.asarray(numpy.all(_lift(x).data, axis=dim, keepdims=keepdim)))


def any(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    return Tensor._make(numpy.asarray(numpy.any(_lift(x).data, axis=dim, keepdims=keepdim)))


def logsumexp(x, dim, keepdim=False, *, axis=None, keepdims=None):
    """log sum exp(x) over ``dim``, without overflow (gradkit.functional's, under torch's names)."""
    from ..functional.math import logsumexp as _logsumexp
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    return _logsumexp(_float(x), dim, keepdim)


def _float(x):
    x = _lift(x)
    return x if x.data.dtype.kind in "fc" else ops.cast(x, backend.get_default_dtype())


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """The p-norm (sum |x|^p)^(1/p) over ``dim`` (all elements by default); p may be 'fro', a number,
    inf or -inf. The 2-norm's gradient at 0 is 0, as torch."""
    x = _float(x) if dtype is None else ops.cast(_lift(x), dtype)
    dim, keepdim = resolve(dim, keepdim)
    if p in ("fro", 2, 2.0):
        squares = ops.sum(x * x, dim, keepdim)
        zero = squares.data == 0
        safe = ops.where(zero, 1.0, squares)     # no inf * 0 at the origin: the gradient there is 0
        return ops.where(zero, 0.0, composite.sqrt(safe))
    if p == float("inf"):   # torch shares the gradient among the tied (or NaN) elements
        return ops.max(ops.abs(x), dim, keepdim, "norm")
    if p == -float("inf"):
        return composite.min(ops.abs(x), dim, keepdim, "norm")
    if p == 1:
        return ops.sum(ops.abs(x), dim, keepdim)
    if p == 0:
        return ops.sum(ops.cast(Tensor._make(x.data != 0), x.dtype), dim, keepdim)
    return ops.sum(ops.abs(x) ** p, dim, keepdim) ** (1.0 / p)


def _gather_key(index: numpy.ndarray, dim: int):
    """An index tuple that picks ``x[..., index[...], ...]`` along ``dim`` (torch.gather's rule)."""
    grids = numpy.indices(index.shape, sparse=True)
    return tuple(index if i == dim else grid for i, grid in enumerate(grids))


def gather(x, dim: int, index):
    """out[i][j] = x[index[i][j]][j] for dim=0 (and so on); differentiable in x."""
    x = _lift(x)
    index = numpy.asarray(index.data if isinstance(index, Tensor) else index)
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"gather(): Expected dtype int64 for index, got {index.dtype}")
    if index.ndim != x.ndim:
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor "
                           f"({index.ndim} vs {x.ndim})")
    dim = _axis(dim, x.ndim, "gather", x.shape)
    return ops.getitem(x, _gather_key(index, dim))


def sort(x, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) sorted along ``dim``; ties keep their order (a stable sort)."""
    x = _lift(x)
    if x.ndim == 0:
        return SortResult(x, Tensor._make(numpy.asarray(0, dtype=numpy.int64)))
    dim = _axis(dim, x.ndim, "sort", x.shape)
    keys = -x.data if descending and x.data.dtype.kind != "b" else x.data
    index = numpy.argsort(keys, axis=dim, kind="stable")
    if descending and x.data.dtype.kind == "b":
        index = numpy.flip(numpy.argsort(x.data, axis=dim, kind="stable"), axis=dim)
    index = index.astype(numpy.int64)
    return SortResult(gather(x, dim, index), Tensor._make(index))


def argsort(x, dim: int = -1, descending: bool = False, stable: bool = False):
    return sort(x, dim, descending, stable).indices


def topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The k largest (or smallest) elements along ``dim`` and their indices."""
    x = _lift(x)
    dim = _axis(dim, builtins.max(x.ndim, 1), "topk", x.shape)
    if not 0 <= k <= (x.shape[dim] if x.ndim else 1):
        raise RuntimeError(f"selected index k out of range: k={k} for dim {dim} of shape {tuple(x.shape)}")
    values, index = sort(x, dim, descending=largest)
    key = (slice(None),) * dim + (slice(0, k),)
    return TopkResult(values[key], Tensor._make(index.data[key]))


def prod(x, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
    """Product over ``dim``, as a chain of multiplications (exact gradients, zeros included)."""
    x = _lift(x) if dtype is None else ops.cast(_lift(x), dtype)
    dim, keepdim = resolve(dim, keepdim, axis, keepdims)
    if dim is None:
        flat = ops.reshape(x, (-1,))
        result = _product(flat, 0)
        return ops.reshape(result, (1,) * x.ndim) if keepdim else result
    if isinstance(dim, tuple):
        raise TypeError("prod: dim must be an int (torch's prod reduces one dim)")
    dim = _axis(dim, x.ndim, "prod", x.shape)
    result = _product(x, dim)
    return composite.unsqueeze(result, dim) if keepdim else result


def _product(x, dim):
    n = x.shape[dim]
    if n == 0:
        shape = x.shape[:dim] + x.shape[dim + 1:]
        return Tensor._make(numpy.ones(shape, dtype=x.dtype))
    result = ops.getitem(x, (slice(None),) * dim + (0,))
    for i in range(1, n):
        result = result * ops.getitem(x, (slice(None),) * dim + (i,))
    return result


__all__ = ["sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "all", "any",
           "logsumexp", "norm", "gather", "sort", "argsort", "topk", "prod", "MaxResult", "MinResult",
           "SortResult", "TopkResult"]
