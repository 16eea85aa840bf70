"""Compiled loops for ReLU, its gradient and the sum of two arrays, on large NumPy arrays (private).

NumPy's ``maximum`` checks every element for NaN and ran at 0.17 ms on LeNet-5's first activation
(470,400 floats), and the gradient ``gy * (y > 0)`` is two passes, one of them a bool-to-float cast
(0.13 ms). Each is one pass here (bench/README.md has the figures). Only for arrays of at least
``MIN_SIZE`` elements: below that NumPy is as fast, and a small model never imports Numba (the first
large ReLU in a process takes 0.47 s, Numba's import and the load of the code it cached on disk).

With ``SPLIT`` on, each loop over at least ``SPLIT_MIN_SIZE`` elements is split over gradkit's
threads while gradkit holds them (a model with convolutions; see ``threads``), never taking them
from BLAS itself. The loops run over memory order: the arrays must be dense in the same axis order
(every conv and pool output and its gradient is), otherwise the caller falls back to NumPy (``None``).
"""
from __future__ import annotations

import numpy

MIN_SIZE = 1 << 16
# Split over gradkit's threads while it holds them (``threads.split(take=False)``), from
# ``SPLIT_MIN_SIZE`` elements: below it waking the second thread cost more than half the loop (the
# ReLU gradient at 313,600 floats: 0.070 ms on one thread, 0.080 split; at 627,200: 0.126 against
# 0.100; bench/README.md, session 9). The compiled sum is only worth its call when split.
SPLIT = True
SPLIT_MIN_SIZE = 1 << 19
BLOCK = 1 << 15  # elements a thread claims at a time (128 KB of float32; LLVM's vector loop runs whole)
_kernels = None


def _compiled():
    """(relu, relu_gradient, add): the compiled loops (``_elementwise_loops``), imported on first use."""
    global _kernels
    if _kernels is None:
        from . import _elementwise_loops as loops
        _kernels = loops.relu, loops.relu_gradient, loops.add
    return _kernels


def _run(kernel, *flat):
    """kernel over the flat arrays' blocks of ``BLOCK`` elements, claimed by gradkit's threads when it
    holds them (``threads.parallel_claim``), else all on the calling thread."""
    from ..threads import parallel_claim
    size = flat[0].shape[0]
    blocks = -(-size // BLOCK)
    if SPLIT and size >= SPLIT_MIN_SIZE:
        parallel_claim(kernel, blocks, *flat, BLOCK, size=size, take=False)
    else:
        kernel(*flat, BLOCK, numpy.zeros(1, numpy.int64), 0, blocks)


def _memory_order(a):
    """The axis order that makes ``a`` C-contiguous (largest stride first), or None if none does."""
    order = tuple(sorted(range(a.ndim), key=lambda axis: -a.strides[axis]))
    return order if a.transpose(order).flags.c_contiguous else None


def _inverse(order):
    """The axis order that undoes the permutation ``order``. In Python, not ``numpy.argsort``: inside a
    training step, where NumPy's code is out of the caches after each convolution, argsort of four
    axes took 12-22 us a call, this loop 1.3 us (bench/README.md, session 11)."""
    inverse = [0] * len(order)
    for position, axis in enumerate(order):
        inverse[axis] = position
    return tuple(inverse)


def _empty_in_order(shape, dtype, order):
    """An empty array of ``shape`` whose memory is C-contiguous in axis ``order``."""
    memory = numpy.empty(tuple(shape[axis] for axis in order), dtype=dtype)
    return memory.transpose(_inverse(order))


def _eligible(*arrays):
    """The common memory order of large, same-dtype NumPy float arrays; None otherwise."""
    first = arrays[0]
    if type(first) is not numpy.ndarray or first.size < MIN_SIZE:  # the small arrays of an MLP: out at once
        return None
    if not all(type(a) is numpy.ndarray and a.shape == first.shape and a.dtype == first.dtype for a in arrays):
        return None
    if first.dtype.kind != "f":
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
    _run(_compiled()[0], _flat(x, order), _flat(y, order))
    return y


def relu_gradient(y, gy):
    """0 where y <= 0, else gy, in one pass, in y's memory order; None where NumPy should do it.

    A gy that is broadcast (a mean's gradient: global average pooling) or in another memory order
    is first copied into y's: the gradient then keeps the order of the activations, so the sums and
    ReLU gradients below it stay on these loops (NumPy's ``gy * mask`` gave the other order, and in
    the residual CNN's backward three ReLU gradients a step fell back to NumPy: bench/README.md,
    session 10)."""
    order = _eligible(y)
    if order is None or type(gy) is not numpy.ndarray or gy.shape != y.shape or gy.dtype != y.dtype:
        return None
    if _memory_order(gy) != order:
        dense = _empty_in_order(y.shape, y.dtype, order)
        numpy.copyto(dense, gy)
        gy = dense  # not gx itself: LLVM's overlap check then sends the loop down its scalar path (24x slower)
    gx = _empty_in_order(y.shape, y.dtype, order)
    _run(_compiled()[1], _flat(y, order), _flat(gy, order), _flat(gx, order))
    return gx


def add(a, b):
    """a + b for same-shape arrays in one memory order, split over the threads; None where NumPy
    should do it (small, broadcast or differently laid out arrays)."""
    if not SPLIT or type(a) is not numpy.ndarray or a.size < SPLIT_MIN_SIZE:
        return None
    order = _eligible(a, b)
    if order is None:
        return None
    out = _empty_in_order(a.shape, a.dtype, order)
    _run(_compiled()[2], _flat(a, order), _flat(b, order), _flat(out, order))
    return out
