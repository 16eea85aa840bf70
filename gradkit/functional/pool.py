"""2-D max and average pooling, fused, with first and second derivatives.

Each pool is one op whose loop over windows is compiled (``_loops``), reading the (C, N, H, W)
memory of the input and writing a (C, N, OH, OW) result whose NCHW view is returned (see
``_windows``). The gradients are ops of their own, linear in their input, so they can be
differentiated again:

    max pool:  scatter gy to the (first) maximal element of each window;  its adjoint is a gather.
    avg pool:  spread gy / (KH KW) over each window;                      its adjoint is avg pool.
"""
from __future__ import annotations

import numpy

from ..autograd.function import Function
from ..autograd.ops import _lift
from ..autograd.tensor import Tensor
from ._windows import Window, channels_first, check_nchw, loops, nchw, over_batch, pair


class _PoolGeometry:
    def __init__(self, window: Window, x_shape: tuple):
        self.window, self.x_shape = window, tuple(x_shape)
        self.out_hw = window.output_size(*x_shape[2:])
        self.taps = window.kernel + window.stride  # pools have no dilation; padding is in the arrays
        # the windows cover every pixel exactly once (LeNet-5's 2x2 pools of stride 2); with stride =
        # kernel and no padding the output is floor(H / K) windows, so only a leftover row can break it
        self.tiles = (window.stride == window.kernel and window.padding == (0, 0)
                      and all(s % k == 0 for s, k in zip(x_shape[2:], window.kernel)))

    def output(self, like):
        """An empty (C, N, OH, OW) array of like's dtype."""
        n, c = self.x_shape[:2]
        return numpy.empty((c, n) + self.out_hw, dtype=like.dtype)

    def image(self, like):
        """A zeroed padded (C, N, H + 2 ph, W + 2 pw) array of like's dtype, for a gradient with respect to
        the input (``window.unpad`` gives its NCHW view)."""
        return self.window.padded_zeros(self.x_shape, like.dtype)

    def scale(self, dtype):
        """1 / (KH KW) in ``dtype`` (average pooling divides by the whole window, padding included)."""
        kh, kw = self.window.kernel
        return numpy.dtype(dtype).type(1.0 / (kh * kw))


class MaxPool2d(Function):
    """y = the max of each window (padding counts as -inf).

    Backward: the whole gradient goes to ONE element per window, the first maximal one in row-major
    window order, as PyTorch (never split between ties). A NaN in a window is its maximum.
    """

    def __init__(self, geometry: _PoolGeometry):
        self.geometry = geometry

    def forward(self, x):
        g = self.geometry
        yc = g.output(x)
        self.argmax = numpy.empty(yc.shape, dtype=numpy.int32)
        over_batch(loops().max_pool, g.x_shape[0], g.window.padded(x, -numpy.inf), *g.taps, yc, self.argmax)
        return nchw(yc)

    def backward(self, gy):
        return MaxPoolScatter(self.geometry, self.argmax)(gy)

    def jvp(self, t):
        return MaxPoolGather(self.geometry, self.argmax)(t)


class MaxPoolScatter(Function):
    """gx = the gradient of max pooling: each gy added at its window's winning element."""

    def __init__(self, geometry: _PoolGeometry, argmax):
        self.geometry, self.argmax = geometry, argmax

    def forward(self, gy):
        g = self.geometry
        if g.tiles:
            gxc = numpy.empty((g.x_shape[1], g.x_shape[0]) + g.x_shape[2:], dtype=gy.dtype)
            over_batch(loops().max_pool_place, g.x_shape[0], channels_first(gy), self.argmax, *g.window.kernel, gxc)
            return nchw(gxc)
        gxp = g.image(gy)
        over_batch(loops().max_pool_scatter, g.x_shape[0], channels_first(gy), self.argmax, *g.taps, gxp)
        return g.window.unpad(gxp)

    def backward(self, ggx):
        return MaxPoolGather(self.geometry, self.argmax)(ggx)

    def jvp(self, t):
        return MaxPoolScatter(self.geometry, self.argmax)(t)


class MaxPoolGather(Function):
    """y = x at each window's winning element (the adjoint of ``MaxPoolScatter``)."""

    def __init__(self, geometry: _PoolGeometry, argmax):
        self.geometry, self.argmax = geometry, argmax

    def forward(self, x):
        g = self.geometry
        yc = g.output(x)
        over_batch(loops().max_pool_gather, g.x_shape[0], g.window.padded(x), self.argmax, *g.taps, yc)
        return nchw(yc)

    def backward(self, gy):
        return MaxPoolScatter(self.geometry, self.argmax)(gy)

    def jvp(self, t):
        return MaxPoolGather(self.geometry, self.argmax)(t)


class AvgPool2d(Function):
    """y = the mean of each window, padding counted as zeros in the divisor (count_include_pad).

    Backward: gy / (KH KW) to every element of the window (``AvgPoolScatter``).
    """

    def __init__(self, geometry: _PoolGeometry):
        self.geometry = geometry

    def forward(self, x):
        g = self.geometry
        yc = g.output(x)
        over_batch(loops().window_sum, g.x_shape[0], g.window.padded(x), *g.taps, g.scale(x.dtype), yc)
        return nchw(yc)

    def backward(self, gy):
        return AvgPoolScatter(self.geometry)(gy)

    def jvp(self, t):
        return AvgPool2d(self.geometry)(t)


class AvgPoolScatter(Function):
    """gx = the gradient of average pooling (the adjoint of ``AvgPool2d``)."""

    def __init__(self, geometry: _PoolGeometry):
        self.geometry = geometry

    def forward(self, gy):
        g = self.geometry
        gxp = g.image(gy)
        over_batch(loops().window_spread, g.x_shape[0], channels_first(gy), *g.taps, g.scale(gy.dtype), gxp)
        return g.window.unpad(gxp)

    def backward(self, ggx):
        return AvgPool2d(self.geometry)(ggx)

    def jvp(self, t):
        return AvgPoolScatter(self.geometry)(t)


def _pool(name: str, function, x, kernel_size, stride, padding) -> Tensor:
    x = _lift(x)
    check_nchw(name, x)
    window = Window(name, kernel_size, stride, padding)
    if any(2 * p > k for p, k in zip(window.padding, window.kernel)):
        raise ValueError(f"{name}: padding {window.padding} must be at most half the kernel {window.kernel}")
    return function(_PoolGeometry(window, x.shape))(x)


def max_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """2-D max pooling of NCHW input: y[n, c, i, j] = max over the window of x (padding = -inf).

    The gradient goes to one element per window (the first maximal one), as PyTorch.
    ``stride`` defaults to ``kernel_size``; ints or (h, w) pairs.

    Example:
        >>> max_pool2d(gk.randn(8, 6, 28, 28), 2).shape
        (8, 6, 14, 14)
    """
    return _pool("max_pool2d", MaxPool2d, x, kernel_size, stride, padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """2-D average pooling of NCHW input: y = sum over the window / (KH KW), zeros padded and
    counted (PyTorch's default count_include_pad=True). ``stride`` defaults to ``kernel_size``."""
    return _pool("avg_pool2d", AvgPool2d, x, kernel_size, stride, padding)


def global_avg_pool2d(x) -> Tensor:
    """Global average pooling (Lin et al., 2013, Network in Network): (N, C, H, W) -> (N, C), the mean
    over H and W. A composite (mean), so it carries no derivative rule of its own."""
    x = _lift(x)
    check_nchw("global_avg_pool2d", x)
    return x.mean((2, 3))


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """PyTorch's adaptive average pooling of NCHW input to ``output_size`` (an int or an (h, w) pair)
    for the sizes that divide the input: (N, C, H, W) -> (N, C, h, w), each output the mean of an
    (H / h, W / w) block. Output 1 is global average pooling keeping the axes (ResNet's head).

    Raises a ValueError for an output size that does not divide the input (PyTorch then uses
    windows of unequal sizes, not implemented here)."""
    x = _lift(x)
    check_nchw("adaptive_avg_pool2d", x)
    size = pair("adaptive_avg_pool2d", "output_size", output_size, 1)
    height, width = x.shape[2:]
    if height % size[0] or width % size[1]:
        raise ValueError(f"adaptive_avg_pool2d: output_size {size} must divide the input's spatial size "
                         f"({height}, {width}); windows of unequal sizes are not implemented")
    if size == (1, 1):
        return x.mean((2, 3), keepdims=True)
    return avg_pool2d(x, (height // size[0], width // size[1]))


__all__ = ["max_pool2d", "avg_pool2d", "global_avg_pool2d", "adaptive_avg_pool2d", "MaxPool2d", "AvgPool2d"]
