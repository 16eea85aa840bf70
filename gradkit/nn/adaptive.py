"""Adaptive average pooling, PyTorch's name for the pool of ResNet's head (``AdaptiveAvgPool2d(1)``)."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class AdaptiveAvgPool2d(Module):
    """(N, C, H, W) -> (N, C, h, w), each output the mean of an (H / h, W / w) block
    (``functional.adaptive_avg_pool2d``); ``output_size`` an int or an (h, w) pair that divides the
    input. ``AdaptiveAvgPool2d(1)`` is global average pooling that keeps the axes: (N, C, 1, 1)."""

    def __init__(self, output_size=1):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
