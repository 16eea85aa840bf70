"""Compiled loops for training-mode batch normalisation of images (private).

In NumPy a batch-norm forward pass was five passes over the activations (mean, centre, square,
mean, scale and shift) and its backward, written in Tensor ops, a dozen, each with a temporary
of the activations' size, on one thread; in ResNet-20 the twenty batch norms took more time than
PyTorch's whole step spends on them and on its ReLUs (bench/README.md has the figures). Here the
forward pass is two reads and one write per value, the backward two reads of x and gy and one
write, each channel on one thread (``threads.parallel_for`` over the channels), with the
statistics summed in float64: the mean and the sums the gradient needs then carry no rounding
that grows with the batch, and a channel's sums never depend on the thread count.

Each thread takes its channels one at a time through both passes (``forward_channels``,
``backward_channels``): the second and third reads of a channel come from the core's cache, and a
pass is one split region, so the second thread is woken once, not twice (each wake-up costs about
20 us on the bench machine). At the residual CNN's shapes that took the forward pass from 76 to
46 us and the backward from 90 to 57 at 32 channels of 7x7 (bench/README.md, session 11).

Arrays come in as (A, C, B) C-contiguous views (``norm._fused_view``): (N, C, H W) for NCHW memory,
(1, C, N H W) for the channels-first memory conv and pool outputs have.
"""
from __future__ import annotations

import numpy
from numba import njit

from .._claim import claim
from ..threads import parallel_claim, parallel_for

# sums may be reassociated (into SIMD lanes): fixed for a given machine, whatever the thread count
_jit = njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})
# each thread's channels in one split region a pass, statistics and output channel by channel
# (``forward_channels``, ``backward_channels``); False: two regions a pass, each over all the channels
FUSED_CHANNELS = True


@_jit
def statistics(x, mean, var, first, last):
    """mean[c] and the biased var[c] (float64) of x[:, c, :], in two passes (the second from cache)."""
    outer, _, inner = x.shape
    count = outer * inner
    for c in range(first, last):
        total = 0.0
        for a in range(outer):
            for b in range(inner):
                total += x[a, c, b]
        mu = total / count
        squares = 0.0
        for a in range(outer):
            for b in range(inner):
                d = x[a, c, b] - mu
                squares += d * d
        mean[c], var[c] = mu, squares / count


@_jit
def _normalise_channel(x, m, s, t, y, c):
    outer, _, inner = x.shape
    for a in range(outer):
        for b in range(inner):
            y[a, c, b] = (x[a, c, b] - m) * s + t


@_jit
def normalise(x, mean, scale, shift, y, first, last):
    """y[:, c] = (x[:, c] - mean[c]) scale[c] + shift[c], in x's dtype."""
    for c in range(first, last):
        _normalise_channel(x, mean[c], scale[c], shift[c], y, c)


@_jit
def gradient_sums(x, gy, mean, sum_gy, sum_gy_xc, first, last):
    """sum_gy[c] = sum gy[:, c] and sum_gy_xc[c] = sum gy[:, c] (x[:, c] - mean[c]), in float64."""
    outer, _, inner = x.shape
    for c in range(first, last):
        m = mean[c]
        s, t = 0.0, 0.0
        for a in range(outer):
            for b in range(inner):
                g = gy[a, c, b]
                s += g
                t += g * (x[a, c, b] - m)
        sum_gy[c], sum_gy_xc[c] = s, t


@_jit
def _input_gradient_channel(x, gy, m, p, q, r, gx, c):
    outer, _, inner = x.shape
    for a in range(outer):
        for b in range(inner):
            gx[a, c, b] = p * gy[a, c, b] + q * (x[a, c, b] - m) + r


@_jit
def input_gradient(x, gy, mean, k_gy, k_xc, k_0, gx, first, last):
    """gx[:, c] = k_gy[c] gy + k_xc[c] (x - mean[c]) + k_0[c]: batch norm's input gradient, with the
    per-channel constants of ``backward``."""
    for c in range(first, last):
        _input_gradient_channel(x, gy, mean[c], k_gy[c], k_xc[c], k_0[c], gx, c)


@njit(cache=True, nogil=True)
def _scale(w, inv_std):
    """w inv_std in float64, as NumPy takes it (no fast-math: the one-region loops give the same
    constants as the two-region ones)."""
    return w * inv_std


@njit(cache=True, nogil=True)
def _gradient_constants(w, inv_std, sum_gy, sum_gy_xc, count):
    """(k_gy, k_xc, k_0) of ``input_gradient`` in float64, in NumPy's order of operations (``backward``)."""
    k_gy = w * inv_std
    return k_gy, -k_gy * inv_std * inv_std * sum_gy_xc / count, -k_gy * sum_gy / count


@_jit
def forward_channels(x, w, b, eps, mean, var, inv_std, y, counter, first, last):
    """``statistics``, then ``normalise``, channel by channel: a channel's values are read from memory
    once, then from the core's cache (a channel of the residual CNN's first layer, 78,400 floats, is
    313 KB), and each thread's channels are one split region, not two. The threads claim the channels
    one at a time (``_claim``)."""
    dtype = y.dtype.type
    c = claim(counter, first)
    while c < last:
        statistics(x, mean, var, c, c + 1)
        inv = 1.0 / numpy.sqrt(var[c] + eps)
        inv_std[c] = inv
        _normalise_channel(x, dtype(mean[c]), dtype(_scale(w[c], inv)), dtype(b[c]), y, c)
        c = claim(counter, first)


@_jit
def backward_channels(x, gy, mean, w, inv_std, count, sum_gy, sum_gy_xc, gx, counter, first, last):
    """``gradient_sums``, then ``input_gradient`` (unless gx is empty), channel by channel, as
    ``forward_channels``; mean in x's dtype."""
    dtype = x.dtype.type
    c = claim(counter, first)
    while c < last:
        gradient_sums(x, gy, mean, sum_gy, sum_gy_xc, c, c + 1)
        if gx.shape[0]:
            k_gy, k_xc, k_0 = _gradient_constants(w[c], inv_std[c], sum_gy[c], sum_gy_xc[c], count)
            _input_gradient_channel(x, gy, mean[c], dtype(k_gy), dtype(k_xc), dtype(k_0), gx, c)
        c = claim(counter, first)


def forward(x3, w, b, eps, y3):
    """Batch statistics of x3 (A, C, B) and y3 = the normalised, scaled and shifted x3; returns
    (mean, var, inv_std) in float64."""
    channels = x3.shape[1]
    mean, var = numpy.empty(channels), numpy.empty(channels)
    if FUSED_CHANNELS:
        inv_std = numpy.empty(channels)
        parallel_claim(forward_channels, channels, x3, w, b, float(eps), mean, var, inv_std, y3, size=x3.size)
        return mean, var, inv_std
    parallel_for(statistics, channels, x3, mean, var, size=x3.size)
    inv_std = 1.0 / numpy.sqrt(var + eps)
    dtype = x3.dtype
    parallel_for(normalise, channels, x3, mean.astype(dtype), (w * inv_std).astype(dtype), b.astype(dtype, copy=False),
                 y3, size=x3.size)
    return mean, var, inv_std


def backward(x3, gy3, w, mean, inv_std, gx3):
    """gx3 (when not None) and (gw, gb) of batch norm, from x3, gy3 (A, C, B) and the forward's statistics.

    gx = w inv_std (gy - sum(gy) / n - xc inv_std^2 sum(gy xc) / n), xc = x - mean;
    gw = inv_std sum(gy xc); gb = sum(gy)."""
    channels = x3.shape[1]
    count = x3.shape[0] * x3.shape[2]
    sum_gy, sum_gy_xc = numpy.empty(channels), numpy.empty(channels)
    if FUSED_CHANNELS:
        gx = numpy.empty((0, 0, 0), x3.dtype) if gx3 is None else gx3
        parallel_claim(backward_channels, channels, x3, gy3, mean.astype(x3.dtype), w, inv_std, count, sum_gy,
                     sum_gy_xc, gx, size=x3.size)
        return sum_gy_xc * inv_std, sum_gy
    parallel_for(gradient_sums, channels, x3, gy3, mean.astype(x3.dtype), sum_gy, sum_gy_xc, size=x3.size)
    if gx3 is not None:
        dtype = x3.dtype
        k_gy = w * inv_std
        k_xc = -k_gy * inv_std * inv_std * sum_gy_xc / count
        k_0 = -k_gy * sum_gy / count
        parallel_for(input_gradient, channels, x3, gy3, mean.astype(dtype), k_gy.astype(dtype), k_xc.astype(dtype),
                     k_0.astype(dtype), gx3, size=x3.size)
    return sum_gy_xc * inv_std, sum_gy
