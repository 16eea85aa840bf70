"""Convolution by im2col + GEMM a few images at a time, each thread on its own images (private).

The whole batch's columns are 9 C values per output pixel: 37.7 MB for a 16-channel 3x3 layer
at 32x32 and batch 64, written once, read by the GEMM and kept for the weight gradient. At that
size the im2col loop ran at memory speed (19 ms, against 11 ms for the GEMM that reads it), every
call paid fresh page faults (glibc maps arrays above 32 MB anew each time) and ResNet-20 kept
some 250 MB of columns alive between its forward and backward passes. Here the batch is cut into
chunks of a few images whose columns stay in the core's cache (``CHUNK_ELEMENTS``), and each thread
claims chunks one at a time (``threads.claiming``): gather a chunk's columns, multiply, and move on,
reusing one buffer. Nothing is saved for the backward pass but the input (in its (C, N, H, W)
memory, which every conv, batch norm and ReLU output has; the gather pads a chunk's images in a
stage of its thread, or reads shifted planes, so no padded copy of the batch is made): the weight
gradient gathers each chunk's columns again (cheap from cache), and the input gradient multiplies
and scatters (col2im) chunk by chunk.

Each thread walks its chunks in one compiled call (``_forward_chunks``, ``_weight_chunks``,
``_input_chunks``) that runs BLAS's product itself (``_blas``): no Python, and no GIL, per chunk.
Where NumPy's BLAS cannot be called that way (or with ``COMPILED = False``) the same chunks run
from Python with NumPy's ``matmul``, with the same bits.

Products run on BLAS's calling thread (``threads`` keeps BLAS on one thread while gradkit splits),
one chunk at a time, so each output entry is computed as one BLAS call computes it whatever the
thread count; the weight gradient sums its chunks' products in float64 groups fixed by the shapes
(``Plan``), so its bits do not depend on the thread count either (bench/README.md has the figures).
"""
from __future__ import annotations

import functools

import numpy
from numba import njit
from numba import uint64 as _u

from .._claim import claim
from ..threads import claiming, ranges, run, split
from . import _blas
from ._blas import NO_TRANS, TRANS, gemm

CHUNK_ELEMENTS = 1 << 16  # columns per chunk (256 KB of float32: half a core's L2 here)
# each thread walks its chunks in one compiled call that runs the products itself (``_blas``); False,
# or a NumPy whose BLAS ``_blas`` cannot call: a Python loop over the chunks with NumPy's ``matmul``
COMPILED = True
# stride-1 convolutions whose output plane is the input's gather whole shifted planes (``_shifted``)
SHIFTED = True

_jit = njit(cache=True, nogil=True)


@_jit
def _taps(xp, kh, kw, sh, sw, dh, dw, cols, first):
    """cols[(c, i, j), (n, a, b)] = xp[c, first + n, a sh + i dh, b sw + j dw] (xp padded, or needing none)."""
    channels = xp.shape[0]
    images, oh, ow = cols.shape[3], cols.shape[4], cols.shape[5]
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                for n in range(images):
                    for a in range(oh):
                        y = _u(a * sh + i * dh)
                        for b in range(ow):
                            cols[c, i, j, n, a, b] = xp[c, _u(first + n), y, _u(b * sw + j * dw)]


@_jit
def _spread(cols, kh, kw, sh, sw, dh, dw, outp, first):
    """The adjoint of ``_taps``: outp[c, first + n, y, x] += the cols entries read from (y, x)."""
    channels = outp.shape[0]
    images, oh, ow = cols.shape[3], cols.shape[4], cols.shape[5]
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                for n in range(images):
                    for a in range(oh):
                        y = _u(a * sh + i * dh)
                        for b in range(ow):
                            outp[c, _u(first + n), y, _u(b * sw + j * dw)] += cols[c, i, j, n, a, b]


@_jit
def _shifted(x, kh, kw, dh, dw, ph, pw, keep, cols, first):
    """``gather`` for a stride-1 convolution whose output plane is its input's (3x3 with padding 1): tap
    (i, j) of every output pixel is the input pixel a fixed distance away in the flattened plane, so
    each tap's columns for a chunk are one run per image, copied with the entries that fall in the
    padding (``keep`` false: rows above or below the image, columns that wrapped into the next row) set
    to zero. The runs are whole planes, which LLVM vectorises; the window rows ``_taps`` copies are as
    short as the plane (7 floats at 7x7), below one AVX2 vector. No padded stage is needed."""
    channels, n, height, width = x.shape
    images = cols.shape[3]
    plane = height * width
    zero = numpy.zeros(1, cols.dtype)[0]
    flat = x.reshape(-1)
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                run = cols[c, i, j].reshape(-1)
                inside = keep[i, j]
                shift = (i * dh - ph) * width + (j * dw - pw)
                for m in range(images):
                    to = m * plane
                    # a run may start before x or end after it (the first and last planes): only where not
                    # kept, and those entries are never read (the conditional load)
                    at = (c * n + first + m) * plane + shift
                    for q in range(plane):
                        run[_u(to + q)] = flat[_u(at + q)] if inside[_u(q)] else zero


@_jit
def gather(x, kh, kw, sh, sw, dh, dw, ph, pw, stage, keep, cols, first):
    """cols[(c, i, j), (n - first, a, b)] = x[c, n, a sh + i dh - ph, b sw + j dw - pw], 0 where that
    falls in the padding, for the images n of the chunk [first, first + cols' images); x is the
    unpadded (C, N, H, W) input and cols is (C KH KW, images OH OW) viewed as 6-D here.

    With padding, the chunk's images are first copied into ``stage``, a (C, images, H + 2 ph, W + 2 pw)
    array of the calling thread whose border stays zero, and the windows are read from there: a copy
    of a few images in cache instead of a padded copy of the whole batch (one more pass over it and its
    memory). Loops that read the padding as zeros in place measured 2-2.5x slower (bench/README.md,
    session 8). Without padding the windows are read from x itself. Where ``keep`` is not empty (see
    ``Plan.keep``) the columns are whole shifted planes instead (``_shifted``)."""
    if keep.shape[0]:
        _shifted(x, kh, kw, dh, dw, ph, pw, keep, cols, first)
        return
    if ph == 0 and pw == 0:
        _taps(x, kh, kw, sh, sw, dh, dw, cols, first)
        return
    channels, height, width = x.shape[0], x.shape[2], x.shape[3]
    images = cols.shape[3]
    for c in range(channels):
        for n in range(images):
            for y in range(height):
                for b in range(width):
                    stage[c, n, _u(y + ph), _u(b + pw)] = x[c, _u(first + n), y, b]
    _taps(stage, kh, kw, sh, sw, dh, dw, cols, 0)


@_jit
def scatter(cols, kh, kw, sh, sw, dh, dw, ph, pw, stage, out, first):
    """The adjoint of ``gather``: out[c, n] = the sum of the cols entries read from each pixel of
    image n, for the chunk's images (each image lies in one chunk, so it is written, not added to);
    the entries read from the padding are dropped. out is the unpadded (C, N, H, W) gradient; with
    padding the sums are taken in ``stage``, as in ``gather``."""
    channels, height, width = out.shape[0], out.shape[2], out.shape[3]
    images = cols.shape[3]
    zero = numpy.zeros(1, out.dtype)[0]
    if ph == 0 and pw == 0:
        out[:, first:first + images] = zero
        _spread(cols, kh, kw, sh, sw, dh, dw, out, first)
        return
    stage[:, :images] = zero
    _spread(cols, kh, kw, sh, sw, dh, dw, stage, 0)
    for c in range(channels):
        for n in range(images):
            for y in range(height):
                for b in range(width):
                    out[c, _u(first + n), y, b] = stage[c, _u(n), _u(y + ph), _u(b + pw)]


@njit(inline="always")
def _chunk(buffer, rows, chunk, images, batch, pixels):
    """A chunk's first image, its image count, its column count (images OH OW) and its columns: a
    (rows, images OH OW) run of buffer."""
    start = chunk * images
    count = min(images, batch - start)
    return start, count, count * pixels, buffer[:rows * count * pixels]


@_jit
def _forward_chunks(xc, kh, kw, sh, sw, dh, dw, ph, pw, wm, bias, ym, images, oh, ow, stage, keep, buffer, counter,
                    first, last):
    """``forward`` for the chunks of [first, last) this thread claims (``_claim``): gather, one product into
    ym's columns, the bias."""
    channels, n = xc.shape[0], xc.shape[1]
    outs, rows = wm.shape
    pixels = oh * ow
    chunk = claim(counter, first)
    while chunk < last:
        start, count, width, cols = _chunk(buffer, rows, chunk, images, n, pixels)
        gather(xc, kh, kw, sh, sw, dh, dw, ph, pw, stage, keep, cols.reshape((channels, kh, kw, count, oh, ow)), start)
        gemm(NO_TRANS, NO_TRANS, outs, width, rows, wm.ctypes.data, rows, cols.ctypes.data, width, False,
             ym.ctypes.data + _u(start * pixels * ym.itemsize), ym.shape[1], ym)
        if bias.shape[0]:
            for o in range(outs):
                b = bias[o]
                for q in range(_u(start * pixels), _u(start * pixels + width)):
                    ym[o, q] += b
        chunk = claim(counter, first)


@_jit
def _weight_chunks(xc, kh, kw, sh, sw, dh, dw, ph, pw, gym, sums, blocks, images, oh, ow, stage, keep, buffer,
                   product, counter, first, last):
    """``weight_grad`` for the blocks of [first, last) this thread claims: a block's chunks, columns
    @ gy^T, summed by BLAS into ``product`` (its own sum of products, as one product over the block
    would take it), then added into the block's float64 sums."""
    channels, n = xc.shape[0], xc.shape[1]
    rows, outs = product.shape
    pixels = oh * ow
    block = claim(counter, first)
    while block < last:
        for chunk in range(blocks[block, 0], blocks[block, 1]):
            start, count, width, cols = _chunk(buffer, rows, chunk, images, n, pixels)
            gather(xc, kh, kw, sh, sw, dh, dw, ph, pw, stage, keep, cols.reshape((channels, kh, kw, count, oh, ow)),
                   start)
            gemm(NO_TRANS, TRANS, rows, outs, width, cols.ctypes.data, width,
                 gym.ctypes.data + _u(start * pixels * gym.itemsize), gym.shape[1], chunk > blocks[block, 0],
                 product.ctypes.data, outs, product)
        if blocks[block, 1] > blocks[block, 0]:  # (``threads.ranges`` makes no empty block)
            for r in range(rows):
                for o in range(outs):
                    sums[block, r, o] += product[r, o]
        block = claim(counter, first)


@_jit
def _input_chunks(wm, gym, kh, kw, sh, sw, dh, dw, ph, pw, dxc, images, oh, ow, stage, buffer, counter, first, last):
    """``input_grad`` for the chunks of [first, last) this thread claims: one product wm^T @ gy into the
    columns, scattered."""
    channels, n = dxc.shape[0], dxc.shape[1]
    outs, rows = wm.shape
    pixels = oh * ow
    chunk = claim(counter, first)
    while chunk < last:
        start, count, width, cols = _chunk(buffer, rows, chunk, images, n, pixels)
        gemm(TRANS, NO_TRANS, rows, width, outs, wm.ctypes.data, rows,
             gym.ctypes.data + _u(start * pixels * gym.itemsize), gym.shape[1], False, cols.ctypes.data, width, cols)
        scatter(cols.reshape((channels, kh, kw, count, oh, ow)), kh, kw, sh, sw, dh, dw, ph, pw, stage, dxc, start)
        chunk = claim(counter, first)


class Plan:
    """The chunking of one convolution. Chunks lie on a grid fixed by the batch alone (``images`` per
    chunk from image 0) and each thread takes a range of whole chunks, so a chunk's product is the same
    whatever the thread count; the weight gradient sums its chunks in float64 into ``BLOCKS`` fixed
    groups of chunks, then the groups in order, so it does not depend on the thread count either.

    The groups' float64 sums are held at once, so their count shrinks with the weight's size (from
    ``BLOCKS`` down to ``MIN_BLOCKS``, halving while they take more than ``SUMS_BYTES``): 16 groups of
    a 64-channel 3x3 weight were 4.7 MB, zeroed afresh and summed at every call, and made its weight
    gradient 1.4x slower in the ResNet-20 step than 4 groups (bench/README.md, session 8). The count
    depends on the shapes only, never on the thread count."""

    BLOCKS = 16
    MIN_BLOCKS = 4
    SUMS_BYTES = 1 << 19

    def __init__(self, window, x_shape, out_hw, dtype):
        n, c = x_shape[:2]
        self.window, self.out_hw, self.dtype = window, tuple(out_hw), dtype
        self.rows = c * window.kernel[0] * window.kernel[1]
        self.pixels = out_hw[0] * out_hw[1]
        self.images = max(1, CHUNK_ELEMENTS // (self.rows * self.pixels))
        self.grid = [(start, min(start + self.images, n)) for start in range(0, n, self.images)]
        self.size = self.rows * self.pixels * n  # a split is sized by the whole batch's columns
        self.shape6 = (c,) + window.kernel
        self.in_hw = tuple(x_shape[2:])
        # stride 1 and an output plane the input's: the gather copies shifted planes (``_shifted``)
        self.shifted = SHIFTED and window.stride == (1, 1) and self.in_hw == self.out_hw

    def blocks(self, outs: int) -> list:
        """[first, last) chunk ranges of the weight gradient's float64 groups (see the class)."""
        count = self.BLOCKS
        while count > self.MIN_BLOCKS and count * self.rows * outs * 8 > self.SUMS_BYTES:
            count //= 2
        return ranges(len(self.grid), count)

    def parts(self, items):
        """[first, last) ranges of ``items`` (chunks or blocks), one per thread (``threads.split``): the
        Python loop's."""
        return split(items, self.size)

    def claims(self, items):
        """The (counter, first, last) of the compiled loops' threads, which claim the items (chunks or
        blocks) one at a time (``threads.claiming``)."""
        return claiming(items, self.size)

    def buffer(self):
        return numpy.empty((self.rows, self.images * self.pixels), self.dtype)

    def stage(self, scatter=False):
        """A thread's padded copy of one chunk's images (its border stays zero; see ``gather``); an
        empty array when there is no padding (the loops then read and write x itself) or when the
        gather takes shifted planes (``keep``)."""
        ph, pw = self.window.padding
        if not (ph or pw) or (self.shifted and not scatter):
            return numpy.zeros((0, 0, 0, 0), self.dtype)
        return numpy.zeros((self.shape6[0], self.images, self.in_hw[0] + 2 * ph, self.in_hw[1] + 2 * pw), self.dtype)

    def keep(self):
        """For ``_shifted``: keep[i, j, a W + b] is whether tap (i, j) of output pixel (a, b) lies inside
        the image; an empty array where the gather copies window rows (``_taps``) instead."""
        if not self.shifted:
            return numpy.zeros((0, 0, 0), numpy.bool_)
        return _keep(self.window.kernel, self.window.dilation, self.window.padding, self.in_hw)


    def columns(self, buffer, stage, xc, start, stop):
        """The columns of images [start, stop) in ``buffer`` (a dense (rows, their pixels) run of it, as
        ``_chunk`` takes in the compiled loops)."""
        cols = buffer.reshape(-1)[:self.rows * (stop - start) * self.pixels].reshape(self.rows, -1)
        gather(xc, *self.window.taps, *self.window.padding, stage, self.keep(),
               cols.reshape(self.shape6 + (stop - start,) + self.out_hw), start)
        return cols

    def compiled(self, *arrays):
        """Whether the compiled chunk loops serve these arrays (``COMPILED``, ``_blas``, their dtype)."""
        return COMPILED and _blas.AVAILABLE and all(a.dtype == self.dtype and a.flags.c_contiguous for a in arrays) \
            and self.dtype in (numpy.float32, numpy.float64)

    def geometry(self):
        """The window and chunk arguments of the compiled loops."""
        return self.window.taps + self.window.padding

    def span(self, start, stop):
        """The columns of images [start, stop) in an (., N OH OW) matrix."""
        return slice(start * self.pixels, stop * self.pixels)


@functools.lru_cache(maxsize=64)
def _keep(kernel, dilation, padding, in_hw):
    """``Plan.keep``, made once for each geometry (a step asks for it at every conv op: 29 us each
    made afresh). Shared by those calls, which only read it."""
    (kh, kw), (dh, dw), (ph, pw), (h, w) = kernel, dilation, padding, in_hw
    rows = numpy.arange(h)[None, :] + (numpy.arange(kh) * dh - ph)[:, None]  # (i, a): the row read
    cols = numpy.arange(w)[None, :] + (numpy.arange(kw) * dw - pw)[:, None]  # (j, b): the column read
    inside = ((rows >= 0) & (rows < h))[:, None, :, None] & ((cols >= 0) & (cols < w))[None, :, None, :]
    return numpy.ascontiguousarray(inside.reshape(kh, kw, h * w))


def forward(plan, xc, wm, bias, ym):
    """ym (O, N OH OW) = wm (O, C KH KW) @ columns of xc (C, N, H, W) (+ bias)."""
    wm = numpy.ascontiguousarray(wm)
    if plan.compiled(xc, wm, ym):
        b = numpy.zeros(0, ym.dtype) if bias is None else numpy.ascontiguousarray(bias, ym.dtype)
        run([(_forward_chunks, (xc, *plan.geometry(), wm, b, ym, plan.images, *plan.out_hw, plan.stage(), plan.keep(),
                                plan.buffer().reshape(-1)) + claims)
             for claims in plan.claims(len(plan.grid))])
        return

    def part(first, last):
        buffer, stage = plan.buffer(), plan.stage()
        for start, stop in plan.grid[first:last]:
            out = ym[:, plan.span(start, stop)]
            numpy.matmul(wm, plan.columns(buffer, stage, xc, start, stop), out=out)
            if bias is not None:
                out += bias[:, None]
    run([(part, bounds) for bounds in plan.parts(len(plan.grid))])


def weight_grad(plan, xc, gym):
    """gw (O, C KH KW) = sum over chunks of gym[:, chunk] @ columns(chunk)^T: each block's chunks summed
    in the columns' dtype (as BLAS sums within one product), the blocks in float64. Each
    chunk's product is taken transposed, columns @ gym[:, chunk]^T (C KH KW, O): the same sums, 4-15%
    faster in OpenBLAS at ResNet-20's shapes (bench/README.md, session 8)."""
    blocks = plan.blocks(gym.shape[0])
    sums = numpy.zeros((len(blocks), plan.rows, gym.shape[0]))
    if plan.compiled(xc, gym):
        bounds = numpy.array(blocks, dtype=numpy.int64).reshape(-1, 2)
        run([(_weight_chunks, (xc, *plan.geometry(), gym, sums, bounds, plan.images, *plan.out_hw, plan.stage(),
                               plan.keep(), plan.buffer().reshape(-1), numpy.empty((plan.rows, gym.shape[0]), plan.dtype))
              + claims)
             for claims in plan.claims(len(blocks))])
        return sums.sum(0).T

    def part(first, last):
        buffer, stage = plan.buffer(), plan.stage()
        for total, (chunk_first, chunk_last) in zip(sums[first:last], blocks[first:last]):
            block = None  # the block's own sum of products, in the columns' dtype (as ``_weight_chunks``)
            for start, stop in plan.grid[chunk_first:chunk_last]:
                product = plan.columns(buffer, stage, xc, start, stop) @ gym[:, plan.span(start, stop)].T
                block = product if block is None else numpy.add(block, product, out=block)
            if block is not None:
                total += block
    run([(part, bounds) for bounds in plan.parts(len(blocks))])
    return sums.sum(0).T


def input_grad(plan, wm, gym, dxc):
    """dxc (C, N, H, W; every entry written) = col2im(wm^T @ gym), chunk by chunk."""
    wm = numpy.ascontiguousarray(wm)
    if plan.compiled(wm, gym, dxc):
        run([(_input_chunks, (wm, gym, *plan.geometry(), dxc, plan.images, *plan.out_hw, plan.stage(True),
                              plan.buffer().reshape(-1)) + claims)
             for claims in plan.claims(len(plan.grid))])
        return
    wt = wm.T

    def part(first, last):
        buffer, stage = plan.buffer(), plan.stage(True)
        for start, stop in plan.grid[first:last]:
            cols = buffer[:, :(stop - start) * plan.pixels]
            numpy.matmul(wt, gym[:, plan.span(start, stop)], out=cols)
            scatter(cols.reshape(plan.shape6 + (stop - start,) + plan.out_hw), *plan.window.taps, *plan.window.padding,
                    stage, dxc, start)
    run([(part, bounds) for bounds in plan.parts(len(plan.grid))])
