"""Compiled loops for the data-movement ops of convolution and pooling (private).

im2col, col2im and pooling move every pixel but do almost no arithmetic, and in a LeNet-5 training
step they cost as much as the matrix products. In NumPy they were strided slice copies, one call per
kernel position, each an inner loop only OW long (10 in LeNet-5's second layer). Here each is one
loop nest compiled by Numba (``bench/README.md`` has the figures); the compiled code is cached on
disk (``cache=True``), so only the first run on a machine pays the compilation. Convolutions of
stride 1 with few channels skip the columns altogether (``conv_direct``, ``conv_direct_weight``).

Conventions:

* Arrays are C-contiguous and in the (C, N, H, W) memory order of ``_windows``; the image side is
  already padded (``Window.padded``), so every tap is inside it and no loop tests bounds. The
  adjoints (col2im, the scatters) add into a zeroed padded image (``Window.padded_zeros``).
* Tap (i, j) of output (a, b) reads row a sh + i dh, column b sw + j dw of the padded image.
* Computed indices are cast to unsigned (``_u``). Numba wraps negative indices around, and the test
  for it, on every access, keeps LLVM from vectorising the loops: im2col of LeNet-5's first layer
  took 1.03 ms with signed indices and 0.24 ms with unsigned ones. The indices are non-negative by
  construction (the padding), which is what makes the cast safe.
* Each loop takes the images [first, last) of the batch, and the ranges write disjoint memory, so
  ``threads.parallel_for`` can give each of its threads a range (the loops release the GIL); the
  convolution loops and ``pad`` instead claim their images (blocks of images, planes) one at a time
  from a counter the threads share (``threads.parallel_claim``, ``_claim``), so a thread that starts
  late or runs slow takes fewer. Spreading them with Numba's ``prange`` was measured earlier and
  dropped: its pool fought OpenBLAS's spinning workers for the cores, and it needed a fork-safe
  threading layer (TBB) as another dependency, since GNU OpenMP, Numba's usual choice, aborts any
  process forked after it has run. ``threads`` explains how its own workers and BLAS's share the
  cores.
"""
from __future__ import annotations

import numpy
from numba import njit
from numba import uint64 as _u

from .._claim import claim

_jit = njit(cache=True, nogil=True)
# Reductions may be reassociated (summed in SIMD lanes); NaN and infinity keep their IEEE meaning.
_jit_sum = njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})


@_jit
def im2col(xp, kh, kw, sh, sw, dh, dw, cols, first, last):
    """cols[c, i, j, n, a, b] = xp[c, n, a sh + i dh, b sw + j dw]."""
    channels = xp.shape[0]
    oh, ow = cols.shape[4], cols.shape[5]
    for c in range(channels):
        for n in range(first, last):
            for i in range(kh):
                for j in range(kw):
                    for a in range(oh):
                        y = _u(a * sh + i * dh)
                        for b in range(ow):
                            cols[c, i, j, n, a, b] = xp[c, n, y, _u(b * sw + j * dw)]


@_jit
def col2im(cols, kh, kw, sh, sw, dh, dw, outp, first, last):
    """The adjoint of im2col: outp[c, n, y, x] += the cols entries read from (y, x)."""
    channels = outp.shape[0]
    oh, ow = cols.shape[4], cols.shape[5]
    for c in range(channels):
        for n in range(first, last):
            for i in range(kh):
                for j in range(kw):
                    for a in range(oh):
                        y = _u(a * sh + i * dh)
                        for b in range(ow):
                            outp[c, n, y, _u(b * sw + j * dw)] += cols[c, i, j, n, a, b]


@_jit
def pad(xc, ph, pw, fill, xp, counter, first, last):
    """xp[c, n] = the plane xc[c, n] framed by ph rows and pw columns of ``fill``, in one pass; the
    threads claim the (c, n) planes (item c N + n). NumPy's ``full`` and a strided slice copy were two
    passes on one thread: 5.5 ms of a residual CNN step (bench/README.md, session 11)."""
    batch, height, width = xc.shape[1], xc.shape[2], xc.shape[3]
    hp, wp = xp.shape[2], xp.shape[3]
    item = claim(counter, first)
    while item < last:
        c, n = _u(item // batch), _u(item % batch)
        for y in range(_u(ph)):
            for b in range(_u(wp)):
                xp[c, n, y, b] = fill
        for y in range(_u(height)):
            row = _u(y + ph)
            for b in range(_u(pw)):
                xp[c, n, row, b] = fill
            for b in range(_u(width)):
                xp[c, n, row, _u(b + pw)] = xc[c, n, y, b]
            for b in range(_u(pw + width), _u(wp)):
                xp[c, n, row, b] = fill
        for y in range(_u(ph + height), _u(hp)):
            for b in range(_u(wp)):
                xp[c, n, y, b] = fill
        item = claim(counter, first)


@_jit
def _stage(xc, n, ph, pw, stage):
    """Image n of xc (C, N, H, W) into the interior of ``stage`` (C, 1, H + 2 ph, W + 2 pw), whose border
    stays zero: the direct loops pad one image at a time in the core's cache instead of reading a
    padded copy of the batch, which took a pass of its own over memory (two of them, the input's and
    the input gradient's, for each direct layer: 4.3 ms of a residual CNN step; bench/README.md,
    session 11)."""
    channels, height, width = xc.shape[0], xc.shape[2], xc.shape[3]
    for c in range(channels):
        for y in range(height):
            for b in range(width):
                stage[c, 0, _u(y + ph), _u(b + pw)] = xc[c, _u(n), y, b]


@_jit
def tap_offsets(xp, kh, kw, dh, dw):
    """Where tap (c, i, j) of image 0's windows starts in the flat padded array xp (C, N, Hp, Wp)."""
    channels, batch, hp, wp = xp.shape
    offsets = numpy.empty(channels * kh * kw, numpy.uint64)
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                offsets[(c * kh + i) * kw + j] = c * batch * hp * wp + i * dh * wp + j * dw
    return offsets


@_jit_sum
def conv_direct(xc, ph, pw, kh, kw, dh, dw, wm, bias, yc, counter, first, last):
    """yc[o, n, a, b] = bias[o] + sum_{c, i, j} wm[o, (c i j)] xp[c, n, a + i dh, b + j dw] (stride 1),
    xp the input xc (C, N, H, W) padded by (ph, pw): one image at a time in a stage (``_stage``).

    No columns: each output row (a, .) sits at a + i dh, . + j dw of the padded image, so with rows
    laid end to end at the padded width Wp, one tap is one contiguous run of
    L = (OH - 1) Wp + OW values, multiplied into an accumulator of the same run (the Wp - OW values
    between rows are computed and dropped). Each pass takes four taps into two outputs' accumulators,
    so each input value loaded feeds two multiply-adds (0.56 -> 0.36 ms against one output per pass,
    LeNet-5's first layer). The threads claim the images one at a time (``_claim``).
    """
    channels, hp, wp = xc.shape[0], xc.shape[2] + 2 * ph, xc.shape[3] + 2 * pw
    outs, taps = wm.shape
    oh, ow = yc.shape[2], yc.shape[3]
    run = (oh - 1) * wp + ow
    stage = numpy.zeros((channels, 1, hp, wp), xc.dtype)
    flat = stage.reshape(channels * hp * wp)
    offsets = tap_offsets(stage, kh, kw, dh, dw)
    acc0, acc1 = numpy.empty(run, yc.dtype), numpy.empty(run, yc.dtype)
    whole = taps - taps % 4
    base = _u(0)
    n = claim(counter, first)
    while n < last:
        _stage(xc, n, ph, pw, stage)
        for o in range(0, outs, 2):
            p = min(o + 1, outs - 1)  # the pair's second output (the first again when outs is odd)
            for k in range(run):
                acc0[k], acc1[k] = bias[o], bias[p]
            for t in range(0, whole, 4):
                u0, u1, u2, u3 = wm[o, t], wm[o, t + 1], wm[o, t + 2], wm[o, t + 3]
                v0, v1, v2, v3 = wm[p, t], wm[p, t + 1], wm[p, t + 2], wm[p, t + 3]
                a0, a1 = base + offsets[t], base + offsets[t + 1]
                a2, a3 = base + offsets[t + 2], base + offsets[t + 3]
                for k in range(run):
                    x0, x1 = flat[_u(a0 + k)], flat[_u(a1 + k)]
                    x2, x3 = flat[_u(a2 + k)], flat[_u(a3 + k)]
                    acc0[k] += (u0 * x0 + u1 * x1) + (u2 * x2 + u3 * x3)
                    acc1[k] += (v0 * x0 + v1 * x1) + (v2 * x2 + v3 * x3)
            for t in range(whole, taps):
                u0, v0, a0 = wm[o, t], wm[p, t], base + offsets[t]
                for k in range(run):
                    x0 = flat[_u(a0 + k)]
                    acc0[k] += u0 * x0
                    acc1[k] += v0 * x0
            for a in range(oh):
                for b in range(ow):
                    yc[o, n, a, b] = acc0[_u(a * wp + b)]
                    yc[p, n, a, b] = acc1[_u(a * wp + b)]
        n = claim(counter, first)


@_jit_sum
def conv_direct_weight(xc, ph, pw, gyc, kh, kw, dh, dw, gw, blocks, counter, first, last):
    """gw[k, o, (c i j)] += sum over the images n of block k and (a, b) of gyc[o, n, a, b]
    xp[c, n, a + i dh, b + j dw] (stride 1; the adjoint of conv_direct in its weights), xp the input
    xc padded by (ph, pw) one image at a time (``_stage``). gyc is laid out at the padded width, zeros
    between rows, so each tap is one dot product of contiguous runs; each pass takes four taps against two outputs
    (0.54 -> 0.38 ms against one output, LeNet-5's first layer). The threads claim blocks of images
    (``_claim``; block k is the images [blocks[k, 0], blocks[k, 1])), and each image's sums are added
    into the block's own gw[k], which may be float64: blocks fixed by the batch, so the sums do not
    depend on the thread count."""
    channels, hp, wp = xc.shape[0], xc.shape[2] + 2 * ph, xc.shape[3] + 2 * pw
    outs, _, oh, ow = gyc.shape
    run = (oh - 1) * wp + ow
    stage = numpy.zeros((channels, 1, hp, wp), xc.dtype)
    flat = stage.reshape(channels * hp * wp)
    offsets = tap_offsets(stage, kh, kw, dh, dw)
    taps = offsets.shape[0]
    g0, g1 = numpy.zeros(run, xc.dtype), numpy.zeros(run, xc.dtype)
    zero = g0[0]  # a 0 of xc's dtype: g0 is still all zeros
    base = _u(0)
    whole = taps - taps % 4
    block = claim(counter, first)
    while block < last:
        sums = gw[block]
        for n in range(blocks[block, 0], blocks[block, 1]):
            _stage(xc, n, ph, pw, stage)
            for o in range(0, outs, 2):
                p = o + 1
                for a in range(oh):
                    for b in range(ow):
                        g0[_u(a * wp + b)] = gyc[o, n, a, b]
                        if p < outs:
                            g1[_u(a * wp + b)] = gyc[p, n, a, b]
                for t in range(0, whole, 4):
                    a0, a1 = base + offsets[t], base + offsets[t + 1]
                    a2, a3 = base + offsets[t + 2], base + offsets[t + 3]
                    s0 = s1 = s2 = s3 = r0 = r1 = r2 = r3 = zero
                    for k in range(run):
                        x0, x1 = flat[_u(a0 + k)], flat[_u(a1 + k)]
                        x2, x3 = flat[_u(a2 + k)], flat[_u(a3 + k)]
                        u, v = g0[k], g1[k]
                        s0 += u * x0
                        s1 += u * x1
                        s2 += u * x2
                        s3 += u * x3
                        r0 += v * x0
                        r1 += v * x1
                        r2 += v * x2
                        r3 += v * x3
                    sums[o, t] += s0
                    sums[o, t + 1] += s1
                    sums[o, t + 2] += s2
                    sums[o, t + 3] += s3
                    if p < outs:
                        sums[p, t] += r0
                        sums[p, t + 1] += r1
                        sums[p, t + 2] += r2
                        sums[p, t + 3] += r3
                for t in range(whole, taps):
                    a0 = base + offsets[t]
                    s0 = r0 = zero
                    for k in range(run):
                        x0 = flat[_u(a0 + k)]
                        s0 += g0[k] * x0
                        r0 += g1[k] * x0
                    sums[o, t] += s0
                    if p < outs:
                        sums[p, t] += r0
        block = claim(counter, first)


@njit(inline="always")
def _max_pool(xp, kh, kw, sh, sw, yc, argmax, first, last):
    channels = xp.shape[0]
    oh, ow = yc.shape[2], yc.shape[3]
    for c in range(channels):
        for n in range(first, last):
            for a in range(oh):
                for b in range(ow):
                    best = xp[c, n, _u(a * sh), _u(b * sw)]
                    where = 0
                    for i in range(kh):
                        for j in range(kw):
                            value = xp[c, n, _u(a * sh + i), _u(b * sw + j)]
                            better = (value > best) | (value != value)  # torch's test: the last NaN wins
                            best = value if better else best
                            where = i * kw + j if better else where
                    yc[c, n, a, b] = best
                    argmax[c, n, a, b] = where


@_jit
def max_pool(xp, kh, kw, sh, sw, yc, argmax, first, last):
    """yc = the max of each window; argmax = the tap i kw + j that holds it.

    The first maximal tap in row-major order wins ties, as PyTorch; a NaN beats any number (the max
    of NumPy and PyTorch propagates it), and of several NaNs the last wins, as PyTorch's test
    (val > max || isnan(val)). The common 2x2 window of stride 2 gets its own copy of the
    loop with the sizes as constants, so LLVM unrolls the taps: 0.18 ms instead of 0.90 ms for
    LeNet-5's first pooling.
    """
    if kh == 2 and kw == 2 and sh == 2 and sw == 2:
        _max_pool(xp, 2, 2, 2, 2, yc, argmax, first, last)
    else:
        _max_pool(xp, kh, kw, sh, sw, yc, argmax, first, last)


@_jit
def max_pool_scatter(gyc, argmax, kh, kw, sh, sw, outp, first, last):
    """Each gyc[c, n, a, b] added to outp at its window's argmax tap."""
    channels = outp.shape[0]
    oh, ow = gyc.shape[2], gyc.shape[3]
    for c in range(channels):
        for n in range(first, last):
            for a in range(oh):
                for b in range(ow):
                    k = argmax[c, n, a, b]
                    outp[c, n, _u(a * sh + k // kw), _u(b * sw + k % kw)] += gyc[c, n, a, b]


@njit(inline="always")
def _max_pool_place(gyc, argmax, kh, kw, out, first, last):
    channels, _, oh, ow = gyc.shape
    zero = numpy.zeros(1, out.dtype)[0]  # not g * 0, which is NaN for an infinite or NaN g
    for c in range(channels):
        for n in range(first, last):
            for a in range(oh):
                for i in range(kh):
                    y = _u(a * kh + i)
                    for b in range(ow):
                        k, g = argmax[c, n, a, b], gyc[c, n, a, b]
                        for j in range(kw):
                            out[c, n, y, _u(b * kw + j)] = g if k == i * kw + j else zero


@_jit
def max_pool_place(gyc, argmax, kh, kw, out, first, last):
    """max_pool_scatter for windows that tile the image (stride = kernel, no padding, no leftover
    rows or columns): every pixel is in exactly one window, so each is written once, gyc at its
    window's argmax tap and 0 elsewhere, with no zeroed image to add into (2x2 specialised)."""
    if kh == 2 and kw == 2:
        _max_pool_place(gyc, argmax, 2, 2, out, first, last)
    else:
        _max_pool_place(gyc, argmax, kh, kw, out, first, last)


@_jit
def max_pool_gather(xp, argmax, kh, kw, sh, sw, yc, first, last):
    """yc[c, n, a, b] = xp at the window's argmax tap (the adjoint of max_pool_scatter)."""
    channels, _, oh, ow = yc.shape
    for c in range(channels):
        for n in range(first, last):
            for a in range(oh):
                for b in range(ow):
                    k = argmax[c, n, a, b]
                    yc[c, n, a, b] = xp[c, n, _u(a * sh + k // kw), _u(b * sw + k % kw)]


@njit(inline="always")
def _window_sum(xp, kh, kw, sh, sw, scale, yc, first, last):
    channels = xp.shape[0]
    oh, ow = yc.shape[2], yc.shape[3]
    for c in range(channels):
        for n in range(first, last):
            for a in range(oh):
                for b in range(ow):
                    total = xp[c, n, 0, 0] * 0
                    for i in range(kh):
                        for j in range(kw):
                            total += xp[c, n, _u(a * sh + i), _u(b * sw + j)]
                    yc[c, n, a, b] = total * scale


@_jit
def window_sum(xp, kh, kw, sh, sw, scale, yc, first, last):
    """yc = scale times the sum of each window: average pooling (2x2 of stride 2 specialised, as max_pool)."""
    if kh == 2 and kw == 2 and sh == 2 and sw == 2:
        _window_sum(xp, 2, 2, 2, 2, scale, yc, first, last)
    else:
        _window_sum(xp, kh, kw, sh, sw, scale, yc, first, last)


@_jit
def window_spread(gyc, kh, kw, sh, sw, scale, outp, first, last):
    """The adjoint of window_sum: scale times each gyc added to outp over its whole window."""
    channels = outp.shape[0]
    oh, ow = gyc.shape[2], gyc.shape[3]
    for c in range(channels):
        for n in range(first, last):
            for a in range(oh):
                for b in range(ow):
                    g = gyc[c, n, a, b] * scale
                    for i in range(kh):
                        for j in range(kw):
                            outp[c, n, _u(a * sh + i), _u(b * sw + j)] += g
