"""Compiled loops for ReLU and its gradient on large NumPy arrays (private).

NumPy's ``maximum`` checks every element for NaN and ran at 0.17 ms on LeNet-5's first activation
(470,400 floats), and the gradient ``gy * (y > 0)`` is two passes, one of them a bool-to-float cast
(0.13 ms). Each is one pass here (bench/README.md has the figures). Only for arrays of at least
``MIN_SIZE`` elements: below that NumPy is as fast, and a small model never imports Numba (the first
large ReLU in a process takes 0.47 s, Numba's import and the load of the code it cached on disk).

Both loops run over memory order: the arrays must be dense in the same axis order (every conv and
pool output and its gradient is), otherwise the caller falls back to NumPy (``None``).
"""
from __future__ import annotations

import numpy

MIN_SIZE = 1 << 16
_kernels = None


def _compiled():
    global _kernels
    if _kernels is None:
        from numba import njit

        @njit(cache=True, nogil=True)
        def relu(x, y):
            zero = numpy.zeros(1, y.dtype)[0]
            for i in range(x.shape[0]):
                v = x[i]
                y[i] = v if v > 0 or v != v else zero  # NaN stays NaN and -0.0 gives 0.0, as maximum

        @njit(cache=True, nogil=True)
        def relu_gradient(y, gy, gx):
            zero = numpy.zeros(1, gx.dtype)[0]
            for i in range(y.shape[0]):
                gx[i] = gy[i] if y[i] > 0 else zero

        _kernels = relu, relu_gradient
    return _kernels


def _memory_order(a):
    """The axis order that makes ``a`` C-contiguous (largest stride first), or None if none does."""
    order = tuple(sorted(range(a.ndim), key=lambda axis: -a.strides[axis]))
    return order if a.transpose(order).flags.c_contiguous else None


def _empty_in_order(shape, dtype, order):
    """An empty array of ``shape`` whose memory is C-contiguous in axis ``order``."""
    memory = numpy.empty(tuple(shape[axis] for axis in order), dtype=dtype)
    return memory.transpose(numpy.argsort(order))


def _eligible(*arrays):
    """The common memory order of large, same-dtype NumPy float arrays; None otherwise."""
    first = arrays[0]
    if not all(type(a) is numpy.ndarray and a.shape == first.shape and a.dtype == first.dtype for a in arrays):
        return None
    if first.size < MIN_SIZE or first.dtype.kind != "f":
        return None
    orders = {_memory_order(a) for a in arrays}
    return orders.pop() if len(orders) == 1 and None not in orders else None


def _flat(a, order):
    return a.transpose(order).reshape(-1)


def relu(x):
    """max(x, 0) in one pass, in x's memory order; None where NumPy should do it."""
    order = _eligible(x)
    if order is None:
        return None
    y = _empty_in_order(x.shape, x.dtype, order)
    _compiled()[0](_flat(x, order), _flat(y, order))
    return y


def relu_gradient(y, gy):
    """gy where y > 0, else 0, in one pass; None where NumPy should do it."""
    order = _eligible(y, gy)
    if order is None:
        return None
    gx = _empty_in_order(y.shape, y.dtype, order)
    _compiled()[1](_flat(y, order), _flat(gy, order), _flat(gx, order))
    return gx
