"""The compiled loops of ``_elementwise`` (private): imported, with Numba, on the first large
element-wise op, so ``import gradkit`` stays fast.

Module-level functions, not closures: Numba keys a closure's cache entry on its cells, and a cell
that holds another compiled function (``claim``) never matched, so each process compiled the loops
afresh and saved one more entry (36 of them had piled up; bench/README.md, session 11).

Unsigned indices: with a signed range(first, last) Numba wraps negative indices, and that test kept
LLVM 22 (Numba 0.68) from vectorising these loops: 3.6-33x slower than NumPy (bench/README.md,
session 8). tests/threads/test_elementwise_split.py checks the indices.

Each loop takes blocks of ``size`` elements (``_elementwise.BLOCK``, passed at each call, not frozen
into the cached code), claimed one at a time by the threads (``_claim``): block k is
[k size, min((k + 1) size, n)).
"""
from __future__ import annotations

import numpy
from numba import njit
from numba import uint64 as u

from .._claim import claim


@njit(cache=True, nogil=True)
def relu(x, y, size, counter, first, last):
    zero = numpy.zeros(1, y.dtype)[0]
    block = claim(counter, first)
    while block < last:
        for i in range(u(block * size), u(min(block * size + size, x.shape[0]))):
            v = x[i]
            y[i] = v if v > 0 or v != v else zero  # NaN stays NaN and -0.0 gives 0.0, as maximum
        block = claim(counter, first)


@njit(cache=True, nogil=True)
def relu_gradient(y, gy, gx, size, counter, first, last):
    zero = numpy.zeros(1, gx.dtype)[0]
    block = claim(counter, first)
    while block < last:
        for i in range(u(block * size), u(min(block * size + size, y.shape[0]))):
            gx[i] = zero if y[i] <= 0 else gy[i]  # a NaN unit passes gy, as torch's threshold_backward
        block = claim(counter, first)


@njit(cache=True, nogil=True)
def add(a, b, out, size, counter, first, last):
    block = claim(counter, first)
    while block < last:
        for i in range(u(block * size), u(min(block * size + size, a.shape[0]))):
            out[i] = a[i] + b[i]
        block = claim(counter, first)
