"""Batch normalisation (fused) and dropout (a composite with an explicit random generator)."""
from __future__ import annotations

import numpy

from .. import backend
from ..autograd import ops
from ..autograd._elementwise import _inverse, _memory_order
from ..autograd.function import Function
from ..autograd.mode import is_grad_enabled
from ..autograd.ops import _lift
from ..autograd.tensor import Tensor


class BatchNorm(Function):
    """Training-mode batch normalisation (Ioffe & Szegedy, 2015) over every axis but the channels (1).

    mu = mean(x), var = mean((x - mu)^2) (biased), xhat = (x - mu) / sqrt(var + eps),
    y = w xhat + b, per channel.
    Backward (n values per channel): gx = (1 / sqrt(var + eps)) (g - mean(g) - xhat mean(g xhat))
    with g = gy w; gw = sum(gy xhat); gb = sum(gy). The Jacobian of xhat is symmetric, so the
    forward mode uses the same projection: dy = w P(tx) + tw xhat + tb.

    Fused for speed (one pass of saved xhat instead of a dozen graph nodes) and memory. With
    create_graph the rule is built from a recomputed graph of xhat, so it is differentiable again.
    Inputs: (x, w, b) with w, b of shape (C,).
    """

    def __init__(self, eps: float):
        self.eps = eps

    def _axes(self, ndim: int) -> tuple:
        return (0,) + tuple(range(2, ndim))

    fused = None  # the (A, C, B) view of x the compiled loops ran on (``_fused_view``), or None

    def forward(self, x, w, b):
        axes = self._axes(x.ndim)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        self.fused = _fused_view(x)
        if self.fused is not None:  # compiled loops; xhat is not kept (recomputed from x where needed)
            y, y3 = _empty_like_view(x)
            self.mean, self.var, self.inv_std64 = _norm_loops().forward(self.fused, w, b, self.eps, y3)
            self.inv_std = self.inv_std64.astype(x.dtype).reshape(shape)
            return y
        self.mean = x.mean(axis=axes)
        xc = x - self.mean.reshape(shape)
        self.var = numpy.mean(numpy.square(xc), axis=axes)
        self.inv_std = (1.0 / numpy.sqrt(self.var + self.eps)).astype(x.dtype, copy=False).reshape(shape)
        self.xhat = numpy.multiply(xc, self.inv_std, out=xc)
        return self.xhat * w.reshape(shape) + b.reshape(shape)

    def _xhat(self):
        """The normalised input as an array: kept by the NumPy forward pass, recomputed after the fused one."""
        if self.fused is None:
            return self.xhat
        x = self.inputs[0].data
        return (x - self.mean.astype(x.dtype).reshape(self.inv_std.shape)) * self.inv_std

    def _statistics(self):
        """(xhat, 1 / sqrt(var + eps)): a graph over x while one is recorded, constants otherwise."""
        if not is_grad_enabled():
            return Tensor._make(self._xhat()), Tensor._make(self.inv_std)
        x = self.inputs[0]
        axes = self._axes(x.ndim)
        xc = x - x.mean(axes, keepdims=True)
        inv_std = ((xc * xc).mean(axes, keepdims=True) + self.eps) ** -0.5
        return xc * inv_std, inv_std

    def _project(self, v: Tensor, xhat: Tensor, inv_std: Tensor) -> Tensor:
        """P v = (v - mean(v) - xhat mean(v xhat)) / sqrt(var + eps): the Jacobian of xhat, applied."""
        axes = self._axes(v.ndim)
        return inv_std * (v - v.mean(axes, keepdims=True) - xhat * (v * xhat).mean(axes, keepdims=True))

    def _channels(self, v: Tensor) -> Tensor:
        return ops.reshape(v, (1, -1) + (1,) * (self.inputs[0].ndim - 2))

    def backward(self, gy):
        x, w, b = self.inputs
        if self.fused is not None and not is_grad_enabled():
            return self._fused_backward(gy.data)
        xhat, inv_std = self._statistics()
        axes = self._axes(gy.ndim)
        gx = self._project(gy * self._channels(w), xhat, inv_std) if x.requires_grad else None
        gw = ops.sum(gy * xhat, axes) if w.requires_grad else None
        gb = ops.sum(gy, axes) if b.requires_grad else None
        return gx, gw, gb

    def _fused_backward(self, gy):
        x, w, b = self.inputs
        gx, gx3 = _empty_like_view(x.data) if x.requires_grad else (None, None)
        gy3 = _fused_view(gy, like=x.data)
        if gy3.shape != self.fused.shape:  # the loops test no bounds
            raise ValueError(f"batch_norm: gradient of shape {gy.shape} for an output of shape {x.shape}")
        gw, gb = _norm_loops().backward(self.fused, gy3, w.data, self.mean, self.inv_std64, gx3)
        return (None if gx is None else Tensor._make(gx),
                Tensor._make(gw.astype(x.dtype)) if w.requires_grad else None,
                Tensor._make(gb.astype(x.dtype)) if b.requires_grad else None)

    def jvp(self, tx, tw, tb):
        w = self.inputs[1]
        xhat, inv_std = self._statistics()
        return (self._project(tx, xhat, inv_std) * self._channels(w) + xhat * self._channels(tw)
                + self._channels(tb))


FUSED_MIN_SIZE = 1 << 14  # values below which batch norm stays in NumPy (and Numba is not imported)


def _norm_loops():
    from . import _norm_loops
    return _norm_loops


def _fused_view(a, like=None):
    """The (A, C, B) C-contiguous view the compiled loops take (``_norm_loops``) of an image batch
    (N, C, H, W) or (N, C, L) in NCHW or channels-first memory; None for what stays in NumPy (a
    small or 2-D batch, a dtype other than float32 / float64). With ``like``, a's values laid out
    in like's memory order (copied if they are not already)."""
    if like is not None:
        if like.flags.c_contiguous:
            return numpy.ascontiguousarray(a).reshape(like.shape[0], like.shape[1], -1)
        return numpy.ascontiguousarray(a.swapaxes(0, 1)).reshape(1, like.shape[1], -1)
    if a.ndim < 3 or a.size < FUSED_MIN_SIZE or a.dtype not in (numpy.float32, numpy.float64):
        return None
    if a.flags.c_contiguous:
        return a.reshape(a.shape[0], a.shape[1], -1)
    if a.swapaxes(0, 1).flags.c_contiguous:
        return a.swapaxes(0, 1).reshape(1, a.shape[1], -1)
    return None


def _empty_like_view(a):
    """An empty array of a's shape and memory order (``_fused_view``'s two), and its (A, C, B) view."""
    if a.flags.c_contiguous:
        out = numpy.empty(a.shape, a.dtype)
        return out, out.reshape(a.shape[0], a.shape[1], -1)
    out = numpy.empty((a.shape[1], a.shape[0]) + a.shape[2:], a.dtype)
    return out.swapaxes(0, 1), out.reshape(1, a.shape[1], -1)


def _update_running(name: str, running, value, momentum: float) -> None:
    """running <- (1 - momentum) running + momentum value, in place (a Tensor's data or an array)."""
    array = running.data if isinstance(running, Tensor) else running
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"{name}: running statistics must be Tensors or arrays, got {type(running).__name__}")
    array *= 1 - momentum
    array += (momentum * value).astype(array.dtype, copy=False)


def _per_channel(name: str, what: str, value, channels: int, like: Tensor):
    if value is None:
        return None
    value = value if isinstance(value, Tensor) else Tensor(value, dtype=like.dtype)
    if value.shape != (channels,):
        raise ValueError(f"{name}: expected {what} of shape ({channels},), got {value.shape}")
    return value


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training: bool = True,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation of (N, C), (N, C, L) or (N, C, H, W) input, per channel C.

    Training: y = w (x - mu_B) / sqrt(var_B + eps) + b with the batch statistics (fused op
    ``BatchNorm``), and the running statistics, when given, are updated in place as PyTorch:
    running_mean <- (1 - momentum) running_mean + momentum mu_B, and the same for running_var with
    the *unbiased* batch variance var_B n / (n - 1). Evaluation: the running statistics replace the
    batch ones (a composite: y = x s + (b - running_mean s), s = w / sqrt(running_var + eps)).

    Args:
        x: input, channels on axis 1.
        running_mean, running_var: Tensors or arrays of shape (C,), or None (training: not tracked).
        weight, bias: gamma and beta of shape (C,), or None (1 and 0).
        training: use (and update) the batch statistics.
        momentum: weight of the new batch in the running averages.
        eps: added to the variance for stability.
    """
    x = _lift(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got {x.shape}")
    channels = x.shape[1]
    weight = _per_channel("batch_norm", "weight", weight, channels, x)
    bias = _per_channel("batch_norm", "bias", bias, channels, x)
    for what, running in (("running_mean", running_mean), ("running_var", running_var)):
        if running is not None and tuple(running.shape) != (channels,):
            raise ValueError(f"batch_norm: expected {what} of shape ({channels},), got {tuple(running.shape)}")
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation (training=False) needs running_mean and running_var")
        return _batch_norm_eval(x, running_mean, running_var, weight, bias, eps)
    n = x.numel() // channels
    if n < 2:
        raise ValueError(f"batch_norm: training needs more than one value per channel, got input of shape {x.shape}")
    ones = Tensor._make(numpy.ones(channels, dtype=x.dtype))
    function = BatchNorm(eps)
    zeros = Tensor._make(numpy.zeros(channels, dtype=x.dtype))
    y = function(x, ones if weight is None else weight, zeros if bias is None else bias)
    if running_mean is not None:
        _update_running("batch_norm", running_mean, function.mean, momentum)
    if running_var is not None:
        _update_running("batch_norm", running_var, function.var * (n / (n - 1)), momentum)
    return y


def _batch_norm_eval(x: Tensor, running_mean, running_var, weight, bias, eps: float) -> Tensor:
    mean = numpy.asarray(running_mean.data if isinstance(running_mean, Tensor) else running_mean)
    var = numpy.asarray(running_var.data if isinstance(running_var, Tensor) else running_var)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv_std = Tensor._make((1.0 / numpy.sqrt(var + eps)).astype(x.dtype, copy=False))
    scale = inv_std if weight is None else weight * inv_std
    shift = -(Tensor._make(mean.astype(x.dtype, copy=False)) * scale)
    if bias is not None:
        shift = shift + bias
    return x * ops.reshape(scale, shape) + ops.reshape(shift, shape)


def _draws(rng, x, shape):
    """Uniform draws in [0, 1) of ``shape`` (x's, or x's with 1s), laid out in x's memory order, so
    x * mask keeps x's layout: for a conv output's channels-first memory a C-ordered mask gave an
    NCHW product, which the next convolution copied back in its forward pass and again in its
    backward (bench/README.md, session 10). The draws follow memory order, so they depend on it."""
    order = _memory_order(x) or tuple(range(x.ndim))
    draws = backend.resolve_rng(rng).random(tuple(shape[a] for a in order),
                                            dtype=numpy.float64 if x.dtype == numpy.float64 else numpy.float32)
    return draws.transpose(_inverse(order))


def dropout(x, p: float = 0.5, training: bool = True, rng=None, inverted: bool = True) -> Tensor:
    """Dropout (Srivastava et al., 2014): zero each element with probability p in training.

    Inverted (default, as PyTorch): y = x m / (1 - p) in training, y = x in evaluation, so the
    expected activation is the same in both. Not inverted (the book's variant): y = x m in training,
    y = x (1 - p) in evaluation. m ~ Bernoulli(1 - p) elementwise, drawn from ``rng``
    (a Generator, an int seed, or None for the global generator). d y / d x = m (/ (1 - p)).
    """
    if not isinstance(p, (int, float, numpy.floating)) or not 0 <= p < 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1), got p={p!r}")
    x = _lift(x)
    if not training:
        return x if inverted or p == 0 else x * (1.0 - p)
    if p == 0:
        return x
    mask = (_draws(rng, x.data, x.shape) >= p).astype(x.dtype)
    if inverted:
        mask *= x.dtype.type(1.0 / (1.0 - p))
    return x * Tensor._make(mask)


def dropout2d(x, p: float = 0.5, training: bool = True, rng=None) -> Tensor:
    """Channel dropout (Tompson et al., 2015): zero whole channels of (N, C, H, W) or (C, H, W) input.

    y = x m / (1 - p) in training with one m ~ Bernoulli(1 - p) per (sample, channel); y = x in
    evaluation. Neighbouring pixels are correlated, so masking single pixels barely regularises a CNN.
    """
    if not isinstance(p, (int, float, numpy.floating)) or not 0 <= p < 1:
        raise ValueError(f"dropout2d: p must be a probability in [0, 1), got p={p!r}")
    x = _lift(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    if not training or p == 0:
        return x
    shape = x.shape[:-2] + (1, 1)
    mask = (_draws(rng, x.data, shape) >= p).astype(x.dtype)
    mask *= x.dtype.type(1.0 / (1.0 - p))
    return x * Tensor._make(mask)


__all__ = ["batch_norm", "dropout", "dropout2d", "BatchNorm"]
