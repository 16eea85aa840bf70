"""Switches of the engine, per thread: is a graph being recorded, are forward-mode tangents propagated."""
from __future__ import annotations

import contextlib
import threading


class _Mode(threading.local):
    """The engine state of the calling thread, read on every op. Per thread, as PyTorch's grad mode:
    a backward pass (which turns recording off while it runs) or a ``no_grad`` block on one thread
    must not stop another thread's forward pass from recording its graph. The class attributes are
    every thread's starting values."""

    grad_enabled = True   # record a graph for reverse mode
    forward_level = 0     # > 0 while forward-mode tangents (jvp, Dual) are propagated
    anomaly = False       # check every op's result for NaN / Inf and name the op that made it


Mode = _Mode()


@contextlib.contextmanager
def set_grad_enabled(enabled: bool):
    """Context manager that turns graph recording on or off and restores it afterwards."""
    previous = Mode.grad_enabled
    Mode.grad_enabled = bool(enabled)
    try:
        yield
    finally:
        Mode.grad_enabled = previous


def no_grad():
    """Context manager: ops inside record no graph (inference, optimiser updates)."""
    return set_grad_enabled(False)


def enable_grad():
    """Context manager: record a graph even inside ``no_grad``."""
    return set_grad_enabled(True)


def is_grad_enabled() -> bool:
    return Mode.grad_enabled


@contextlib.contextmanager
def forward_ad():
    """Context manager: propagate tangents through every op (forward mode)."""
    Mode.forward_level += 1
    try:
        yield
    finally:
        Mode.forward_level -= 1


@contextlib.contextmanager
def detect_anomaly(enabled: bool = True):
    """Context manager: raise on the first op (forward or backward) whose result is NaN or Inf,
    naming the op and the shapes of its inputs."""
    previous = Mode.anomaly
    Mode.anomaly = enabled
    try:
        yield
    finally:
        Mode.anomaly = previous
