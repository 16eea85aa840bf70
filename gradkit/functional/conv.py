"""2-D convolution by im2col / col2im, fused, with first and second derivatives.

conv2d is one fused op (not a composite of getitem / matmul / sum) for speed: a LeNet-5 step is
mostly data movement, so the windows are gathered once into columns (C KH KW, N OH OW) by a
compiled loop (``_loops.im2col``), multiplied by one GEMM, W (O, C KH KW) @ columns, and scattered
back by its adjoint (``_loops.col2im``). See ``_windows`` for the layout. The pooling ops live in ``pool`` and are re-exported here.

Convolutions of stride 1 with few channels (up to 16 x 16: both of LeNet-5's, 1 -> 6 and 6 -> 16,
and ResNet's 16 -> 16) skip the columns: their GEMMs are too skinny to pay for writing and reading
them (7.8 MB and 6 MB in LeNet-5 at batch 100), so the forward pass and the weight gradient are compiled loops over the
padded image (``_loops.conv_direct``, ``_loops.conv_direct_weight``). The others, and the input
gradients, go through im2col + GEMM (col2im) a few images at a time (``_chunked``): a chunk's
columns stay in cache and the whole batch's are never held (37.7 MB for one 16-channel layer of
ResNet-20). Every loop is split over the images of the batch on gradkit's threads (grouped
convolutions keep the whole batch's columns and split their GEMMs over rows or columns once
gradkit holds the threads, ``gradkit.threads``).

The input gradient of a stride-1 conv with 8 to 32 channels is the forward convolution of gy with w
flipped and transposed (``TRANSPOSED``): one product of K = O KH KW and a gather, where col2im's
product has K = O and a scatter (residual CNN step 2-5% faster, bench/README.md, session 9).

Stride-1 3x3 convolutions can also run, forward and input gradient, by Winograd F(2x2, 3x3)
(``_winograd``, switched by ``WINOGRAD``, from 32 x 32 channel pairs): off, since it did not speed
up the bench's training steps beyond their noise (bench/README.md).

The derivatives are two more ops, each linear in both inputs, so every derivative of any order is
again one of the three (``create_graph=True`` works):

    y  = conv(x, w) + b
    gx = conv_grad_input(gy, w)     the adjoint of x -> conv(x, w)  (a transposed convolution)
    gw = conv_grad_weight(x, gy)    the adjoint of w -> conv(x, w)
"""
from __future__ import annotations

import numpy

from ..autograd import ops
from ..autograd.function import Function
from ..autograd.ops import _lift
from ..autograd.tensor import Tensor
from ..threads import matmul as _product, parallel_claim, ranges
from ._windows import Window, channels_first, check_nchw, loops, nchw, over_batch
from .pool import avg_pool2d, global_avg_pool2d, max_pool2d

# input channels x output channels up to which the direct loops beat im2col + GEMM: LeNet-5's 1 x 6 and
# 6 x 16 (session 4), ResNet's 16 x 16 (forward 2.99 against 3.82 ms, weight gradient 2.41 against 3.55
# at 32x32, batch 64, 2 threads); 32 x 32 lost (3.05 against 2.68; bench/README.md, session 9)
DIRECT_MAX_CHANNEL_PAIRS = 256
# blocks of images whose direct-loop weight gradients are summed apart (float64), then in order: fixed by the
# batch, so the sums do not depend on the thread count, and enough for two threads to claim evenly
DIRECT_WEIGHT_BLOCKS = 16
CHUNKED = True  # one group: im2col + GEMM a few images at a time (``_chunked``); False: the whole batch's columns
WINOGRAD = False  # stride-1 3x3 forward and input gradient by Winograd F(2x2, 3x3) (``_winograd``)
WINOGRAD_MIN_CHANNEL_PAIRS = 1024  # C x O from which Winograd beat im2col + GEMM (bench/README.md, session 7)
WINOGRAD_MAX_TILE_WASTE = 1.1  # at most 10% more outputs in the 2x2 tiles than in the plane (7x7: 31%)
# The input gradient of a stride-1 conv as the forward convolution of gy with w flipped and transposed,
# padded by k - 1 - p, where it beat col2im(W^T @ gy) (bench/README.md, session 9): from 8 input
# channels (below, the products have too few rows: LeNet-5's 6 -> 16 lost) to 32 x 32 channel pairs
TRANSPOSED = True
TRANSPOSED_MIN_CHANNELS = 8
TRANSPOSED_MAX_CHANNEL_PAIRS = 1024


class _Geometry:
    """What the three conv ops share: the window, the groups and the input and output sizes.

    Matrices are grouped: columns (G, C/G KH KW, N OH OW), weights (G, O/G, C/G KH KW), outputs
    (G, O/G, N OH OW); one group is a plain 2-D GEMM (the leading axis is a free reshape)."""

    def __init__(self, window: Window, groups: int, x_shape: tuple, w_shape: tuple):
        self.window, self.groups = window, groups
        self.x_shape, self.w_shape = tuple(x_shape), tuple(w_shape)
        self.out_hw = window.output_size(*x_shape[2:])
        # column-free loops where they beat im2col + GEMM (measured in bench/README.md): stride 1,
        # one group, few channels in times out (the GEMM's efficiency grows with both)
        self.direct = window.stride == (1, 1) and groups == 1 and x_shape[1] * w_shape[0] <= DIRECT_MAX_CHANNEL_PAIRS
        # Winograd F(2x2, 3x3) where it applies (``_winograd``): the input gradient is then a stride-1
        # 3x3 convolution of gy padded by 2 - p, so it needs p <= 2
        oh, ow = self.out_hw
        self.winograd = (window.kernel == (3, 3) and window.stride == (1, 1) and window.dilation == (1, 1)
                         and groups == 1 and x_shape[1] * w_shape[0] >= WINOGRAD_MIN_CHANNEL_PAIRS
                         and (oh + oh % 2) * (ow + ow % 2) <= WINOGRAD_MAX_TILE_WASTE * oh * ow)
        self.winograd_input_grad = self.winograd and max(window.padding) <= 2
        (kh, kw), (ph, pw) = window.kernel, window.padding
        self.transposed_input_grad = (window.stride == (1, 1) and window.dilation == (1, 1) and groups == 1
                                      and ph <= kh - 1 and pw <= kw - 1 and x_shape[1] >= TRANSPOSED_MIN_CHANNELS
                                      and x_shape[1] * w_shape[0] <= TRANSPOSED_MAX_CHANNEL_PAIRS)

    def forward(self, x, w, b):
        """conv(x, w) + b as the NCHW view of an (O, N, OH, OW) array, and what ``weight_grad`` can
        reuse: the (C, N, H, W) input (direct loops, which pad it an image at a time, and chunked
        im2col + GEMM) or the whole batch's columns (grouped)."""
        if self.direct:
            xc = channels_first(x)
            yc = numpy.empty((w.shape[0], x.shape[0]) + self.out_hw, dtype=x.dtype)
            bias = numpy.zeros(w.shape[0], x.dtype) if b is None else b
            parallel_claim(loops().conv_direct, x.shape[0], xc, *self.window.padding, *self.window.kernel,
                           *self.window.dilation, numpy.ascontiguousarray(w).reshape(w.shape[0], -1), bias, yc,
                           size=max(xc.size, yc.size))
            return nchw(yc), xc
        if WINOGRAD and self.winograd:
            yc = winograd().convolve(self.window.padded(x), w, b)
            if yc is not None:  # None: an output is not finite; im2col + GEMM gives IEEE's (and torch's) values
                return nchw(yc), None
        if self.groups == 1 and CHUNKED:  # a few images at a time, on each thread (``_chunked``)
            xc = channels_first(x)  # free for a conv, batch norm or ReLU output; the loops pad
            ym = numpy.empty((w.shape[0], x.shape[0] * self.out_hw[0] * self.out_hw[1]), x.dtype)
            chunked().forward(self.plan(x.dtype), xc, w.reshape(w.shape[0], -1), b, ym)
            return self.output_from_matrix(ym), xc
        cols = self.columns(x)
        ym = _matmul(self.weight_matrix(w), cols)
        if b is not None:
            ym = ym.reshape(b.shape[0], -1)
            ym += b[:, None]
        return self.output_from_matrix(ym), cols

    def weight_grad(self, x, gy, saved=None):
        """The gradient of conv(x, w) with respect to w, from ``saved`` (``forward``'s) when given."""
        if self.direct:
            xc = channels_first(x) if saved is None else saved
            gyc = channels_first(gy)
            blocks = numpy.array(ranges(x.shape[0], DIRECT_WEIGHT_BLOCKS), dtype=numpy.int64)  # fixed by the batch
            gw = numpy.zeros((len(blocks), self.w_shape[0], xc.shape[0] * self.window.kernel[0] * self.window.kernel[1]))
            parallel_claim(loops().conv_direct_weight, len(blocks), xc, *self.window.padding, gyc, *self.window.kernel,
                           *self.window.dilation, gw, blocks, size=max(xc.size, gyc.size))
            return gw.sum(0).astype(x.dtype).reshape(self.w_shape)
        if self.groups == 1 and CHUNKED:
            xc = channels_first(x) if saved is None else saved
            gw = chunked().weight_grad(self.plan(x.dtype), xc, self.output_matrix(gy)[0])
            return gw.astype(x.dtype, copy=False).reshape(self.w_shape)
        cols = self.columns(x) if saved is None else saved
        # (cols @ gy^T)^T, not gy @ cols^T: the same product, 1.7x faster in OpenBLAS at LeNet-5 shapes
        return numpy.ascontiguousarray(_matmul(cols, self.output_matrix(gy).transpose(0, 2, 1)).swapaxes(-1, -2)
                                       ).reshape(self.w_shape)

    def plan(self, dtype):
        return chunked().Plan(self.window, self.x_shape, self.out_hw, dtype)

    def input_grad(self, gy, w):
        """conv_grad_input: col2im(W^T @ gy), chunk by chunk for one group (``_chunked``), or, for a
        stride-1 window, the convolution of gy, padded by k - 1 - p, with w flipped and transposed."""
        if WINOGRAD and self.winograd_input_grad:
            flipped = Window("conv2d", 3, 1, (2 - self.window.padding[0], 2 - self.window.padding[1]))
            gxc = winograd().convolve(flipped.padded(gy), w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
            if gxc is not None:
                return nchw(gxc)
        if TRANSPOSED and self.transposed_input_grad:
            (kh, kw), (ph, pw) = self.window.kernel, self.window.padding
            flipped = _Geometry(Window("conv2d", (kh, kw), 1, (kh - 1 - ph, kw - 1 - pw)), 1, gy.shape,
                                (self.w_shape[1], self.w_shape[0], kh, kw))
            return flipped.forward(gy, w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], None)[0]
        if self.groups == 1 and CHUNKED:
            n, c, h, width = self.x_shape
            dxc = numpy.empty((c, n, h, width), gy.dtype)  # dense: the ReLU gradient before it runs compiled
            chunked().input_grad(self.plan(gy.dtype), w.reshape(w.shape[0], -1), self.output_matrix(gy)[0], dxc)
            return nchw(dxc)
        return self.scatter_columns(_matmul(self.weight_matrix(w).transpose(0, 2, 1), self.output_matrix(gy)))

    def columns(self, x):
        """im2col: row (c, kh, kw), column (n, i, j) holds the input pixel that tap meets (0 in the padding)."""
        n, c = x.shape[:2]
        cols = numpy.empty((c,) + self.window.kernel + (n,) + self.out_hw, dtype=x.dtype)
        over_batch(loops().im2col, n, self.window.padded(x), *self.window.taps, cols)
        return cols.reshape(self.groups, -1, n * self.out_hw[0] * self.out_hw[1])

    def weight_matrix(self, w):
        return w.reshape(self.groups, w.shape[0] // self.groups, -1)

    def output_matrix(self, gy):
        """(N, O, OH, OW) -> (G, O/G, N OH OW); free when gy's memory is (O, N, OH, OW), as conv's output."""
        return gy.transpose(1, 0, 2, 3).reshape(self.groups, gy.shape[1] // self.groups, -1)

    def output_from_matrix(self, ym):
        return nchw(ym.reshape((-1, self.x_shape[0]) + self.out_hw))

    def scatter_columns(self, dcols):
        """col2im: add each column entry back to the pixel it was read from (the adjoint of ``columns``)."""
        n, c = self.x_shape[:2]
        dxp = self.window.padded_zeros(self.x_shape, dcols.dtype)
        blocks = numpy.ascontiguousarray(dcols).reshape((c,) + self.window.kernel + (n,) + self.out_hw)
        over_batch(loops().col2im, n, blocks, *self.window.taps, dxp)
        return self.window.unpad(dxp)


def chunked():
    """``_chunked`` (compiled loops: imported on first use, as ``_windows.loops``)."""
    from . import _chunked
    return _chunked


def winograd():
    """``_winograd`` (compiled loops: imported on first use)."""
    from . import _winograd
    return _winograd


def _matmul(a, b):
    return _product(a[0], b[0]) if a.shape[0] == 1 else a @ b  # one group: a plain 2-D GEMM


class Conv2d(Function):
    """y = conv(x, w) + b: y[n, o] = b[o] + sum_{c, i, j} w[o, c, i, j] x[n, c, s i' + d i, s j' + d j].

    Inputs (x, w) or (x, w, b). Backward: gx = conv_grad_input(gy, w), gw = conv_grad_weight(x, gy),
    gb = sum of gy over (N, OH, OW). Fused for speed (see the module docstring).
    """

    def __init__(self, geometry: _Geometry):
        self.geometry = geometry

    def forward(self, x, w, b=None):
        y, self.saved = self.geometry.forward(x, w, b)
        return y

    def backward(self, gy):
        x, w = self.inputs[:2]
        g = self.geometry
        gx = ConvGradInput(g)(gy, w) if x.requires_grad else None
        gw = ConvGradWeight(g, self.saved)(x, gy) if w.requires_grad else None
        if len(self.inputs) == 2:
            return gx, gw
        gb = ops.sum(gy, (0, 2, 3)) if self.inputs[2].requires_grad else None
        return gx, gw, gb

    def jvp(self, tx, tw, tb=None):
        x, w = self.inputs[:2]
        y = Conv2d(self.geometry)(tx, w) + Conv2d(self.geometry)(x, tw)
        return y if tb is None else y + ops.reshape(tb, (1, -1, 1, 1))


class ConvGradInput(Function):
    """gx = conv_grad_input(gy, w): the gradient of conv(x, w) with respect to x (transposed conv).

    gx = col2im(w_mat^T @ gy_mat). Linear in gy and in w: d/dgy is conv(., w), d/dw is
    conv_grad_weight(., gy).
    """

    def __init__(self, geometry: _Geometry):
        self.geometry = geometry

    def forward(self, gy, w):
        return self.geometry.input_grad(gy, w)

    def backward(self, ggx):
        gy, w = self.inputs
        return (Conv2d(self.geometry)(ggx, w) if gy.requires_grad else None,
                ConvGradWeight(self.geometry)(ggx, gy) if w.requires_grad else None)

    def jvp(self, tgy, tw):
        gy, w = self.inputs
        return ConvGradInput(self.geometry)(tgy, w) + ConvGradInput(self.geometry)(gy, tw)


class ConvGradWeight(Function):
    """gw = conv_grad_weight(x, gy): the gradient of conv(x, w) with respect to w.

    gw = (gy_mat @ im2col(x)^T) reshaped to (O, C/G, KH, KW), or the direct loop for few channels;
    what the forward pass saved (its columns or its input) is reused when given. Linear in x
    and in gy: d/dx is conv_grad_input(gy, .), d/dgy is conv(x, .).
    """

    def __init__(self, geometry: _Geometry, saved=None):
        self.geometry, self.saved = geometry, saved

    def forward(self, x, gy):
        gw = self.geometry.weight_grad(x, gy, self.saved)
        self.saved = None
        return gw

    def backward(self, ggw):
        x, gy = self.inputs
        return (ConvGradInput(self.geometry)(gy, ggw) if x.requires_grad else None,
                Conv2d(self.geometry)(x, ggw) if gy.requires_grad else None)

    def jvp(self, tx, tgy):
        x, gy = self.inputs
        return ConvGradWeight(self.geometry)(tx, gy) + ConvGradWeight(self.geometry)(x, tgy)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as every framework) of NCHW input (LeCun et al., 1998).

    y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] x_pad[n, g(o) C/G + c, s_h i + d_h p, s_w j + d_w q],
    OH = floor((H + 2 p_h - d_h (KH - 1) - 1) / s_h) + 1 (and likewise OW).

    Args:
        x: (N, C, H, W).
        weight: (O, C / groups, KH, KW).
        bias: (O,) or None.
        stride, padding, dilation: an int or an (h, w) pair.
        groups: split C and O into this many independent convolutions.

    Example:
        >>> y = conv2d(gk.randn(8, 3, 32, 32), gk.randn(16, 3, 5, 5), padding=2)   # (8, 16, 32, 32)
    """
    x, weight = _lift(x), _lift(weight)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: expected weight of shape (O, C/groups, KH, KW), got {weight.shape}")
    if not isinstance(groups, (int, numpy.integer)) or groups < 1 or weight.shape[0] % groups:
        raise ValueError(f"conv2d: groups must be a positive int dividing the {weight.shape[0]} output channels, "
                         f"got {groups!r}")
    check_nchw("conv2d", x, weight.shape[1] * groups)
    inputs = (x, weight)
    if bias is not None:
        bias = _lift(bias)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"conv2d: expected bias of shape ({weight.shape[0]},), got {bias.shape}")
        inputs += (bias,)
    if x.dtype != weight.dtype:
        raise TypeError(f"conv2d: input is {x.dtype} but weight is {weight.dtype}; convert one of them")
    geometry = _Geometry(Window("conv2d", weight.shape[2:], stride, padding, dilation), groups, x.shape, weight.shape)
    return Conv2d(geometry)(*inputs)


__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d", "Conv2d", "ConvGradInput", "ConvGradWeight"]
