"""Tensor's methods under PyTorch's names: thin calls into reductions, shaping, pointwise, inplace.

Kept out of tensor.py so that file stays the core (data, autodiff state, operators); every method
here is copied onto ``Tensor`` when the engine is imported.
"""
from __future__ import annotations

import numpy

from .. import backend
from .. import device as _device
from .. import dtypes as _dtypes
from . import composite, inplace, ops, pointwise, reductions, shaping
from .tensor import Tensor

_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "int64": "LongTensor",
               "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
               "bool": "BoolTensor"}


def _convert(t: Tensor, dtype) -> Tensor:
    dtype = _dtypes.to_dtype(dtype)
    if dtype == numpy.float16:
        raise TypeError("half precision (float16) is not supported by gradkit: NumPy has no fast float16 "
                        "arithmetic. Use float32.")
    return ops.cast(t, dtype)


class TorchMethods:
    """The methods PyTorch programs call on tensors (see docs/pytorch.md for the differences)."""

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        return reductions.sum(self, dim, keepdim, dtype, axis=axis, keepdims=keepdims)

    def mean(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        return reductions.mean(self, dim, keepdim, dtype, axis=axis, keepdims=keepdims)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, ddof=None, axis=None, keepdims=None):
        return reductions.var(self, dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
                              keepdims=keepdims)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, ddof=None, axis=None, keepdims=None):
        return reductions.std(self, dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
                              keepdims=keepdims)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return reductions.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return reductions.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return reductions.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return reductions.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)
    def prod(self, dim=None, keepdim=False, dtype=None): return reductions.prod(self, dim, keepdim, dtype)

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        return reductions.argmax(self, dim, keepdim, axis=axis)

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        return reductions.argmin(self, dim, keepdim, axis=axis)

    def all(self, dim=None, keepdim=False): return reductions.all(self, dim, keepdim)
    def any(self, dim=None, keepdim=False): return reductions.any(self, dim, keepdim)
    def logsumexp(self, dim, keepdim=False): return reductions.logsumexp(self, dim, keepdim)
    def norm(self, p="fro", dim=None, keepdim=False, dtype=None): return reductions.norm(self, p, dim, keepdim, dtype)
    def sort(self, dim=-1, descending=False, stable=False): return reductions.sort(self, dim, descending, stable)
    def argsort(self, dim=-1, descending=False, stable=False): return reductions.argsort(self, dim, descending)
    def topk(self, k, dim=-1, largest=True, sorted=True): return reductions.topk(self, k, dim, largest, sorted)
    def gather(self, dim, index): return reductions.gather(self, dim, index)

    def softmax(self, dim):
        from ..functional.activation import softmax
        return softmax(self, dim)

    def log_softmax(self, dim):
        from ..functional.activation import log_softmax
        return log_softmax(self, dim)

    # ------------------------------------------------------------------ shapes
    def reshape(self, *shape): return shaping.reshape(self, *shape)
    def view(self, *shape): return shaping.view(self, *shape)
    def view_as(self, other): return shaping.view(self, other.shape)
    def reshape_as(self, other): return shaping.reshape(self, other.shape)
    def permute(self, *dims): return shaping.permute(self, *dims)
    def transpose(self, dim0, dim1): return shaping.transpose(self, dim0, dim1)
    def swapaxes(self, axis0, axis1): return shaping.transpose(self, axis0, axis1)
    swapdims = swapaxes
    def movedim(self, source, destination): return shaping.movedim(self, source, destination)
    def t(self): return shaping.t(self)

    @property
    def T(self):
        """All dims reversed."""
        return ops.transpose(self, None)

    @property
    def mT(self):
        """The last two dims swapped (a batch of matrices transposed)."""
        return shaping.transpose(self, -2, -1)

    def expand(self, *sizes): return shaping.expand(self, *sizes)
    def expand_as(self, other): return shaping.expand(self, other.shape)
    def broadcast_to(self, shape): return ops.broadcast_to(self, shape)
    def repeat(self, *sizes): return shaping.repeat(self, *sizes)
    def flatten(self, start_dim=0, end_dim=-1): return shaping.flatten(self, start_dim, end_dim)
    def unflatten(self, dim, sizes): return shaping.unflatten(self, dim, sizes)
    def squeeze(self, dim=None): return shaping.squeeze(self, dim)
    def unsqueeze(self, dim): return shaping.unsqueeze(self, dim)
    def split(self, split_size, dim=0): return shaping.split(self, split_size, dim)
    def chunk(self, chunks, dim=0): return shaping.chunk(self, chunks, dim)
    def sum_to(self, shape): return ops.sum_to(self, shape)

    def contiguous(self):
        """Self when already C-contiguous, else a C-contiguous copy (in the graph)."""
        return self if self.data.flags.c_contiguous else self.clone()

    def is_contiguous(self) -> bool:
        return bool(self.data.flags.c_contiguous)

    def clone(self):
        """A copy with its own memory, in the graph (the gradient passes through unchanged)."""
        if self.data.dtype.kind == "b":
            return Tensor._make(self.data.copy())
        return ops.mul(self, 1)

    # ------------------------------------------------------------------ dtypes and devices
    def astype(self, dtype): return _convert(self, dtype)
    def float(self): return ops.cast(self, numpy.float32)
    def double(self): return ops.cast(self, numpy.float64)
    def half(self): return _convert(self, numpy.float16)
    def long(self): return ops.cast(self, numpy.int64)
    def int(self): return ops.cast(self, numpy.int32)
    def short(self): return ops.cast(self, numpy.int16)
    def byte(self): return ops.cast(self, numpy.uint8)
    def bool(self): return ops.cast(self, numpy.bool_)
    def type_as(self, other): return _convert(self, other.dtype)

    def type(self, dtype=None):
        """Without an argument, the type name ('gradkit.FloatTensor'); with a dtype, a converted tensor."""
        if dtype is None:
            return f"gradkit.{_TYPE_NAMES.get(str(self.dtype), 'Tensor')}"
        return _convert(self, dtype)

    def to(self, *args, dtype=None, device=None, copy: bool = False, non_blocking: bool = False):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``: the converted tensor,
        or self when nothing changes. Any device other than the CPU is a RuntimeError."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, (str, _device.device, int)) and not isinstance(arg, bool) and \
                    not (isinstance(arg, str) and _is_dtype_name(arg)):
                device = arg
            else:
                dtype = arg
        _device.check(device)
        result = self if dtype is None else _convert(self, dtype)
        return result.clone() if copy and result is self else result

    def cpu(self): return self

    def cuda(self, device=None, non_blocking: bool = False):
        _device.check("cuda")

    def numel(self): return self.data.size

    # ------------------------------------------------------------------ math
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def log1p(self): return ops.log1p(self)
    def expm1(self): return ops.expm1(self)
    def log2(self): return pointwise.log2(self)
    def log10(self): return pointwise.log10(self)
    def sqrt(self): return composite.sqrt(self)
    def rsqrt(self): return pointwise.rsqrt(self)
    def square(self): return pointwise.square(self)
    def abs(self): return ops.abs(self)
    def neg(self): return ops.neg(self)
    negative = neg
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def tan(self): return pointwise.tan(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)
    def sign(self): return pointwise.sign(self)
    def floor(self): return pointwise.floor(self)
    def ceil(self): return pointwise.ceil(self)
    def round(self, decimals=0): return pointwise.round(self, decimals)
    def trunc(self): return pointwise.trunc(self)
    def frac(self): return pointwise.frac(self)
    def reciprocal(self): return pointwise.reciprocal(self)
    def pow(self, exponent): return ops.pow(self, exponent)
    def add(self, other, alpha=1): return ops.add(self, other if alpha == 1 else other * alpha)
    def sub(self, other, alpha=1): return ops.sub(self, other if alpha == 1 else other * alpha)
    def mul(self, other): return ops.mul(self, other)
    def div(self, other): return ops.div(self, other)
    def clamp(self, min=None, max=None): return pointwise.clamp(self, min, max)
    clip = clamp
    def maximum(self, other): return ops.maximum(self, other)
    def minimum(self, other): return composite.minimum(self, other)
    def masked_fill(self, mask, value): return pointwise.masked_fill(self, mask, value)
    def where(self, condition, other): return ops.where(condition, self, other)
    def matmul(self, other): return ops.matmul(self, other)

    def mm(self, other):
        if self.ndim != 2 or getattr(other, "ndim", 0) != 2:
            raise RuntimeError(f"mm: expected 2-D tensors, got {self.ndim}-D and {getattr(other, 'ndim', 0)}-D")
        return ops.matmul(self, other)

    def bmm(self, other):
        if self.ndim != 3 or getattr(other, "ndim", 0) != 3:
            raise RuntimeError(f"bmm: expected 3-D tensors, got {self.ndim}-D and {getattr(other, 'ndim', 0)}-D")
        return ops.matmul(self, other)

    def dot(self, other):
        if self.ndim != 1 or getattr(other, "ndim", 0) != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {getattr(other, 'ndim', 0)}D tensors")
        return ops.matmul(self, other)

    def outer(self, other):
        return ops.mul(shaping.unsqueeze(self, 1), other)

    # ------------------------------------------------------------------ comparisons and tests
    def eq(self, other): return pointwise.eq(self, other)
    def ne(self, other): return pointwise.ne(self, other)
    def gt(self, other): return pointwise.gt(self, other)
    def ge(self, other): return pointwise.ge(self, other)
    def lt(self, other): return pointwise.lt(self, other)
    def le(self, other): return pointwise.le(self, other)
    def equal(self, other): return pointwise.equal(self, other)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False): return pointwise.allclose(self, other, rtol, atol, equal_nan)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False): return pointwise.isclose(self, other, rtol, atol, equal_nan)
    def isnan(self): return pointwise.isnan(self)
    def isinf(self): return pointwise.isinf(self)
    def isfinite(self): return pointwise.isfinite(self)
    def logical_not(self): return pointwise.logical_not(self)
    def logical_and(self, other): return pointwise.logical_and(self, other)
    def logical_or(self, other): return pointwise.logical_or(self, other)
    def logical_xor(self, other): return pointwise.logical_xor(self, other)

    # ------------------------------------------------------------------ in place
    def add_(self, other, alpha=1): return inplace.add_(self, other, alpha)
    def sub_(self, other, alpha=1): return inplace.sub_(self, other, alpha)
    def mul_(self, other): return inplace.mul_(self, other)
    def div_(self, other): return inplace.div_(self, other)
    def pow_(self, exponent): return inplace.pow_(self, exponent)
    def clamp_(self, min=None, max=None): return inplace.clamp_(self, min, max)
    clip_ = clamp_
    def zero_(self): return inplace.zero_(self)
    def fill_(self, value): return inplace.fill_(self, value)
    def copy_(self, source, non_blocking=False): return inplace.copy_(self, source)
    def masked_fill_(self, mask, value): return inplace.masked_fill_(self, mask, value)

    def uniform_(self, a=0.0, b=1.0, generator=None, *, rng=None):
        return inplace.uniform_(self, a, b, generator, rng=rng)

    def normal_(self, mean=0.0, std=1.0, generator=None, *, rng=None):
        return inplace.normal_(self, mean, std, generator, rng=rng)


def _is_dtype_name(name: str) -> bool:
    try:
        numpy.dtype(name)
    except TypeError:
        return False
    return name not in ("cpu",)


del backend
