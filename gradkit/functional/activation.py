"""Activation functions, each with its formula and its derivative.

sigmoid, tanh and relu are primitives of the engine (re-exported here). leaky_relu, prelu, elu and
maxout are compositions of primitives and carry no derivative rules. softplus, softmax and
log_softmax are fused ops, each saying why.
"""
from __future__ import annotations

import numpy

from ..autograd import ops
from ..autograd.function import Function
from ..autograd.ops import _lift, relu, sigmoid, tanh
from ..autograd.tensor import Tensor
from .math import logsumexp

# sigmoid(x) = 1 / (1 + e^-x),  sigmoid' = sigmoid (1 - sigmoid)   (primitive)
# tanh(x),                      tanh'    = 1 - tanh^2              (primitive)
# relu(x) = max(x, 0),          relu'    = [x > 0]                 (primitive)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """Leaky ReLU (Maas et al., 2013): y = x if x > 0 else a x.

    Derivative: 1 if x > 0 else a (a at x = 0, as PyTorch).
    """
    x = _lift(x)
    return ops.where(x.data > 0, x, x * negative_slope)


def prelu(x, weight) -> Tensor:
    """Parametric ReLU (He et al., 2015): y = x if x > 0 else a_c x, one learnt slope per channel.

    ``weight`` has shape (C,), broadcast over axis 1 of x (the channel axis of (N, C, ...)), or
    shape (1,), shared by all channels. Derivatives: dy/dx = 1 if x > 0 else a_c;
    dy/da_c = 0 if x > 0 else x.
    """
    x, weight = _lift(x), _lift(weight)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.ndim != 1 or weight.shape[0] not in (1, channels):
        raise ValueError(f"prelu: weight must have shape ({channels},) or (1,) for input of shape {x.shape}, "
                         f"got {weight.shape}")
    if weight.shape[0] != 1:
        weight = ops.reshape(weight, (1, channels) + (1,) * (x.ndim - 2))
    return ops.where(x.data > 0, x, x * weight)


def elu(x, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit (Clevert et al., 2015): y = x if x > 0 else alpha (e^x - 1).

    Derivative: 1 if x > 0 else alpha e^x (= y + alpha). The exponential only sees min(x, 0), so a
    large positive x cannot overflow into a NaN gradient. The gradient is alpha e^x from exp, as
    torch's elu_backward computes it (expm1's y + 1 rounds to 0 for x << 0: float32 x = -20 had the
    gradient 0 instead of 2e-9). A NaN takes the exponential branch, so its gradient is NaN, as in
    torch's vectorised CPU kernel (torch's scalar loop, which handles the elements of a small tensor,
    or the last ones of a large tensor that do not fill a vector, gives gy there).
    """
    x = _lift(x)
    positive = x.data > 0
    below = ops.where(positive, Tensor._make(numpy.zeros((), dtype=x.dtype)), x)
    return ops.where(positive, x, (ops.exp(below) - 1) * alpha)


class Softplus(Function):
    """y = log(1 + e^(beta x)) / beta, and y = x where beta x > threshold (as PyTorch).

    Derivative: sigmoid(beta x) (1 above the threshold). Fused for stability: log1p is not a
    primitive, and log(1 + e^z) composed from log and exp loses every digit once e^z < 1e-8.
    """

    def __init__(self, beta: float, threshold: float):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        z = x * self.beta  # a Python float keeps float32 float32 (NumPy 2 promotion)
        self.linear = z > self.threshold
        soft = numpy.log1p(numpy.exp(numpy.minimum(z, self.threshold))) / self.beta
        return numpy.where(self.linear, x, soft)

    def _slope(self) -> Tensor:
        x = self.inputs[0]
        return ops.where(self.linear, Tensor._make(numpy.ones((), dtype=x.dtype)), ops.sigmoid(x * self.beta))

    def backward(self, gy):
        return gy * self._slope()

    def jvp(self, t):
        return t * self._slope()


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Softplus (Dugas et al., 2001), a smooth ReLU: y = log(1 + e^(beta x)) / beta.

    Derivative: sigmoid(beta x). Linear above ``threshold`` (beta x > threshold), as PyTorch.
    """
    return Softplus(beta, threshold)(_lift(x))


def maxout(x, pieces: int, axis: int = 1) -> Tensor:
    """Maxout (Goodfellow et al., 2013): the max over groups of ``pieces`` consecutive units.

    The axis of size C * pieces is split into C groups of ``pieces`` consecutive units;
    y_c = max_k x_(c pieces + k). Derivative: the whole gradient goes to the (first) maximal unit.
    """
    x = _lift(x)
    axis = axis % x.ndim
    if pieces < 1 or x.shape[axis] % pieces:
        raise ValueError(f"maxout: axis {axis} of shape {x.shape} has size {x.shape[axis]}, "
                         f"not a multiple of pieces={pieces}")
    grouped = ops.reshape(x, x.shape[:axis] + (x.shape[axis] // pieces, pieces) + x.shape[axis + 1:])
    return ops.max(grouped, axis + 1)


class Softmax(Function):
    """y_i = e^(x_i - m) / sum_j e^(x_j - m), m = max_j x_j, along one axis.

    Derivative: dx = y (gy - sum(gy y)). Fused for speed (one node instead of six) and stability
    (the max is subtracted); the rule uses the output, so it is differentiable again.
    """

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        y = x - x.max(axis=self.axis, keepdims=True)
        numpy.exp(y, out=y)
        y /= y.sum(axis=self.axis, keepdims=True)
        self.y = y
        return y

    def _apply_jacobian(self, v: Tensor) -> Tensor:
        y = self.output(self.y)
        return y * (v - ops.sum(v * y, self.axis, keepdims=True))

    def backward(self, gy):
        return self._apply_jacobian(gy)  # the Jacobian is symmetric

    def jvp(self, t):
        return self._apply_jacobian(t)


class LogSoftmax(Function):
    """y_i = x_i - logsumexp(x), along one axis; stable (the max is subtracted first).

    Derivative: dx = gy - softmax(x) sum(gy). Fused for speed and stability; softmax is taken as
    exp(y) of the recorded output, so the rule is itself differentiable (Newton needs the Hessian).
    """

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        z = x - x.max(axis=self.axis, keepdims=True)
        self.y = z - numpy.log(numpy.exp(z).sum(axis=self.axis, keepdims=True))
        return self.y

    def _softmax(self) -> Tensor:
        return ops.exp(self.output(self.y))

    def backward(self, gy):
        return gy - self._softmax() * ops.sum(gy, self.axis, keepdims=True)

    def jvp(self, t):
        return t - ops.sum(self._softmax() * t, self.axis, keepdims=True)


def _check_axis(name: str, x: Tensor, axis: int) -> int:
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{name}: axis {axis} is out of range for input of shape {x.shape}")
    return axis % x.ndim


def softmax(x, axis: int = -1) -> Tensor:
    """Softmax along ``axis``: y_i = e^(x_i) / sum_j e^(x_j) (stable). dx = y (gy - sum(gy y))."""
    x = _lift(x)
    return Softmax(_check_axis("softmax", x, axis))(x)


def log_softmax(x, axis: int = -1) -> Tensor:
    """Log-softmax along ``axis``: y_i = x_i - log sum_j e^(x_j) (stable). dx = gy - softmax(x) sum(gy)."""
    x = _lift(x)
    return LogSoftmax(_check_axis("log_softmax", x, axis))(x)


__all__ = ["sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "softplus", "maxout", "softmax",
           "log_softmax", "logsumexp", "Softmax", "LogSoftmax", "Softplus"]
