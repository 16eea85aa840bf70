"""Loss functions: cross-entropy (fused), negative log-likelihood, mean squared error, logistic loss.

Every loss takes ``reduction``: "mean" (the average over the elements of the loss), "sum", or
"none" (one value per sample). Class scores are (N, C) or (N, C, d1, ...) with the classes on
axis 1, as in PyTorch; targets are integer class indices (N,) / (N, d1, ...) or class
probabilities (one-hot or soft) of the scores' shape.
"""
from __future__ import annotations

import numpy

from ..autograd import ops
from ..autograd.function import Function
from ..autograd.mode import is_grad_enabled
from ..autograd.ops import _lift
from ..autograd.tensor import Tensor
from .activation import log_softmax, softmax, softplus
from .math import one_hot

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return ops.sum(loss) / float(max(loss.numel(), 1))
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _classes_last(name: str, scores, target):
    """Scores as (M, C) with the classes last, the target as (M,) indices or (M, C) probabilities,
    and the shape a per-sample loss takes back (for reduction="none")."""
    scores = _lift(scores)
    target = target if isinstance(target, Tensor) else Tensor(target)
    if scores.ndim == 0 or scores.dtype.kind != "f":
        raise ValueError(f"{name}: expected float class scores of shape (N, C) or (N, C, d1, ...), "
                         f"got shape {scores.shape} and dtype {scores.dtype}")
    if scores.ndim == 1:                                   # one sample (C,)
        scores, target, shape = ops.reshape(scores, (1, -1)), target, ()
        target = ops.reshape(target, (1,) + target.shape) if target.dtype.kind == "f" else target
    else:
        shape = (scores.shape[0],) + scores.shape[2:]
    if scores.ndim > 2:                                    # (N, C, d...) -> (N d..., C)
        axes = (0,) + tuple(range(2, scores.ndim)) + (1,)
        scores = ops.reshape(ops.transpose(scores, axes), (-1, scores.shape[1]))
        if target.dtype.kind == "f":
            target = ops.reshape(ops.transpose(target, axes), (-1, target.shape[1]))
    classes = scores.shape[1]
    if target.dtype.kind in "iu":
        if tuple(target.shape) != shape:
            raise ValueError(f"{name}: class-index target must have shape {shape} for scores of shape "
                             f"{tuple(shape[:1]) + (classes,) + tuple(shape[1:])}, got {target.shape}")
        indices = target.data.reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= classes):
            raise ValueError(f"{name}: class indices must lie in [0, {classes}), "
                             f"got values from {indices.min()} to {indices.max()}")
        return scores, indices, shape
    if target.dtype.kind != "f" or target.shape != scores.shape:
        raise ValueError(f"{name}: expected integer class indices of shape {shape} or class probabilities of the "
                         f"scores' shape, got a target of shape {target.shape} and dtype {target.dtype}")
    return scores, ops.cast(target, scores.dtype), shape  # a float64 target must not promote float32 work


class CrossEntropy(Function):
    """Softmax cross-entropy of logits x (M, C) against class indices or probabilities t.

    loss_i = -sum_c t_ic log softmax(x_i)_c = sum_c t_ic (logsumexp(x_i) - x_ic).
    d loss_i / dx_i = softmax(x_i) sum_c t_ic - t_i   (= p_i - onehot_i for class indices);
    d loss_i / dt_i = -log softmax(x_i).

    Fused for stability (log-softmax is taken as x - max - log sum e^(x - max), never log(softmax))
    and speed (one node; backward is p - t, with no log or division). With create_graph the rule is
    built from ``softmax`` of the recorded input, so the Hessian exists (Newton-CG needs it).
    Inputs: (x,) with integer indices given to the constructor, or (x, t) with probabilities t.
    """

    def __init__(self, reduction: str, indices=None):
        self.reduction, self.indices = reduction, indices

    def forward(self, x, t=None):
        z = x - x.max(axis=1, keepdims=True)
        e = numpy.exp(z)
        s = e.sum(axis=1, keepdims=True)
        self.logp = z - numpy.log(s)
        self.p = numpy.divide(e, s, out=e)
        if self.indices is not None:
            loss = -self.logp[numpy.arange(x.shape[0]), self.indices]
        else:
            loss = -(t * self.logp).sum(axis=1)
        if self.reduction == "none":
            return loss
        total = loss.sum()
        return total / x.dtype.type(max(x.shape[0], 1)) if self.reduction == "mean" else total

    def _weight(self, gy: Tensor) -> Tensor:
        """d loss / d loss_i as a column (M, 1)."""
        if self.reduction == "none":
            return ops.reshape(gy, (-1, 1))
        return gy / float(max(self.inputs[0].shape[0], 1)) if self.reduction == "mean" else gy

    def _dlogits(self) -> Tensor:
        """d loss_i / dx_i (M, C), a graph over x (and t) when one is being recorded."""
        x = self.inputs[0]
        p = softmax(x, 1) if is_grad_enabled() else Tensor._make(self.p)
        if self.indices is not None:
            return p - one_hot(self.indices, x.shape[1], dtype=x.dtype)
        t = self.inputs[1]
        return p * ops.sum(t, 1, keepdims=True) - t

    def _dtarget(self) -> Tensor:
        return -(log_softmax(self.inputs[0], 1) if is_grad_enabled() else Tensor._make(self.logp))

    def backward(self, gy):
        if self.indices is not None and self.reduction != "none" and not is_grad_enabled():
            # nothing to record: (p - onehot) * weight in one array, the same numbers as the ops below
            # without their four nodes and the one-hot matrix (the usual training step)
            g = self.p.copy()
            g[numpy.arange(g.shape[0]), self.indices] -= 1
            g *= self._weight(gy).data
            return Tensor._make(g)
        weight = self._weight(gy)
        gx = self._dlogits() * weight if self.inputs[0].requires_grad else None
        if self.indices is not None:
            return gx
        return gx, (self._dtarget() * weight if self.inputs[1].requires_grad else None)

    def jvp(self, tx, tt=None):
        per_sample = ops.sum(self._dlogits() * tx, 1)
        if tt is not None:
            per_sample = per_sample + ops.sum(self._dtarget() * tt, 1)
        if self.reduction == "none":
            return per_sample
        total = ops.sum(per_sample)
        return total / float(max(tx.shape[0], 1)) if self.reduction == "mean" else total


def cross_entropy(logits, target, reduction: str = "mean") -> Tensor:
    """Cross-entropy of unnormalised class scores against class indices or probabilities.

    loss_i = -log softmax(x_i)_(t_i) for a class index, or -sum_c t_ic log softmax(x_i)_c for
    probabilities (one-hot or soft labels). d loss_i / dx_i = softmax(x_i) - t_i. Fused
    (see ``CrossEntropy``): stable for any logits, and twice differentiable.

    Args:
        logits: (N, C), (C,) or (N, C, d1, ...) float scores.
        target: integer class indices (N,) / () / (N, d1, ...), or probabilities of the logits' shape.
        reduction: "mean" (over samples), "sum" or "none".

    Example:
        >>> cross_entropy(Tensor([[2.0, 0.0, 0.0]]), numpy.array([0]))     # -log(e^2 / (e^2 + 2))
        tensor(0.2395)
    """
    _check_reduction("cross_entropy", reduction)
    scores, target, shape = _classes_last("cross_entropy", logits, target)
    if isinstance(target, Tensor):
        loss = CrossEntropy(reduction)(scores, target)
    else:
        loss = CrossEntropy(reduction, target)(scores)
    return ops.reshape(loss, shape) if reduction == "none" else loss


def nll_loss(log_probs, target, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities: loss_i = -log_probs_i[t_i] (or -sum_c t_ic log_probs_ic).

    The composite half of cross-entropy: ``nll_loss(log_softmax(x, 1), t) == cross_entropy(x, t)``.
    d loss_i / d log_probs_i = -onehot(t_i).
    """
    _check_reduction("nll_loss", reduction)
    scores, target, shape = _classes_last("nll_loss", log_probs, target)
    if not isinstance(target, Tensor):
        target = one_hot(target, scores.shape[1], dtype=scores.dtype)
    loss = -ops.sum(scores * target, 1)
    return ops.reshape(loss, shape) if reduction == "none" else _reduce(loss, reduction)


def _target_like(name: str, input, target):
    """Both as Tensors of the input's float dtype (no silent float64 promotion), of one shape."""
    input = _lift(input)
    target = ops.cast(target if isinstance(target, Tensor) else Tensor(target), input.dtype)
    if input.shape != target.shape:
        raise ValueError(f"{name}: input and target must have the same shape, got input {input.shape} "
                         f"and target {target.shape}")
    return input, target


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean squared error: loss = (input - target)^2, averaged over every element by default.

    d loss / d input = 2 (input - target) / n. Shapes must match (no silent broadcasting).
    """
    _check_reduction("mse_loss", reduction)
    input, target = _target_like("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def binary_cross_entropy_with_logits(logits, target, reduction: str = "mean") -> Tensor:
    """Logistic loss of logits x against targets t in [0, 1], stable for any x.

    loss = -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)) = softplus(x) - t x.
    d loss / dx = sigmoid(x) - t; d loss / dt = -x. Built on the fused, stable ``softplus``.
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    logits, target = _target_like("binary_cross_entropy_with_logits", logits, target)
    return _reduce(softplus(logits) - target * logits, reduction)


__all__ = ["cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy_with_logits", "CrossEntropy"]
