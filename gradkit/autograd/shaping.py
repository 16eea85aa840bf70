"""Shape ops under PyTorch's names and signatures, composed from the primitives.

``view`` refuses what would need a copy (as torch, where ``reshape`` copies instead); ``transpose``
swaps two dims (torch's meaning; NumPy's permutation form is ``permute``); ``expand`` returns a
read-only broadcast view, so writing into it in place is an error rather than a silent aliasing bug.
"""
from __future__ import annotations

import numpy

from . import composite, ops
from .ops import ShapeError, _axis, _lift
from .tensor import Tensor


def shape_args(args, op: str = "view") -> tuple:
    """A shape from ``f(2, 3)`` or ``f((2, 3))`` style arguments."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for n in args:
        if isinstance(n, bool) or not isinstance(n, (int, numpy.integer, Tensor)):
            raise TypeError(f"{op}(): argument 'size' must be a tuple of ints, but found element of type "
                            f"{type(n).__name__}")
    return tuple(int(n) for n in args)


def _infer(shape: tuple, numel: int, op: str, original) -> tuple:
    if shape.count(-1) > 1:
        raise ShapeError(f"{op}: only one dimension can be inferred")
    known = 1
    for n in shape:
        if n != -1:
            known *= n
    if -1 in shape:
        if known == 0 or numel % known:
            raise ShapeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if n == -1 else n for n in shape)
    elif known != numel:
        raise ShapeError(f"{op}: shape '{list(shape)}' is invalid for input of shape {tuple(original)} (size {numel})")
    return shape


def reshape(x, *shape):
    x = _lift(x)
    return ops.reshape(x, _infer(shape_args(shape, "reshape"), x.data.size, "reshape", x.shape))


def view(x, *shape):
    """x with a new shape, sharing its memory; an error where that needs a copy (use reshape)."""
    x = _lift(x)
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, numpy.integer)):
        from ..dtypes import to_dtype
        return Tensor._make(x.data.view(to_dtype(shape[0])))
    shape = _infer(shape_args(shape), x.data.size, "view", x.shape)
    probe = x.data.view()
    try:
        probe.shape = shape
    except AttributeError:
        raise ShapeError("view size is not compatible with input tensor's size and stride (at least one dimension "
                           "spans across two contiguous subspaces). Use .reshape(...) instead.") from None
    return ops.reshape(x, shape)


def permute(x, *dims):
    x = _lift(x)
    dims = shape_args(dims, "permute")
    if len(dims) != x.ndim:
        raise ShapeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                           f"of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not equal to "
                           f"len(dims) = {len(dims)}")
    return ops.transpose(x, dims)


def transpose(x, dim0: int, dim1: int):
    """Swap two dims (torch's transpose)."""
    x = _lift(x)
    if x.ndim == 0:
        return x
    return composite.swapaxes(x, dim0, dim1)


def t(x):
    """Transpose of a matrix; 0-D and 1-D tensors come back as they are."""
    x = _lift(x)
    if x.ndim > 2:
        raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return ops.transpose(x, None) if x.ndim == 2 else x


def expand(x, *sizes):
    """Broadcast to ``sizes`` (-1 keeps a dim) without copying."""
    x = _lift(x)
    sizes = shape_args(sizes, "expand")
    if len(sizes) < x.ndim:
        raise ShapeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                           f"number of dimensions in the tensor ({x.ndim})")
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    for i in range(x.ndim):
        if x.shape[i] != 1 and x.shape[i] != shape[i + lead]:
            raise ShapeError(f"The expanded size of the tensor ({shape[i + lead]}) must match the existing size "
                               f"({x.shape[i]}) at non-singleton dimension {i + lead}.  Target sizes: {list(sizes)}."
                               f"  Tensor sizes: {list(x.shape)}")
    return ops.broadcast_to(x, shape)


def repeat(x, *sizes):
    """Tile x: ``repeat(2, 3)`` of a (a, b) tensor is (2a, 3b)."""
    x = _lift(x)
    sizes = shape_args(sizes, "repeat")
    if len(sizes) < x.ndim:
        raise ShapeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    interleaved = tuple(n for s in shape for n in (1, s))
    target = tuple(n for r, s in zip(sizes, shape) for n in (r, s))
    tiled = ops.broadcast_to(ops.reshape(x, interleaved), target)
    return ops.reshape(tiled, tuple(r * s for r, s in zip(sizes, shape)))


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    x = _lift(x)
    if x.ndim == 0:
        return ops.reshape(x, (1,))
    start = _axis(start_dim, x.ndim, "flatten", x.shape)
    end = _axis(end_dim, x.ndim, "flatten", x.shape)
    if start > end:
        raise ShapeError("flatten() has invalid args: start_dim cannot come after end_dim")
    return ops.reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:]) if x.data.size else \
        ops.reshape(x, x.shape[:start] + (int(numpy.prod(x.shape[start:end + 1])),) + x.shape[end + 1:])


def unflatten(x, dim: int, sizes):
    x = _lift(x)
    dim = _axis(dim, x.ndim, "unflatten", x.shape)
    sizes = _infer(tuple(sizes), x.shape[dim], "unflatten", x.shape)
    return ops.reshape(x, x.shape[:dim] + sizes + x.shape[dim + 1:])


def squeeze(x, dim=None):
    """Drop dims of length 1 (all, or those named; a named dim of another length stays, as torch)."""
    x = _lift(x)
    if dim is None:
        return composite.squeeze(x)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    keep = [d for d in dims if x.ndim and x.shape[_axis(d, x.ndim, "squeeze", x.shape)] == 1]
    return composite.squeeze(x, tuple(keep)) if keep else x


def unsqueeze(x, dim: int):
    return composite.unsqueeze(x, dim)


def cat(tensors, dim: int = 0, *, axis=None):
    """Join tensors along an existing dim (dtypes promoted as torch)."""
    if axis is not None:
        dim = axis
    tensors = [_lift(t) for t in tensors]
    if not tensors:
        raise ShapeError("torch.cat(): expected a non-empty list of Tensors")
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = numpy.promote_types(dtype, t.dtype)
    tensors = [ops.cast(t, dtype) for t in tensors]
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ShapeError("zero-dimensional tensor cannot be concatenated")
    for i, t in enumerate(tensors):
        if t.ndim != ndim:
            raise ShapeError(f"Tensors must have same number of dimensions: got {ndim} and {t.ndim}")
    return ops.concatenate(tensors, _axis(dim, ndim, "cat", tensors[0].shape))


def stack(tensors, dim: int = 0, *, axis=None):
    """Join tensors of one shape along a new dim."""
    tensors = [_lift(t) for t in tensors]
    if not tensors:
        raise ShapeError("stack expects a non-empty TensorList")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack expects each tensor to be equal size, but got {sorted(shapes)}")
    return composite.stack(tensors, dim if axis is None else axis)


def split(x, split_size_or_sections, dim: int = 0):
    """Pieces of ``split_size`` along dim (the last may be smaller), or of the listed sizes."""
    x = _lift(x)
    dim = _axis(dim, x.ndim, "split", x.shape)
    n = x.shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ShapeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                               f"dimension {dim}), but got split_sizes={sizes}")
    else:
        step = int(split_size_or_sections)
        if step <= 0 and n:
            raise ShapeError(f"split expects split_size be non-negative, but got split_size={step}")
        sizes = [min(step, n - start) for start in range(0, n, step)] if n else [0]
    pieces, start = [], 0
    for size in sizes:
        pieces.append(ops.getitem(x, (slice(None),) * dim + (slice(start, start + size),)))
        start += size
    return tuple(pieces)


def chunk(x, chunks: int, dim: int = 0):
    """At most ``chunks`` pieces of ceil(n / chunks) along dim (torch's rule: maybe fewer)."""
    x = _lift(x)
    if chunks <= 0:
        raise ShapeError("chunk expects `chunks` to be greater than 0")
    n = x.shape[_axis(dim, x.ndim, "chunk", x.shape)]
    return split(x, max(-(-n // chunks), 1), dim)


def movedim(x, source: int, destination: int):
    x = _lift(x)
    order = list(range(x.ndim))
    s, d = _axis(source, x.ndim, "movedim", x.shape), _axis(destination, x.ndim, "movedim", x.shape)
    order.insert(d, order.pop(s))
    return ops.transpose(x, tuple(order))
