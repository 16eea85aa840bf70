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


class TargetError(ValueError, IndexError):
    """A class index outside [0, C): a ValueError, and the IndexError PyTorch raises for it."""


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":  # the mean of no elements is nan, as PyTorch
        return ops.sum(loss) / (float(loss.data.size) or float("nan"))
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _classes_last(name: str, scores, target, ignore_index=None):
    """Scores as (M, C) with the classes last, the target as (M,) indices or (M, C) probabilities,
    and the shape a per-sample loss takes back (for reduction="none"). Indices equal to
    ``ignore_index`` may lie outside [0, C)."""
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
        checked = indices if ignore_index is None else indices[indices != ignore_index]
        if checked.size and (checked.min() < 0 or checked.max() >= classes):
            raise TargetError(f"{name}: class indices must lie in [0, {classes}), "
                             f"got values from {checked.min()} to {checked.max()}")
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
        log_s = numpy.log(s)
        self.p = numpy.divide(e, s, out=e)
        if self.indices is not None:
            # log s_i - z_i,t_i: the same bits as -(z - log s)[i, t_i] (IEEE rounding is symmetric in
            # sign), without the (M, C) log-softmax an index target never reads
            loss = log_s.reshape(-1) - z[numpy.arange(x.shape[0]), self.indices]
        else:
            self.logp = z - log_s
            loss = -(t * self.logp).sum(axis=1)
        if self.reduction == "none":
            return loss
        total = loss.sum()
        if self.reduction != "mean":
            return total
        with numpy.errstate(invalid="ignore"):  # no samples: 0 / 0 = nan, as PyTorch
            return total / x.dtype.type(x.shape[0])

    def _weight(self, gy):
        """d loss / d loss_i as a column (M, 1); for "mean" and "sum", gy may be the bare array."""
        if self.reduction == "none":
            return ops.reshape(gy, (-1, 1))
        return gy / float(max(self.inputs[0].shape[0], 1)) if self.reduction == "mean" else gy  # no rows: no gradient

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
            # without their four nodes, the one-hot matrix and the node dividing gy (the usual step)
            g = self.p.copy()
            g[numpy.arange(g.shape[0]), self.indices] -= 1
            g *= self._weight(gy.data)
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


def cross_entropy(logits, target, reduction: str = "mean", weight=None, ignore_index: int = -100,
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of unnormalised class scores against class indices or probabilities.

    loss_i = -log softmax(x_i)_(t_i) for a class index, or -sum_c t_ic log softmax(x_i)_c for
    probabilities (one-hot or soft labels). d loss_i / dx_i = softmax(x_i) - t_i. Fused
    (see ``CrossEntropy``): stable for any logits, and twice differentiable.

    With PyTorch's options (then composed from ``log_softmax`` and ``nll_loss``):
    class weights w scale each sample by w[t_i] and "mean" divides by sum_i w[t_i]; samples whose
    index equals ``ignore_index`` count for nothing; label smoothing e mixes the target with the
    uniform distribution: loss = (1 - e) nll + e / C sum_c -w_c log softmax(x)_c.

    Args:
        logits: (N, C), (C,) or (N, C, d1, ...) float scores.
        target: integer class indices (N,) / () / (N, d1, ...), or probabilities of the logits' shape.
        reduction: "mean" (over samples; over the samples' weights with ``weight``), "sum" or "none".
        weight: optional (C,) class weights.
        ignore_index: a class index whose samples are left out (indices only).
        label_smoothing: e in [0, 1].

    The mean over no samples (an empty batch, every sample ignored) is nan, as PyTorch.

    Example:
        >>> cross_entropy(Tensor([[2.0, 0.0, 0.0]]), numpy.array([0]))     # -log(e^2 / (e^2 + 2))
        tensor(0.2395)
    """
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must lie in [0, 1], got {label_smoothing}")
    scores, target, shape = _classes_last("cross_entropy", logits, target, ignore_index)
    ignoring = not isinstance(target, Tensor) and bool((target == ignore_index).any())
    if weight is None and label_smoothing == 0.0 and not ignoring:  # the fused op (the usual case)
        if isinstance(target, Tensor):
            loss = CrossEntropy(reduction)(scores, target)
        else:
            loss = CrossEntropy(reduction, target)(scores)
        return ops.reshape(loss, shape) if reduction == "none" else loss
    log_probs = log_softmax(scores, 1)
    classes = scores.shape[1]
    weight = _class_weight("cross_entropy", weight, classes, scores.dtype)
    if isinstance(target, Tensor):  # probabilities: smooth them, weight them, mean over samples
        if label_smoothing:
            target = target * (1.0 - label_smoothing) + label_smoothing / classes
        loss = -ops.sum(log_probs * (target if weight is None else target * weight), 1)
        return ops.reshape(loss, shape) if reduction == "none" else _reduce(loss, reduction)
    loss, total_weight = _weighted_nll(log_probs, target, weight, ignore_index)
    if label_smoothing:  # ignored samples selected out, as torch's masked_fill (-inf * 0 would be NaN)
        smooth = -ops.sum(log_probs if weight is None else log_probs * weight, 1)
        smooth = ops.where(target != ignore_index, smooth, 0.0)
        loss = loss * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)
    return _reduce_weighted(loss, shape, reduction, total_weight)


def _class_weight(name: str, weight, classes: int, dtype):
    """``weight`` as a (C,) Tensor of the scores' dtype, or None."""
    if weight is None:
        return None
    weight = weight if isinstance(weight, Tensor) else Tensor(numpy.asarray(weight))
    if weight.shape != (classes,):
        raise ValueError(f"{name}: weight must have shape ({classes},), one value per class, got {weight.shape}")
    return ops.cast(weight, dtype)


def _weighted_nll(log_probs: Tensor, indices, weight, ignore_index):
    """Per-sample -w[t_i] log_probs[i, t_i] (0 where t_i == ignore_index) and sum_i w[t_i] over the kept.

    The target's log-probability is picked by index and the ignored samples are selected out, as
    torch does: a class masked with -inf (log_softmax of a -inf logit) stays out of the other
    samples' losses and gradients (multiplying by a one-hot matrix would give -inf * 0 = NaN)."""
    kept = indices != ignore_index
    safe = numpy.where(kept, indices, 0)
    per_sample = kept.astype(log_probs.dtype)
    if weight is not None:
        per_sample = per_sample * weight.data[safe]
    picked = ops.getitem(log_probs, (numpy.arange(safe.shape[0]), safe))
    loss = ops.where(kept, -picked * Tensor._make(per_sample), 0.0)
    return loss, float(per_sample.sum())


def _reduce_weighted(loss: Tensor, shape, reduction: str, total_weight: float) -> Tensor:
    if reduction == "none":
        return ops.reshape(loss, shape)
    if reduction == "sum":
        return ops.sum(loss)
    if total_weight == 0:  # nothing kept: the loss is nan and the gradient 0, as PyTorch
        return ops.sum(loss) * 0.0 + float("nan")
    return ops.sum(loss) / total_weight


def nll_loss(log_probs, target, reduction: str = "mean", weight=None, ignore_index: int = -100) -> Tensor:
    """Negative log-likelihood of log-probabilities: loss_i = -w[t_i] log_probs_i[t_i] (or -sum_c t_ic log_probs_ic).

    The composite half of cross-entropy: ``nll_loss(log_softmax(x, 1), t) == cross_entropy(x, t)``.
    d loss_i / d log_probs_i = -w[t_i] onehot(t_i). ``weight``, ``ignore_index`` and the weighted
    mean as in ``cross_entropy``.
    """
    _check_reduction("nll_loss", reduction)
    scores, target, shape = _classes_last("nll_loss", log_probs, target, ignore_index)
    weight = _class_weight("nll_loss", weight, scores.shape[1], scores.dtype)
    if isinstance(target, Tensor):
        loss = -ops.sum(scores * (target if weight is None else target * weight), 1)
        return ops.reshape(loss, shape) if reduction == "none" else _reduce(loss, reduction)
    loss, total_weight = _weighted_nll(scores, target, weight, ignore_index)
    return _reduce_weighted(loss, shape, reduction, total_weight)


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


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error: loss = |input - target|, averaged over every element by default.

    d loss / d input = sign(input - target) / n (0 where they are equal, as PyTorch)."""
    _check_reduction("l1_loss", reduction)
    input, target = _target_like("l1_loss", input, target)
    return _reduce(ops.abs(input - target), reduction)


def _elementwise_weight(name: str, weight, like: Tensor):
    if weight is None:
        return None
    weight = ops.cast(weight if isinstance(weight, Tensor) else Tensor(numpy.asarray(weight)), like.dtype)
    try:
        numpy.broadcast_shapes(weight.shape, like.shape)
    except ValueError:
        raise ValueError(f"{name}: weight of shape {weight.shape} does not broadcast to the input's shape "
                         f"{like.shape}") from None
    return weight


_BCE_EPSILON = float(numpy.float32(1e-12))  # torch's EPSILON is a C float, 1e-12 rounded to float32, for float64 too


class BinaryCrossEntropy(Function):
    """loss = (t - 1) max(log(1 - p), -100) - t max(log p, -100) for probabilities p, targets t (torch's).

    Fused because torch's gradients are not this forward's derivatives where the logs are clamped:
    dp = gy (p - t) / max(p (1 - p), 1e-12), finite at p = 0 and 1 (the composite's log gradient
    was 0 / 0 = NaN there), and dt = -gy logit(p) = -gy log(p / (1 - p)). The rules are built from
    ops, so they can be differentiated again.
    """

    def forward(self, p, t):
        with numpy.errstate(divide="ignore"):
            return (t - 1) * numpy.maximum(numpy.log1p(-p), -100) - t * numpy.maximum(numpy.log(p), -100)

    def _dp(self) -> Tensor:
        p, t = self.inputs
        return (p - t) / ops.maximum((1.0 - p) * p, _BCE_EPSILON)

    def _dt(self) -> Tensor:
        p = self.inputs[0]
        with numpy.errstate(divide="ignore"):
            return -ops.log(p / (1.0 - p))

    def backward(self, gy):
        p, t = self.inputs
        return (gy * self._dp() if p.requires_grad else None,
                gy * self._dt() if t.requires_grad else None)

    def jvp(self, tp, tt):
        return tp * self._dp() + tt * self._dt()


def _check_probabilities(name: str, what: str, values):
    inside = (values >= 0) & (values <= 1)  # false at NaN: torch raises for NaN too
    if not inside.all():
        raise ValueError(f"{name}: {what} must hold probabilities in [0, 1], got {values[~inside].ravel()[0]}")


def binary_cross_entropy(input, target, reduction: str = "mean", weight=None) -> Tensor:
    """Binary cross-entropy of probabilities p in [0, 1] against targets t in [0, 1].

    loss = -w (t log p + (1 - t) log(1 - p)), each log clamped at -100 as PyTorch (so p = 0 or 1
    gives a finite loss). d loss / dp = w (p - t) / max(p (1 - p), 1e-12), as PyTorch (fused: see
    ``BinaryCrossEntropy``). An input or target outside [0, 1], or NaN, is a ValueError (torch
    raises too). Prefer ``binary_cross_entropy_with_logits``: it is stable for any logit.
    """
    _check_reduction("binary_cross_entropy", reduction)
    input, target = _target_like("binary_cross_entropy", input, target)
    _check_probabilities("binary_cross_entropy", "input", input.data)
    _check_probabilities("binary_cross_entropy", "target", target.data)
    loss = BinaryCrossEntropy()(input, target)
    weight = _elementwise_weight("binary_cross_entropy", weight, input)
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(logits, target, reduction: str = "mean", weight=None,
                                     pos_weight=None) -> Tensor:
    """Logistic loss of logits x against targets t in [0, 1], stable for any x.

    loss = -w (q t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) = w ((1 - t) x + (1 + (q - 1) t) softplus(-x)),
    with q = ``pos_weight`` (per class, broadcast over the last axis) weighing the positive term;
    with neither option it is (1 - t) x + softplus(-x), d loss / dx = sigmoid(x) - t, d loss / dt = -x.
    This is torch's form, (1 - t) x - logsigmoid(x): the same infinities and NaN at x = +-inf (inf at
    +inf for t < 1, NaN at -inf); softplus(x) - t x gives them elsewhere. Built on the fused, stable
    ``softplus``.
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    logits, target = _target_like("binary_cross_entropy_with_logits", logits, target)
    if pos_weight is None:
        loss = (1.0 - target) * logits + softplus(-logits)
    else:
        pos_weight = _elementwise_weight("binary_cross_entropy_with_logits (pos_weight)", pos_weight, logits)
        loss = (1.0 - target) * logits + ((pos_weight - 1.0) * target + 1.0) * softplus(-logits)
    weight = _elementwise_weight("binary_cross_entropy_with_logits", weight, logits)
    return _reduce(loss if weight is None else loss * weight, reduction)


__all__ = ["TargetError", "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "CrossEntropy"]
