"""Sliding-window geometry shared by convolution and pooling (private).

Layout: the public API is NCHW, as PyTorch. Inside, the kernels work on the (C, N, H, W) view of
an array (``x.transpose(1, 0, 2, 3)``) and allocate their results in that order, handing back the
NCHW view of them. Every array loop then runs along W (28 long in LeNet-5), never along C (1 to 16
long): NumPy pays per inner loop, and at LeNet-5 shapes an NHWC layout with (KH, KW, C) windows was
the slower one here (im2col of the first layer 4.9 ms -> 0.5 ms, col2im of the second 10 ms -> 2 ms,
max-pool backward 4.4 ms -> 0.6 ms, batch 100, one thread). The GEMM of a convolution yields
(O, N OH OW) directly, so conv -> relu -> pool -> conv never copies between layouts.
"""
from __future__ import annotations

import numpy


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

    def offsets(self, out_h: int, out_w: int):
        """For each kernel position (kh, kw), row-major: the (rows, cols) slices of the padded input
        that it meets across all outputs."""
        (kh_, kw_), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        for i in range(kh_):
            rows = slice(i * dh, i * dh + sh * (out_h - 1) + 1, sh)
            for j in range(kw_):
                yield rows, slice(j * dw, j * dw + sw * (out_w - 1) + 1, sw)

    def padded(self, x, fill=0.0):
        """The (C, N, H, W) view of x (N, C, H, W), padded with ``fill`` (a copy then)."""
        xc = x.transpose(1, 0, 2, 3)
        ph, pw = self.padding
        if not (ph or pw):
            return xc
        c, n, h, w = xc.shape
        out = numpy.full((c, n, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
        out[:, :, ph:ph + h, pw:pw + w] = xc
        return out

    def unpad(self, xc):
        """Crop the padding off a (C, N, H, W) array and return its NCHW view."""
        ph, pw = self.padding
        if ph or pw:
            xc = xc[:, :, ph:xc.shape[2] - ph, pw:xc.shape[3] - pw]
        return xc.transpose(1, 0, 2, 3)


def nchw(yc):
    """The NCHW view of a (C, N, H, W) array."""
    return yc.transpose(1, 0, 2, 3)


def check_nchw(name: str, x, channels: int | None = None, what: str = "C") -> None:
    """Raise a ValueError naming the op unless x is (N, C, H, W) (with C == channels when given)."""
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        expected = f"(N, {channels if channels is not None else what}, H, W)"
        raise ValueError(f"{name}: expected input of shape {expected}, got {tuple(x.shape)}")
