"""Keep freed memory in the process between training steps (private; applied by ``import gradkit``).

A training step allocates its activations and gradients (tens to hundreds of MB) and frees them all
at its end. glibc's malloc then hands the top of its heap back to the kernel whenever more than its
trim threshold lies free there (at most 64 MB with its default, adaptive settings), so the next step
takes every page again through a page fault, zeroed by the kernel: a ResNet-20 step (batch 64)
faulted in 30,000 pages, 117 MB, and took 253 ms instead of 184 ms (bench/README.md, session 8).
The adaptive settings depend on what the process freed before: in the benchmark's process, PyTorch's
own steps had raised them so far that gradkit did not fault at all, which hid the cost.

So gradkit fixes them at import, the same in every process: arrays below ``MMAP_THRESHOLD`` (32 MB,
glibc's largest adaptive value) come from the heap, and freed memory is returned to the kernel only
when more than ``TRIM_THRESHOLD`` (256 MB) lies free at the top. The peak resident set does not grow
(ResNet-20: 543 MB before, 545 MB after); up to 256 MB freed stays with the process after a run.

Linux with glibc only (elsewhere nothing is done). ``GRADKIT_MALLOC=0`` in the environment leaves
malloc as it is.
"""
from __future__ import annotations

import ctypes
import os
import sys

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def tune() -> bool:
    """Apply the settings above; True when glibc took both."""
    if os.environ.get("GRADKIT_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only: musl's mallopt is a stub
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1


TUNED = tune()
