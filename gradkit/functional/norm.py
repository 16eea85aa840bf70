"""Batch normalisation (fused) and dropout (a composite with an explicit random generator)."""
from __future__ import annotations

import numpy

from .. import backend
from ..autograd import ops
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

    def forward(self, x, w, b):
        axes = self._axes(x.ndim)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        self.mean = x.mean(axis=axes)
        xc = x - self.mean.reshape(shape)
        self.var = numpy.mean(numpy.square(xc), axis=axes)
        self.inv_std = (1.0 / numpy.sqrt(self.var + self.eps)).astype(x.dtype, copy=False).reshape(shape)
        self.xhat = numpy.multiply(xc, self.inv_std, out=xc)
        return self.xhat * w.reshape(shape) + b.reshape(shape)

    def _statistics(self):
        """(xhat, 1 / sqrt(var + eps)): a graph over x while one is recorded, constants otherwise."""
        if not is_grad_enabled():
            return Tensor._make(self.xhat), Tensor._make(self.inv_std)
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
        xhat, inv_std = self._statistics()
        axes = self._axes(gy.ndim)
        gx = self._project(gy * self._channels(w), xhat, inv_std) if x.requires_grad else None
        gw = ops.sum(gy * xhat, axes) if w.requires_grad else None
        gb = ops.sum(gy, axes) if b.requires_grad else None
        return gx, gw, gb

    def jvp(self, tx, tw, tb):
        w = self.inputs[1]
        xhat, inv_std = self._statistics()
        return (self._project(tx, xhat, inv_std) * self._channels(w) + xhat * self._channels(tw)
                + self._channels(tb))


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
    draws = backend.resolve_rng(rng).random(x.shape, dtype=numpy.float64 if x.dtype == numpy.float64 else numpy.float32)
    mask = (draws >= p).astype(x.dtype)
    if inverted:
        mask *= x.dtype.type(1.0 / (1.0 - p))
    return x * Tensor._make(mask)


__all__ = ["batch_norm", "dropout", "BatchNorm"]
