"""Loss modules: ``loss_fn(input, target)`` wrappers over ``gradkit.functional``'s losses.

Being Modules, they can carry hooks and appear in a model's repr; the formulas, shapes and
numerics are documented on the functions they call.
"""
from __future__ import annotations

from .. import functional as F
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits (N, C) against class indices (N,) or probabilities (N, C):
    -log softmax(x)_t, fused and stable (``functional.cross_entropy``); d/dx = softmax(x) - onehot(t)."""

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, reduction=self.reduction)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (e.g. after LogSoftmax(axis=1)): -log_probs[t]."""

    def forward(self, log_probs, target):
        return F.nll_loss(log_probs, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (x - t)^2, averaged over every element by default; d/dx = 2 (x - t) / n."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Logistic loss of logits x against targets t in [0, 1]: softplus(x) - t x; d/dx = sigmoid(x) - t."""

    def forward(self, logits, target):
        return F.binary_cross_entropy_with_logits(logits, target, reduction=self.reduction)
