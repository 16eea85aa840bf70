"""Sliding-window geometry shared by convolution and pooling (private).

Layout: the public API is NCHW, as PyTorch. Inside, the kernels work on the (C, N, H, W) memory
order (``channels_first``) and allocate their results in that order, handing back the NCHW view of
them. The GEMM of a convolution, W (O, C KH KW) @ columns (C KH KW, N OH OW), yields (O, N OH OW)
directly, so conv -> relu -> pool -> conv never copies between layouts. The loops over windows are
compiled (``_loops``); an input with padding is copied once into a padded array, so they test no bounds. (An NHWC layout with (KH, KW, C) windows
was measured when these loops were NumPy slices, and was 2-10x slower at LeNet-5 shapes.)
"""
from __future__ import annotations

import numpy

from ..threads import parallel_claim, parallel_for


def pair(name: str, what: str, value, minimum: int) -> tuple:
    """An int or a pair of ints, as (h, w), each >= minimum; a ValueError naming the op otherwise."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2 or not all(isinstance(v, (int, numpy.integer)) and v >= minimum for v in values):
        raise ValueError(f"{name}: {what} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(values[0]), int(values[1])


class Window:
    """Kernel size, stride, padding and dilation of a 2-D sliding window, and the sizes they give."""

    def __init__(self, name: str, kernel, stride, padding, dilation=1):
        self.name = name
        self.kernel = pair(name, "kernel_size", kernel, 1)
        self.stride = pair(name, "stride", self.kernel if stride is None else stride, 1)
        self.padding = pair(name, "padding", padding, 0)
        self.dilation = pair(name, "dilation", dilation, 1)

    def output_size(self, height: int, width: int) -> tuple:
        """OH = floor((H + 2 p - d (K - 1) - 1) / s) + 1, and the same for W."""
        sizes = []
        for n, k, s, p, d in zip((height, width), self.kernel, self.stride, self.padding, self.dilation):
            sizes.append((n + 2 * p - d * (k - 1) - 1) // s + 1)
        if min(sizes) < 1:
            raise ValueError(f"{self.name}: input of spatial size ({height}, {width}) with padding {self.padding} "
                             f"is smaller than the kernel {self.kernel} (dilation {self.dilation})")
        return tuple(sizes)

    @property
    def taps(self) -> tuple:
        """(kh, kw, sh, sw, dh, dw): the geometry arguments of the compiled loops (``_loops``)."""
        return self.kernel + self.stride + self.dilation

    def padded(self, x, fill=0.0):
        """The (C, N, H + 2 ph, W + 2 pw) C-contiguous array of x (N, C, H, W), padded with ``fill``:
        x's own memory when it is already in that order and there is no padding, a copy otherwise."""
        ph, pw = self.padding
        if not (ph or pw):
            return channels_first(x)
        n, c, h, w = x.shape
        out = numpy.empty((c, n, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        parallel_claim(loops().pad, c * n, x.transpose(1, 0, 2, 3), ph, pw, x.dtype.type(fill), out, size=out.size)
        return out

    def unpad(self, xpc):
        """Crop the padding off a (C, N, H + 2 ph, W + 2 pw) array and return its NCHW view."""
        ph, pw = self.padding
        if ph or pw:
            xpc = xpc[:, :, ph:xpc.shape[2] - ph, pw:xpc.shape[3] - pw]
        return xpc.transpose(1, 0, 2, 3)

    def padded_zeros(self, shape, dtype):
        """A zeroed (C, N, H + 2 ph, W + 2 pw) array for an input of NCHW ``shape``: where the
        compiled adjoints (col2im, scatters) add before ``unpad``."""
        n, c, h, w = shape
        ph, pw = self.padding
        return numpy.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=dtype)


def loops():
    """The compiled loops (``_loops``); Numba is imported on first use, so ``import gradkit`` stays fast."""
    from . import _loops
    return _loops


def over_batch(kernel, batch: int, *args) -> None:
    """``kernel(*args, first, last)`` (a compiled loop) over the images [0, batch), split over gradkit's
    threads when the loop is large: ``threads.parallel_for``, sized by the largest array in args."""
    parallel_for(kernel, batch, *args, size=max(a.size for a in args if isinstance(a, numpy.ndarray)))


def channels_first(x):
    """The (C, N, H, W) array of x (N, C, H, W), C-contiguous: free when x is the NCHW view of such an
    array (every conv and pool output is), one copy otherwise."""
    return numpy.ascontiguousarray(x.transpose(1, 0, 2, 3))


def nchw(yc):
    """The NCHW view of a (C, N, H, W) array."""
    return yc.transpose(1, 0, 2, 3)


def check_nchw(name: str, x, channels: int | None = None, what: str = "C") -> None:
    """Raise a ValueError naming the op unless x is (N, C, H, W) (with C == channels when given)."""
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        expected = f"(N, {channels if channels is not None else what}, H, W)"
        raise ValueError(f"{name}: expected input of shape {expected}, got {tuple(x.shape)}")
