"""Gradient clipping: rescale (or clamp) the gradients in place before the optimiser step.

A remedy for exploding gradients (source article 000, 梯度剪切): a step can never be longer than
``lr · max_norm``. Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
networks" (ICML 2013).
"""
from __future__ import annotations

import math

import numpy

from ..autograd import Tensor


def _grads(params) -> list:
    params = [params] if isinstance(params, Tensor) else list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"clip: parameter {i} is a {type(p).__name__}, expected a Tensor")
    return [p.grad.data for p in params if p.grad is not None]


def _norm(array, norm_type: float):
    a = numpy.abs(array.reshape(-1))
    if norm_type == math.inf:
        return a.max() if a.size else numpy.zeros((), a.dtype)[()]
    if norm_type == 2.0:
        return numpy.sqrt(a.dot(a))
    return (a ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(params, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    r"""Scale all gradients together so that their joint norm is at most ``max_norm``.

    ||g|| = ||(||g_1||, ..., ||g_n||)||_p over the parameters' gradients (the norm of all of them
    as one vector); then every g_i <- g_i · min(1, max_norm / (||g|| + 1e-6)), as ``torch.nn.utils``.

    Args:
        params: a Tensor or an iterable of Tensors (those without ``.grad`` are skipped).
        max_norm: the largest norm allowed.
        norm_type: p >= 1, or ``math.inf`` for the largest absolute entry.
        error_if_nonfinite: raise if the norm is NaN or infinite (instead of scaling by NaN).

    Returns:
        The total norm before clipping, a one-element Tensor of the gradients' dtype.

    Example:
        >>> loss.backward()
        >>> norm = clip_grad_norm_(params, max_norm=1.0)
        >>> opt.step()
    """
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if not (norm_type == math.inf or norm_type >= 1.0):
        raise ValueError(f"clip_grad_norm_: invalid norm_type = {norm_type}; allowed range is [1, inf]")
    if max_norm < 0 or math.isnan(max_norm):
        raise ValueError(f"clip_grad_norm_: invalid max_norm = {max_norm}; allowed range is [0, inf)")
    grads = _grads(params)
    if not grads:
        return Tensor(0.0)
    norms = numpy.stack([_norm(g, norm_type) for g in grads])
    total = _norm(norms, norm_type)
    if error_if_nonfinite and not numpy.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type:g}-norm of the gradients is {total}; "
                           "set error_if_nonfinite=False to clip anyway")
    coefficient = numpy.minimum(max_norm / (total + 1e-6), 1.0)
    with numpy.errstate(invalid="ignore"):  # an infinite norm scales by 0: inf entries become NaN, as in torch
        for g in grads:
            g *= coefficient
    return Tensor._make(numpy.asarray(total))


def clip_grad_value_(params, clip_value: float) -> None:
    """Clamp every gradient entry to [-clip_value, clip_value], in place (as ``torch.nn.utils``)."""
    clip_value = float(clip_value)
    if clip_value < 0 or math.isnan(clip_value):
        raise ValueError(f"clip_grad_value_: invalid clip_value = {clip_value}; allowed range is [0, inf)")
    for g in _grads(params):
        numpy.clip(g, -clip_value, clip_value, out=g)
