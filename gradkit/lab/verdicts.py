"""Helpers that turn measured numbers into :class:`Verdict` objects, so every check reads the same."""
from __future__ import annotations

import math

from .registry import Verdict


def _fmt(value) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def at_most(claim: str, value: float, limit: float, expected: str, unit: str = "") -> Verdict:
    """PASS when ``value <= limit`` (a NaN fails)."""
    return Verdict(claim, bool(value <= limit), f"{_fmt(value)}{unit} (limit {_fmt(limit)}{unit})", expected,
                   ((f"measured (limit {_fmt(limit)}{unit})", float(value)),))


def at_least(claim: str, value: float, limit: float, expected: str, unit: str = "") -> Verdict:
    """PASS when ``value >= limit`` (a NaN fails)."""
    return Verdict(claim, bool(value >= limit), f"{_fmt(value)}{unit} (needs >= {_fmt(limit)}{unit})", expected,
                   ((f"measured (needs >= {_fmt(limit)}{unit})", float(value)),))


def less(claim: str, name_a: str, a: float, name_b: str, b: float, expected: str) -> Verdict:
    """PASS when ``a < b`` strictly (NaN fails)."""
    return Verdict(claim, bool(a < b), f"{name_a} = {_fmt(a)}, {name_b} = {_fmt(b)}", expected,
                   ((name_a, float(a)), (name_b, float(b))))


def holds(claim: str, passed: bool, measured: str, expected: str, numbers: tuple = ()) -> Verdict:
    """A verdict on any condition, with the numbers that decided it in ``measured`` (and, optionally, as
    ``(label, value)`` pairs in ``numbers``)."""
    return Verdict(claim, bool(passed), measured, expected, tuple((k, float(v)) for k, v in numbers))


def ranking(claim: str, values: dict, expected: str, lowest: str | None = None, highest: str | None = None) -> Verdict:
    """PASS when ``lowest`` has the smallest value (or ``highest`` the largest) of ``values``."""
    measured = ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(values.items(), key=lambda kv: kv[1]))
    finite = {k: v for k, v in values.items() if math.isfinite(v)}
    if lowest is not None:
        passed = lowest in finite and min(finite, key=finite.get) == lowest
    else:
        passed = highest in finite and max(finite, key=finite.get) == highest
    return Verdict(claim, bool(passed), measured, expected)
