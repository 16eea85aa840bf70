"""Batch transforms: normalisation and augmentation (random shift, crop, horizontal flip), vectorised.

A transform is a callable ``t(batch, rng=None) -> batch`` on a whole NumPy batch whose first axis
is the sample axis (images ``(B, C, H, W)`` or ``(B, H, W)``). Random ones draw everything for the
batch at once from the explicit ``rng``: no Python loop over samples. Put augmentation before
:class:`Normalize`, so that the zeros it pads with are the images' background.

Example:
    >>> augment = Compose([RandomShift(2), RandomHorizontalFlip(0.5), Normalize(0.2860, 0.3530)])
    >>> augment(numpy.zeros((8, 1, 28, 28), numpy.float32), rng=0).shape
    (8, 1, 28, 28)
"""
from __future__ import annotations

import numpy
from numpy.lib.stride_tricks import sliding_window_view

from .. import backend


def _spatial(x, where: str) -> numpy.ndarray:
    """``x`` as (B, L, H, W): every axis between the batch and the image is folded into L."""
    x = numpy.asarray(x)
    if x.ndim < 3:
        raise ValueError(f"{where}: expected a batch of images (B, H, W) or (B, C, H, W), got shape {x.shape}")
    return x.reshape(x.shape[0], -1, *x.shape[-2:])


class Transform:
    """Base of the batch transforms: ``__call__(batch, rng=None)``."""

    def __call__(self, x, rng=None):
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Compose(Transform):
    """Apply ``transforms`` in order, all drawing from the same rng."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x, rng=None):
        rng = backend.resolve_rng(rng)
        for transform in self.transforms:
            x = transform(x, rng)
        return x


class Normalize(Transform):
    """``y = (x - mean) / std``, with scalars or one value per channel (axis 1).

    Fashion-MNIST on [0, 1]: mean 0.2860, std 0.3530; MNIST: mean 0.1307, std 0.3081.
    """

    def __init__(self, mean, std):
        self.mean = numpy.atleast_1d(numpy.asarray(mean, dtype=numpy.float64))
        self.std = numpy.atleast_1d(numpy.asarray(std, dtype=numpy.float64))
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape:
            raise ValueError(f"Normalize: mean and std need the same length, got {self.mean.shape} and {self.std.shape}")
        if not numpy.all(self.std > 0):
            raise ValueError(f"Normalize: std must be > 0, got {self.std.tolist()}")

    def __call__(self, x, rng=None):
        x = numpy.asarray(x)
        dtype = x.dtype if x.dtype.kind == "f" else backend.get_default_dtype()
        channels = len(self.mean)
        if channels > 1 and (x.ndim < 2 or x.shape[1] != channels):
            raise ValueError(f"Normalize: {channels} channel statistics need input (B, {channels}, ...), "
                             f"got shape {x.shape}")
        shape = (1, channels) + (1,) * (x.ndim - 2) if channels > 1 else ()
        mean = self.mean.astype(dtype).reshape(shape)
        scale = (1.0 / self.std).astype(dtype).reshape(shape)
        return (x.astype(dtype, copy=False) - mean) * scale


class Flatten(Transform):
    """``(B, ...) -> (B, prod(...))``: images to vectors for an MLP."""

    def __call__(self, x, rng=None):
        x = numpy.asarray(x)
        return x.reshape(x.shape[0], -1)


class RandomCrop(Transform):
    """Pad each image with ``padding`` zeros on every side, then cut a ``size`` window at a random place.

    Each sample gets its own offset, drawn uniformly; the batch is cut with one strided gather.

    Args:
        size: output ``(height, width)`` or one int for a square; None keeps the input's size.
        padding: zeros added on each side before cropping.
    """

    def __init__(self, size=None, padding: int = 0):
        if size is not None:
            size = (size, size) if isinstance(size, (int, numpy.integer)) else tuple(size)
            if len(size) != 2 or min(size) < 1:
                raise ValueError(f"RandomCrop: size must be an int or (height, width) >= 1, got {size!r}")
        if not isinstance(padding, (int, numpy.integer)) or padding < 0:
            raise ValueError(f"RandomCrop: padding must be an int >= 0, got {padding!r}")
        self.size = size
        self.padding = int(padding)

    def __call__(self, x, rng=None):
        rng = backend.resolve_rng(rng)
        x = numpy.asarray(x)
        images = _spatial(x, type(self).__name__)
        p = self.padding
        height, width = self.size or images.shape[-2:]
        padded = images
        if p:
            padded = numpy.zeros(images.shape[:2] + (images.shape[2] + 2 * p, images.shape[3] + 2 * p), images.dtype)
            padded[:, :, p:-p, p:-p] = images
        room_h, room_w = padded.shape[2] - height, padded.shape[3] - width
        if room_h < 0 or room_w < 0:
            raise ValueError(f"{type(self).__name__}: crop {height}x{width} larger than the padded image "
                             f"{padded.shape[2]}x{padded.shape[3]} (input shape {x.shape}, padding {p})")
        batch = images.shape[0]
        tops = rng.integers(0, room_h + 1, size=batch)
        lefts = rng.integers(0, room_w + 1, size=batch)
        windows = sliding_window_view(padded, (height, width), axis=(2, 3))  # (B, L, room_h+1, room_w+1, h, w)
        out = windows[numpy.arange(batch), :, tops, lefts]                  # (B, L, h, w)
        return out.reshape(*x.shape[:-2], height, width)


class RandomShift(RandomCrop):
    """Move each image by a random whole number of pixels in [-max_pixels, max_pixels] along each
    axis, filling the uncovered border with zeros (LeCun et al. 1998 use such shifts on MNIST)."""

    def __init__(self, max_pixels: int):
        super().__init__(size=None, padding=max_pixels)
        self.max_pixels = self.padding


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must lie in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, x, rng=None):
        rng = backend.resolve_rng(rng)
        x = numpy.asarray(x)
        _spatial(x, "RandomHorizontalFlip")
        flip = rng.random(x.shape[0]) < self.p
        return numpy.where(flip.reshape((-1,) + (1,) * (x.ndim - 1)), x[..., ::-1], x)
