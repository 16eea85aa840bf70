"""Schedules: on which optimiser steps the probes measure (docs/architecture.md: quantities, schedules and instruments apart).

A schedule answers one question, ``schedule(step) -> bool``. Measuring costs hooks and array
statistics; measuring every 10th step keeps that cost small (bench/doctor_overhead.py measures it).
"""
from __future__ import annotations


class Schedule:
    """Measure on steps ``start, start + every, start + 2 every, ...`` (up to ``stop``, exclusive), and on
    each step listed in ``also``.

    Args:
        every: the period in steps (1: every step).
        start: the first measured step (0: the first step, at initialisation, which the rules need:
            many findings are about the starting point).
        stop: no measurement from this step on (None: never stop).
        also: extra steps to measure.

    Example:
        >>> s = Schedule(every=10)
        >>> [step for step in range(25) if s(step)]
        [0, 10, 20]
    """

    def __init__(self, every: int = 10, start: int = 0, stop: int | None = None, also=()):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"Schedule: every must be an integer >= 1, got {every!r}")
        if start < 0 or (stop is not None and stop < start):
            raise ValueError(f"Schedule: need 0 <= start <= stop, got start={start}, stop={stop}")
        self.every, self.start, self.stop = every, start, stop
        self.also = frozenset(int(s) for s in also)

    def __call__(self, step: int) -> bool:
        if step in self.also:
            return True
        if step < self.start or (self.stop is not None and step >= self.stop):
            return False
        return (step - self.start) % self.every == 0

    def __repr__(self):
        extra = f", also={sorted(self.also)}" if self.also else ""
        return f"Schedule(every={self.every}, start={self.start}, stop={self.stop}{extra})"


def every(k: int) -> Schedule:
    """Measure every ``k``-th step, starting at step 0."""
    return Schedule(every=k)
