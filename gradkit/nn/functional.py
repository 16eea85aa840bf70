"""``torch.nn.functional``'s names and arguments over gradkit's one implementation (``gradkit.functional``).

Converting a program means ``import torch.nn.functional as F`` -> ``import gradkit.nn.functional as F``.
Each function here only renames arguments (``dim`` for ``axis``, ``input`` first, PyTorch's defaults)
and checks the options gradkit does not have; the formulas and derivative rules live in
``gradkit.functional`` and ``gradkit.autograd.ops``. Arguments PyTorch keeps only for old code
(``size_average``, ``reduce``) are mapped to ``reduction`` as PyTorch does; ``inplace=True`` is accepted
and gives a new tensor (gradkit's activations never overwrite their input; the values are the same).
"""
from __future__ import annotations

import math

import numpy

from .. import functional as _F
from ..functional import pool as _pool
from ..autograd import Tensor, ops
from ..autograd.ops import _lift
from ..functional import (avg_pool2d as _avg_pool2d, batch_norm as _batch_norm, conv2d as _conv2d,
                          max_pool2d as _max_pool2d, one_hot as _one_hot)
from ..functional.activation import elu as _elu, leaky_relu as _leaky_relu, softplus as _softplus
from ..functional.norm import dropout as _dropout, dropout2d as _dropout2d

sigmoid, tanh = ops.sigmoid, ops.tanh


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated ``size_average`` / ``reduce`` pair as a ``reduction`` (they win when given)."""
    if size_average is None and reduce is None:
        return reduction
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


# ---------------------------------------------------------------------------- activations
def relu(input, inplace: bool = False) -> Tensor:
    """max(x, 0). ``inplace`` is accepted; the result is a new tensor (see the module docstring)."""
    return ops.relu(_lift(input))


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _leaky_relu(input, negative_slope)


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _elu(input, alpha)


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return _softplus(input, beta, threshold)


def silu(input, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (swish), composed."""
    input = _lift(input)
    return input * ops.sigmoid(input)


def logsigmoid(input) -> Tensor:
    """log sigmoid(x) = -softplus(-x), stable."""
    return -_softplus(-_lift(input))


def gelu(input, approximate: str = "none") -> Tensor:
    """GELU in its tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Only ``approximate='tanh'``: the exact form needs erf, which is not one of gradkit's primitives."""
    if approximate != "tanh":
        raise NotImplementedError("gelu: gradkit has no erf primitive, so only approximate='tanh' is "
                                  f"supported (got approximate={approximate!r})")
    x = _lift(input)
    return 0.5 * x * (1.0 + ops.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


def _softmax_dim(name, input, dim):
    if dim is None:  # PyTorch's implicit choice (it warns): 0 for 0-, 1- and 3-D input, else 1
        dim = 0 if input.ndim in (0, 1, 3) else 1
    if not isinstance(dim, (int, numpy.integer)):
        raise TypeError(f"{name}: dim must be an int, got {type(dim).__name__}")
    return int(dim)


def _as_dtype(input, dtype):
    return input if dtype is None else ops.cast(input, numpy.dtype(getattr(dtype, "numpy", dtype)))


def softmax(input, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    input = _as_dtype(_lift(input), dtype)
    return _F.softmax(input, _softmax_dim("softmax", input, dim))


def log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    input = _as_dtype(_lift(input), dtype)
    return _F.log_softmax(input, _softmax_dim("log_softmax", input, dim))


# ---------------------------------------------------------------------------- losses
def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _F.cross_entropy(input, target, reduction, weight=weight, ignore_index=ignore_index,
                            label_smoothing=label_smoothing)


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> Tensor:
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _F.nll_loss(input, target, reduction, weight=weight, ignore_index=ignore_index)


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _F.mse_loss(input, target, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _F.l1_loss(input, target, reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _F.binary_cross_entropy(input, target, reduction, weight=weight)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _F.binary_cross_entropy_with_logits(input, target, reduction, weight=weight, pos_weight=pos_weight)


# ---------------------------------------------------------------------------- layers as functions
def linear(input, weight, bias=None) -> Tensor:
    """y = x W^T + b over the last axis of (..., in) input; weight (out, in)."""
    input = _lift(input)
    if input.ndim == 2:
        return ops.linear(input, weight, bias)
    lead = input.shape[:-1]
    y = ops.linear(ops.reshape(input, (-1, input.shape[-1])), weight, bias)
    return ops.reshape(y, lead + (y.shape[-1],))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution of NCHW input; ``padding`` also takes 'valid' (0) and 'same' (stride 1)."""
    if isinstance(padding, str):
        padding = _same_padding(padding, weight, stride, dilation)
    return _conv2d(input, weight, bias, stride, padding, dilation, groups)


def _same_padding(padding, weight, stride, dilation):
    if padding == "valid":
        return 0
    if padding != "same":
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    if stride not in (1, (1, 1)):
        raise ValueError("conv2d: padding='same' is not supported for strided convolutions (as PyTorch)")
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    total = [d * (k - 1) for d, k in zip((dh, dw), weight.shape[2:])]
    if any(t % 2 for t in total):
        raise NotImplementedError(f"conv2d: padding='same' with an even kernel {tuple(weight.shape[2:])} needs "
                                  "uneven padding, which gradkit does not support; pad with F.pad first")
    return tuple(t // 2 for t in total)


def _no_option(name, **options):
    for key, (value, default) in options.items():
        if value != default:
            raise NotImplementedError(f"{name}: {key}={value!r} is not supported by gradkit (only {default!r})")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    _no_option("max_pool2d", dilation=(dilation, 1), ceil_mode=(ceil_mode, False),
               return_indices=(return_indices, False))
    return _max_pool2d(input, kernel_size, stride if stride not in (None, []) else None, padding)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    _no_option("avg_pool2d", ceil_mode=(ceil_mode, False), count_include_pad=(count_include_pad, True),
               divisor_override=(divisor_override, None))
    return _avg_pool2d(input, kernel_size, stride if stride not in (None, []) else None, padding)


def _adaptive_window(name, input, output_size):
    input = _lift(input)
    if input.ndim != 4:
        raise ValueError(f"{name}: expected input of shape (N, C, H, W), got {input.shape}")
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    size = tuple(n if o is None else o for o, n in zip(size, input.shape[2:]))
    if any(n % o for o, n in zip(size, input.shape[2:])):
        raise NotImplementedError(f"{name}: gradkit supports output sizes that divide the input's "
                                  f"{input.shape[2:]} evenly, got {size}")
    kernel = tuple(n // o for o, n in zip(size, input.shape[2:]))
    return input, kernel


adaptive_avg_pool2d = _pool.adaptive_avg_pool2d  # the one implementation (functional/pool.py)


def adaptive_max_pool2d(input, output_size, return_indices: bool = False) -> Tensor:
    _no_option("adaptive_max_pool2d", return_indices=(return_indices, False))
    input, kernel = _adaptive_window("adaptive_max_pool2d", input, output_size)
    return _max_pool2d(input, kernel, kernel)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout with the global generator (``gradkit.manual_seed``)."""
    return _dropout(input, p, training)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) input with probability p (inverted)."""
    return _dropout2d(input, p, training)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def embedding(input, weight) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``input``; the gradient adds up per row."""
    index = input.data if isinstance(input, Tensor) else numpy.asarray(input)
    if index.dtype.kind not in "iu":
        raise TypeError(f"embedding: input must hold integer indices, got dtype {index.dtype}")
    return ops.getitem(_lift(weight), index)


# ---------------------------------------------------------------------------- tensor utilities
def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 rows of the identity; ``num_classes=-1`` takes max(tensor) + 1, as PyTorch."""
    index = tensor.data if isinstance(tensor, Tensor) else numpy.asarray(tensor)
    if index.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer (int64) tensor of class indices, got dtype {index.dtype}")
    if num_classes == -1:
        if index.size == 0:
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor")
        num_classes = int(index.max()) + 1
    return _one_hot(index, num_classes, dtype=numpy.int64)


def pad(input, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad (or, with negative sizes, crop) the last ``len(pad) // 2`` axes with a constant.

    ``pad`` lists (before, after) pairs starting from the last axis: (left, right, top, bottom, ...).
    Composed from concatenation and slicing, so it carries no derivative rule of its own."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is supported by gradkit, got {mode!r}")
    x = _lift(input)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of sizes covering at most {x.ndim} axes, got {tuple(pad)}")
    for k in range(len(pad) // 2):
        axis, before, after = x.ndim - 1 - k, int(pad[2 * k]), int(pad[2 * k + 1])
        crop = [slice(None)] * x.ndim
        crop[axis] = slice(max(-before, 0), x.shape[axis] - max(-after, 0))
        if before < 0 or after < 0:
            x = ops.getitem(x, tuple(crop))
        parts = []
        for width in (max(before, 0), None, max(after, 0)):
            if width is None:
                parts.append(x)
            elif width:
                shape = x.shape[:axis] + (width,) + x.shape[axis + 1:]
                parts.append(Tensor._make(numpy.full(shape, value, dtype=x.dtype)))
        x = ops.concatenate(parts, axis) if len(parts) > 1 else x
    return x


__all__ = ["relu", "leaky_relu", "elu", "softplus", "silu", "logsigmoid", "gelu", "sigmoid", "tanh", "softmax",
           "log_softmax", "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "linear", "conv2d", "max_pool2d", "avg_pool2d",
           "adaptive_avg_pool2d", "adaptive_max_pool2d", "dropout", "dropout2d", "batch_norm", "embedding",
           "one_hot", "pad"]
