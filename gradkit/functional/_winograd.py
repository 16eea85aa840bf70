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

CHUNK_ELEMENTS = 1 << 16  # transformed values per chunk (V and M each; 256 KB of float32)

_jit = njit(cache=True, nogil=True)

_G = numpy.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
_GG = numpy.kron(_G, _G).T  # (9, 16): row 3 i + j, column 4 a + b holds G[a, i] G[b, j]


def filters(w):
    """U[4 a + b, o, c] = (G w[o, c] G^T)[a, b]: (16, O, C), computed in float64, in w's dtype (one
    (O C, 9) @ (9, 16) product: an einsum over the 3x3 blocks took 1.1 ms at 64 channels)."""
    u = numpy.asarray(w, numpy.float64).reshape(-1, 9) @ _GG
    return numpy.ascontiguousarray(u.T.reshape(16, w.shape[0], w.shape[1]), dtype=w.dtype)


@_jit
def transform_input(xp, first, th, tw, e, v):
    """v[4 a + b, c, t] = (B^T d B)[a, b] for tile t = (n th + i) tw + j of image first + n, where d is
    the 4x4 block of xp (C, N, Hp, Wp) at row 2 i, column 2 j (zeros past the last row or column).

    Two passes per row of tiles, each a unit-stride loop that LLVM vectorises: e (4, >= 2 tw + 2,
    scratch) = B^T applied down the four rows, then each tile's columns of e times B."""
    channels, hp, wp = xp.shape[0], xp.shape[2], xp.shape[3]
    images = v.shape[2] // (th * tw)
    e[:, wp:] = 0  # the column past an odd width
    for c in range(channels):
        for n in range(images):
            image = _u(first + n)
            for i in range(th):
                y = 2 * i
                r0, r1, r2 = xp[c, image, _u(y)], xp[c, image, _u(y + 1)], xp[c, image, _u(y + 2)]
                if y + 3 < hp:
                    r3 = xp[c, image, _u(y + 3)]
                    for x in range(wp):
                        e[0, x], e[1, x] = r0[x] - r2[x], r1[x] + r2[x]
                        e[2, x], e[3, x] = r2[x] - r1[x], r1[x] - r3[x]
                else:  # the row past an odd height is zero
                    for x in range(wp):
                        e[0, x], e[1, x] = r0[x] - r2[x], r1[x] + r2[x]
                        e[2, x], e[3, x] = r2[x] - r1[x], r1[x]
                t0 = (n * th + i) * tw
                for a in range(4):
                    ea = e[a]
                    va0, va1, va2, va3 = v[4 * a, c], v[4 * a + 1, c], v[4 * a + 2, c], v[4 * a + 3, c]
                    for j in range(tw):
                        t, x = _u(t0 + j), _u(2 * j)
                        va0[t], va1[t] = ea[x] - ea[x + 2], ea[x + 1] + ea[x + 2]
                        va2[t], va3[t] = ea[x + 2] - ea[x + 1], ea[x + 1] - ea[x + 3]


@_jit
def transform_output(m, bias, first, th, tw, z, y):
    """y[o, first + n, 2 i + p, 2 j + q] = (A^T M A)[p, q] + bias[o] for tile t = (n th + i) tw + j,
    M[a, b] = m[4 a + b, o, t]; outputs past y's last row or column are not written. Returns
    whether any output is NaN or infinite.

    Three unit-stride passes per row of tiles, each few enough arrays for LLVM to vectorise: z[:8]
    (scratch, (10, 2 tw)) = A^T applied down the tiles' columns, z[8:] = those rows times A, then
    the valid outputs copied to y."""
    outs, oh, ow = y.shape[0], y.shape[2], y.shape[3]
    images = m.shape[2] // (th * tw)
    check = bias[0] * 0
    for o in range(outs):
        b = bias[o]
        for n in range(images):
            image = _u(first + n)
            for i in range(th):
                t0 = (n * th + i) * tw
                for k in range(4):
                    m0, m1, m2, m3 = m[k, o], m[4 + k, o], m[8 + k, o], m[12 + k, o]
                    top, bottom = z[k], z[4 + k]
                    for j in range(tw):
                        t = _u(t0 + j)
                        top[j], bottom[j] = m0[t] + m1[t] + m2[t], m1[t] - m2[t] - m3[t]
                for p in range(2):
                    s0, s1, s2, s3, out = z[4 * p], z[4 * p + 1], z[4 * p + 2], z[4 * p + 3], z[8 + p]
                    for j in range(tw):
                        x = _u(2 * j)
                        out[x], out[x + 1] = s0[j] + s1[j] + s2[j] + b, s1[j] - s2[j] - s3[j] + b
                for p in range(min(2, oh - 2 * i)):
                    row, out = y[o, image, _u(2 * i + p)], z[8 + p]
                    for x in range(ow):
                        row[x] = out[x]
                        check += out[x] * 0  # NaN once any output is NaN or infinite
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
        e, z = numpy.empty((4, 2 * tw + 2), dtype), numpy.empty((10, 2 * tw), dtype)
        v_buffer = numpy.empty(16 * channels * images * tiles, dtype)
        m_buffer = numpy.empty(16 * outs * images * tiles, dtype)
        for start, stop in grid[first:last]:
            count = (stop - start) * tiles
            v = v_buffer[:16 * channels * count].reshape(16, channels, count)
            m = m_buffer[:16 * outs * count].reshape(16, outs, count)
            transform_input(xp, start, th, tw, e, v)
            numpy.matmul(u, v, out=m)
            flags.append(transform_output(m, bias, start, th, tw, z, y))
    run([(part, bounds) for bounds in split(len(grid), 16 * channels * tiles * n)])
    return None if any(flags) else y
