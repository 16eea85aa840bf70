"""Batch normalisation and dropout: the layers that behave differently in training and evaluation.

Both read ``self.training`` (set by ``model.train()`` / ``model.eval()``), never an argument
threaded through calls nor a global switch.
"""
from __future__ import annotations

import numpy

from .. import backend
from .. import functional as F
from ..autograd import Tensor
from ..autograd.ops import ShapeError
from .module import Module, Parameter


class _BatchNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel (axis 1).

    Ioffe & Szegedy (2015), "Batch Normalization: Accelerating Deep Network Training by Reducing
    Internal Covariate Shift". In training the mean and (biased) variance of the batch are used and
    the running estimates move towards them:

        running = (1 - momentum) running + momentum batch_statistic

    with the unbiased batch variance for ``running_var`` (as PyTorch). In evaluation the running
    estimates are used. ``momentum=None`` gives the cumulative average over all batches seen
    (factor 1 / num_batches_tracked).

    Args:
        num_features: C, the number of channels.
        eps: added to the variance for stability.
        momentum: weight of the newest batch in the running estimates (PyTorch's convention; Keras's
            ``momentum`` is 1 minus this), or None for a cumulative average.
        affine: learn weight (gamma, initialised to 1) and bias (beta, initialised to 0).
        track_running_stats: keep running estimates (else batch statistics in evaluation too).
        device, dtype: PyTorch's factory keywords (the CPU only).
        bias: with ``affine``, also learn beta (PyTorch 2.13's keyword); False keeps gamma alone.
    """

    _input_ndims: tuple = ()
    _input_text = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        super().__init__()
        if num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be positive, got {num_features}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1] or None, got {momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.has_bias = bool(affine and bias)
        default = backend.get_default_dtype()
        self.register_parameter("weight", Parameter(backend.xp.ones(num_features, dtype=default)) if affine else None)
        self.register_parameter("bias", Parameter(backend.xp.zeros(num_features, dtype=default))
                                if self.has_bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(backend.xp.zeros(num_features, dtype=default)))
            self.register_buffer("running_var", Tensor(backend.xp.ones(num_features, dtype=default)))
            self.register_buffer("num_batches_tracked", Tensor(backend.xp.zeros((), dtype=numpy.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        if device is not None or dtype is not None:
            self.to(*(a for a in (device, dtype) if a is not None))

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim not in self._input_ndims or x.shape[1] != self.num_features:
            raise ShapeError(f"{self!r}: expected input of shape {self._input_text.format(C=self.num_features)}, "
                             f"got {x.shape}")
        use_batch_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.data)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_batch_stats,
                            momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.has_bias}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input over N (and L), per feature C. See ``_BatchNorm``."""

    _input_ndims = (2, 3)
    _input_text = "(N, {C}) or (N, {C}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input over N, H and W, per channel C. See ``_BatchNorm``."""

    _input_ndims = (4,)
    _input_text = "(N, {C}, H, W)"


class Dropout(Module):
    """Zero each element with probability p in training (Srivastava et al. 2014, JMLR).

    Inverted (default, as PyTorch): the kept elements are scaled by 1 / (1 - p) in training, so the
    expected output equals the input and evaluation is the identity. Not inverted (the form of
    *Deep Learning from Scratch*): training only masks, and evaluation multiplies by (1 - p).

    Args:
        p: probability of dropping an element, in [0, 1).
        inplace: accepted for PyTorch's signature; the output is always a new tensor.
        inverted: scale at training time (True) or at evaluation time (False).
        rng: numpy Generator or seed for the masks; None uses the global generator at each call.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, inverted: bool = True, rng=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1), got {p}")
        self.p, self.inplace, self.inverted = p, bool(inplace), inverted
        # a seed becomes one Generator now: resolving it at every call would repeat the same mask
        self.rng = None if rng is None else backend.resolve_rng(rng)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng, inverted=self.inverted)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}" + ("" if self.inverted else ", inverted=False")


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) input with probability p in training, scaling the kept
    ones by 1 / (1 - p) (Tompson et al. 2015); the identity in evaluation. ``inplace`` is accepted
    and gives a new tensor."""

    def __init__(self, p: float = 0.5, inplace: bool = False, rng=None):
        super().__init__(p, inplace, rng=rng)

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training, self.rng)
