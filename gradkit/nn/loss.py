"""Loss modules: ``loss_fn(input, target)`` wrappers over ``gradkit.functional``'s losses.

Being Modules, they can carry hooks and appear in a model's repr; the formulas, shapes and
numerics are documented on the functions they call. Constructor arguments are PyTorch's
(``weight``, ``ignore_index``, ``label_smoothing``, ``pos_weight``, ``reduction``); a class
``weight`` or ``pos_weight`` is registered as a buffer, as PyTorch does, so it follows ``to()``.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        from .functional import legacy_reduction
        reduction = legacy_reduction(size_average, reduce, reduction)
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def _buffer(self, name, value):
        self.register_buffer(name, None if value is None else value if isinstance(value, Tensor) else Tensor(value))


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits (N, C) against class indices (N,) or probabilities (N, C):
    -log softmax(x)_t, fused and stable (``functional.cross_entropy``); d/dx = softmax(x) - onehot(t).
    Options as PyTorch: class ``weight``, ``ignore_index``, ``label_smoothing``."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(size_average, reduce, reduction)
        self._buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, self.reduction, weight=self.weight, ignore_index=self.ignore_index,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (e.g. after LogSoftmax(dim=1)): -w[t] log_probs[t]."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self._buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, log_probs, target):
        return F.nll_loss(log_probs, target, self.reduction, weight=self.weight, ignore_index=self.ignore_index)


class MSELoss(_Loss):
    """Mean squared error (x - t)^2, averaged over every element by default; d/dx = 2 (x - t) / n."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |x - t|, averaged over every element by default; d/dx = sign(x - t) / n."""

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities: -w (t log p + (1 - t) log(1 - p)), logs clamped at -100."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self._buffer("weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.reduction, weight=self.weight)


class BCEWithLogitsLoss(_Loss):
    """Logistic loss of logits x against targets t in [0, 1]: softplus(x) - t x; d/dx = sigmoid(x) - t.
    ``pos_weight`` (per class) weighs the positive term, ``weight`` every element."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self._buffer("weight", weight)
        self._buffer("pos_weight", pos_weight)

    def forward(self, logits, target):
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction, weight=self.weight,
                                                  pos_weight=self.pos_weight)
