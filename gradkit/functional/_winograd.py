"""Stride-1 3x3 convolution by Winograd's minimal filtering F(2x2, 3x3) (private).

Each 2x2 block of outputs is computed from the 4x4 block of the padded input under it (tiles
overlap by two rows and columns) with 16 multiplies per (input, output) channel pair instead of 36
(Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):

    Y = A^T [ (G g G^T) (.) (B^T d B) ] A,   then summed over the input channels,

    B^T = [1  0 -1  0]    G = [ 1    0    0 ]    A^T = [1  1  1  0]
          [0  1  1  0]        [1/2  1/2  1/2]          [0  1 -1 -1]
          [0 -1  1  0]        [1/2 -1/2  1/2]
          [0  1  0 -1]        [ 0    0    1 ]

where (.) is the element-wise product. Summing over channels inside the transformed domain makes it
16 independent matrix products, M[k] = U[k] (O x C) @ V[k] (C x tiles), one per entry k of the 4x4
tile: U = G g G^T is transformed once per call (in float64, then cast), V = B^T d B per tile and
channel by a compiled loop, and Y = A^T M A per tile by another. An output size that is odd is
covered by one more tile, whose missing input row or column is read as zero and whose missing
outputs are not written.

As in ``_chunked``, the batch is cut into chunks of whole images on a grid fixed by the batch alone,
each thread takes a range of chunks (``threads.split``), and a chunk's transformed tiles (V and M,
``CHUNK_ELEMENTS`` values each at most) stay in the core's cache between its three steps; the
products run on BLAS's calling thread, so a given chunk gives the same bits on any thread count.

Rounding: the transforms add and subtract before the products, so a result can differ from the
direct sum by a few units in the last place of the largest terms (the tests state the measured
error). Non-finite values do not keep IEEE's direct-sum meaning (an infinity meets its negative
inside a tile and becomes NaN), so ``convolve`` reports any non-finite output and the caller falls
back to im2col + GEMM, which gives what PyTorch gives.
"""
from __future__ import annotations

import numpy
from numba import njit
from numba import uint64 as _u

from ..threads import run, split

CHUNK_ELEMENTS = 1 << 17  # transformed values per chunk (V and M each, 512 KB of float32; 2^15-2^18 within 5%)

_jit = njit(cache=True, nogil=True)
# reductions may be summed in SIMD lanes; NaN and infinity keep their IEEE meaning (as ``_loops``)
_jit_sum = njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})

_G = numpy.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
_GG = numpy.kron(_G, _G).T  # (9, 16): row 3 i + j, column 4 a + b holds G[a, i] G[b, j]


def filters(w):
    """U[4 a + b, o, c] = (G w[o, c] G^T)[a, b]: (16, O, C), computed in float64, in w's dtype (one
    (O C, 9) @ (9, 16) product: an einsum over the 3x3 blocks took 1.1 ms at 64 channels)."""
    u = numpy.asarray(w, numpy.float64).reshape(-1, 9) @ _GG
    return numpy.ascontiguousarray(u.T.reshape(16, w.shape[0], w.shape[1]), dtype=w.dtype)


@_jit
def transform_input(xp, first, th, tw, e, v, zero):
    """v[4 a + b, c, t] = (B^T d B)[a, b] for tile t = (n th + i) tw + j of image first + n, where d is
    the 4x4 block of xp (C, N, Hp, Wp) at row 2 i, column 2 j (``zero``, of xp's dtype, past the last
    row or column).

    Two passes per image and channel. The first applies B^T down each tile's four rows, for its
    columns 2 j, 2 j + 1 (e[a], e[4 + a]) and 2 j + 2, 2 j + 3 (e[8 + a], e[12 + a]); e is (16, th tw),
    scratch. The second, times B along the rows, is then one unit-stride loop over all the image's
    tiles, which LLVM vectorises (the input transform took 13-25% less time than with a loop per
    row of tiles). Views are taken once per channel and image."""
    channels, hp, wp = xp.shape[0], xp.shape[2], xp.shape[3]
    tiles = th * tw
    images = v.shape[2] // tiles
    for c in range(channels):
        xc = xp[c]
        for n in range(images):
            image = xc[_u(first + n)]
            for i in range(th):
                y0, y1, y2, y3 = _u(2 * i), _u(2 * i + 1), _u(2 * i + 2), _u(2 * i + 3)
                whole = 2 * i + 3 < hp  # else the row past an odd height is zero
                for j in range(tw):
                    f = _u(i * tw + j)
                    for q in range(2):  # columns 2 j and 2 j + 1 always lie inside
                        x = _u(2 * j + q)
                        d0, d1, d2 = image[y0, x], image[y1, x], image[y2, x]
                        d3 = image[y3, x] if whole else zero
                        e[4 * q, f], e[4 * q + 1, f] = d0 - d2, d1 + d2
                        e[4 * q + 2, f], e[4 * q + 3, f] = d2 - d1, d1 - d3
                    for q in range(2):
                        x = 2 * j + 2 + q
                        if x < wp:  # else the column past an odd width is zero
                            d0, d1, d2 = image[y0, _u(x)], image[y1, _u(x)], image[y2, _u(x)]
                            d3 = image[y3, _u(x)] if whole else zero
                        else:
                            d0 = d1 = d2 = d3 = zero
                        e[8 + 4 * q, f], e[9 + 4 * q, f] = d0 - d2, d1 + d2
                        e[10 + 4 * q, f], e[11 + 4 * q, f] = d2 - d1, d1 - d3
            t0 = n * tiles
            for a in range(4):
                k, c0, c1, c2, c3 = 4 * a, e[a], e[4 + a], e[8 + a], e[12 + a]
                for f in range(tiles):
                    t = _u(t0 + f)
                    v[k, c, t], v[k + 1, c, t] = c0[f] - c2[f], c1[f] + c2[f]
                    v[k + 2, c, t], v[k + 3, c, t] = c2[f] - c1[f], c1[f] - c3[f]


@_jit_sum
def _zero_unless_non_finite(values):
    """0 when every value is finite, NaN otherwise (sum of values times 0, in SIMD lanes)."""
    total = 0.0
    for x in values:
        total += x * 0
    return total


@_jit
def transform_output(m, bias, first, th, tw, s, y):
    """y[o, first + n, 2 i + p, 2 j + q] = (A^T M A)[p, q] + bias[o] for tile t = (n th + i) tw + j,
    M[a, b] = m[4 a + b, o, t]; outputs past y's last row or column are not written. Returns
    whether any output is NaN or infinite.

    Two unit-stride passes per output channel: s (8, tiles, scratch) = A^T applied down the tiles'
    columns, over all the chunk's tiles in one loop, then those rows times A, row by row of y."""
    outs, oh, ow = y.shape[0], y.shape[2], y.shape[3]
    tiles = m.shape[2]
    images = tiles // (th * tw)
    check = 0.0
    for o in range(outs):
        b = bias[o]
        for k in range(4):
            for t in range(tiles):
                s[k, t] = m[k, o, t] + m[4 + k, o, t] + m[8 + k, o, t]
                s[4 + k, t] = m[4 + k, o, t] - m[8 + k, o, t] - m[12 + k, o, t]
        yo = y[o]
        for n in range(images):
            image = yo[_u(first + n)]
            for i in range(th):
                t0 = (n * th + i) * tw
                for p in range(min(2, oh - 2 * i)):
                    row, k = image[_u(2 * i + p)], 4 * p
                    for j in range(ow // 2):
                        t, x = _u(t0 + j), _u(2 * j)
                        row[x] = s[k, t] + s[k + 1, t] + s[k + 2, t] + b
                        row[x + 1] = s[k + 1, t] - s[k + 2, t] - s[k + 3, t] + b
                    if ow % 2:  # the last tile's second column is past the edge
                        t = _u(t0 + tw - 1)
                        row[ow - 1] = s[k, t] + s[k + 1, t] + s[k + 2, t] + b
            check += _zero_unless_non_finite(image.ravel())
    return check != 0


def convolve(xp, w, bias=None):
    """y (O, N, Hp - 2, Wp - 2) = the stride-1 3x3 cross-correlation of the padded input xp (C, N, Hp, Wp)
    with w (O, C, 3, 3), plus bias (O,); None when an output is not finite (see the module docstring)."""
    channels, n, hp, wp = xp.shape
    outs, dtype = w.shape[0], xp.dtype
    oh, ow = hp - 2, wp - 2
    th, tw = (oh + 1) // 2, (ow + 1) // 2
    tiles = th * tw  # per image
    images = max(1, CHUNK_ELEMENTS // (16 * max(channels, outs) * tiles))
    grid = [(start, min(start + images, n)) for start in range(0, n, images)]
    u = filters(w)
    bias = numpy.zeros(outs, dtype) if bias is None else numpy.ascontiguousarray(bias, dtype)
    xp = numpy.ascontiguousarray(xp)
    y = numpy.empty((outs, n, oh, ow), dtype)
    flags = []

    def part(first, last):
        e = numpy.zeros((16, tiles), dtype)
        s = numpy.empty((8, images * tiles), dtype)
        v_buffer = numpy.empty(16 * channels * images * tiles, dtype)
        m_buffer = numpy.empty(16 * outs * images * tiles, dtype)
        for start, stop in grid[first:last]:
            count = (stop - start) * tiles
            v = v_buffer[:16 * channels * count].reshape(16, channels, count)
            m = m_buffer[:16 * outs * count].reshape(16, outs, count)
            transform_input(xp, start, th, tw, e, v, dtype.type(0))
            numpy.matmul(u, v, out=m)
            flags.append(transform_output(m, bias, start, th, tw, s, y))
    run([(part, bounds) for bounds in split(len(grid), 16 * channels * tiles * n)])
    return None if any(flags) else y
