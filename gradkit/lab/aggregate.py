"""Verdicts and results over several seeds: a claim holds when it held in at least 80% of the seeds.

Each seed's run is checked by the experiment's own ``check()``; :func:`verdicts` then decides every
claim on the per-seed outcomes, and gives the mean and spread of the numbers that decided it and, for a
comparison of two measured numbers, a 95% bootstrap interval of their difference (resampling the
seeds with a fixed generator, so the interval is repeatable). :func:`mean_results` averages the
results themselves (for the figures and tables), and remembers each averaged series' min-max band.
"""
from __future__ import annotations

import math

import numpy

from .registry import Verdict

SHARE = 0.8          # a claim holds when it held in at least this share of the seeds
RESAMPLES = 10_000   # bootstrap resamples of the seeds
BOOTSTRAP_SEED = 0   # the bootstrap's generator seed: the same runs give the same interval


def rule(seeds: int) -> str:
    """The decision rule in words, for ``seeds`` seeds."""
    return (f"PASS when the claim held in at least {SHARE:.0%} of the seeds "
            f"(here at least {needed(seeds)} of {seeds})")


def needed(seeds: int) -> int:
    """The fewest seeds out of ``seeds`` in which a claim must hold: ceil(0.8 n), in integers."""
    return -(-4 * seeds // 5)


def decide(held: int, seeds: int) -> bool:
    """True when ``held`` of ``seeds`` is at least 80% (4 of 5, 8 of 10, 3 of 3)."""
    if seeds < 1 or not 0 <= held <= seeds:
        raise ValueError(f"decide: need 0 <= held <= seeds and seeds >= 1, got held={held}, seeds={seeds}")
    return 5 * held >= 4 * seeds


def spread(values) -> dict:
    """mean, standard deviation (n - 1; 0 for one value), min and max of ``values``."""
    a = numpy.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max())}


def bootstrap_interval(values, level: float = 0.95, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED):
    """Percentile bootstrap interval of the mean of ``values`` (the seeds resampled with replacement)."""
    a = numpy.asarray(values, dtype=float)
    if not numpy.all(numpy.isfinite(a)):
        return (float("nan"), float("nan"))
    means = a[numpy.random.default_rng(seed).integers(0, a.size, (resamples, a.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = numpy.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))


def _fmt(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def _numbers(per_seed: list) -> tuple[dict, dict | None]:
    """Spread of each labelled number over the seeds, and the difference of a two-number comparison."""
    labels = [tuple(k for k, _ in v.numbers) for v in per_seed]
    if not labels[0] or any(lab != labels[0] for lab in labels):
        return {}, None
    values = {k: [dict(v.numbers)[k] for v in per_seed] for k in labels[0]}
    numbers = {k: {**spread(vs), "values": vs} for k, vs in values.items()}
    if len(labels[0]) != 2:
        return numbers, None
    (name_a, a), (name_b, b) = values.items()
    diff = [y - x for x, y in zip(a, b)]
    low, high = bootstrap_interval(diff)
    return numbers, {"of": f"{name_b} - {name_a}", **spread(diff), "interval": [low, high],
                     "excludes_zero": bool(low > 0 or high < 0)}


def _measured(held: list, seeds: list, numbers: dict, difference: dict | None) -> str:
    parts = [f"held in {len(held)}/{len(seeds)} seeds"
             + (f" ({', '.join(map(str, held))})" if 0 < len(held) < len(seeds) else "")]
    for label, s in numbers.items():
        parts.append(f"{label}: mean {_fmt(s['mean'])}, std {_fmt(s['std'])}, "
                     f"min {_fmt(s['min'])}, max {_fmt(s['max'])}")
    if difference is not None:
        low, high = difference["interval"]
        parts.append(f"{difference['of']}: mean {_fmt(difference['mean'])}, 95% bootstrap interval "
                     f"[{_fmt(low)}, {_fmt(high)}]")
    return "; ".join(parts)


def verdicts(per_seed: dict) -> list[dict]:
    """Decide every claim of ``per_seed`` (``{seed: [Verdict, ...]}``, each seed's own check) by the 80%
    rule. Claims are matched by their text; a claim missing from a seed's check counts as not held there.
    Returns one dict per claim (in the first seed's order) with ``verdict`` (the aggregated
    :class:`Verdict`), ``held``/``failed`` (seed lists), ``numbers`` and ``difference``."""
    seeds = list(per_seed)
    claims = []
    for vs in per_seed.values():
        claims += [v.claim for v in vs if v.claim not in claims]
    out = []
    for claim in claims:
        found = {s: next((v for v in per_seed[s] if v.claim == claim), None) for s in seeds}
        held = [s for s in seeds if found[s] is not None and found[s].passed]
        present = [v for v in found.values() if v is not None]
        numbers, difference = _numbers(present) if len(present) == len(seeds) else ({}, None)
        expected = present[0].expected + f" [{rule(len(seeds))}]"
        verdict = Verdict(claim, decide(len(held), len(seeds)), _measured(held, seeds, numbers, difference), expected)
        out.append({"verdict": verdict, "held": held, "failed": [s for s in seeds if s not in held],
                    "numbers": numbers, "difference": difference})
    return out


class Bands:
    """Min-max bands of averaged series, looked up by the averaged values (as a figure plots them)."""

    def __init__(self):
        self._bands: dict[bytes, tuple] = {}

    @staticmethod
    def key(values) -> bytes | None:
        try:
            a = numpy.asarray(values, dtype=numpy.float64)
        except (TypeError, ValueError):
            return None
        if a.ndim != 1 or a.size < 2:
            return None
        return numpy.nan_to_num(a, nan=-7.7e307, posinf=7.9e307, neginf=-7.9e307).tobytes()

    def add(self, mean, low, high) -> None:
        key = self.key(mean)
        if key is not None and not numpy.array_equal(low, high, equal_nan=True):
            self._bands[key] = (low, high)

    def find(self, values):
        """The ``(low, high)`` band of a plotted series equal to an averaged one, else None."""
        key = self.key(values)
        return None if key is None else self._bands.get(key)

    def __len__(self) -> int:
        return len(self._bands)


def _numeric_series(values) -> numpy.ndarray | None:
    """The seeds' equal-length 1-D numeric series as a (seeds, n) float array, else None."""
    try:
        a = numpy.asarray(values, dtype=numpy.float64)
    except (TypeError, ValueError):
        return None
    return a if a.ndim == 2 and a.shape[1] >= 1 else None


def mean_results(results: list, bands: Bands | None = None):
    """The element-wise mean of the seeds' ``results`` (same structure as one run's; numbers averaged,
    values equal in every seed kept, anything that cannot be averaged taken from the first seed), adding
    each averaged 1-D series' min-max band to ``bands``."""
    first = results[0]
    if isinstance(first, bool) or first is None or isinstance(first, str):
        return first
    if isinstance(first, dict):
        if any(not isinstance(r, dict) or r.keys() != first.keys() for r in results):
            return first
        return {k: mean_results([r[k] for r in results], bands) for k in first}
    if isinstance(first, numpy.ndarray):
        if any(not isinstance(r, numpy.ndarray) or r.shape != first.shape for r in results):
            return first
        if not numpy.issubdtype(first.dtype, numpy.number) or all(numpy.array_equal(r, first) for r in results):
            return first
        stack = numpy.stack(results).astype(numpy.float64)
        mean = stack.mean(axis=0)
        if bands is not None and mean.ndim == 1:
            bands.add(mean, stack.min(axis=0), stack.max(axis=0))
        return mean.astype(first.dtype) if numpy.issubdtype(first.dtype, numpy.floating) else mean
    if isinstance(first, (list, tuple)):
        if any(not isinstance(r, (list, tuple)) or len(r) != len(first) for r in results):
            return first
        series = _numeric_series(results) if all(_is_number(v) for r in results for v in r) else None
        if series is not None and not all(list(r) == list(first) for r in results):
            mean = series.mean(axis=0)
            if bands is not None:
                bands.add(mean, series.min(axis=0), series.max(axis=0))
            return type(first)(float(v) for v in mean)
        return type(first)(mean_results([r[i] for r in results], bands) for i in range(len(first)))
    if _is_number(first):
        if all(_is_number(r) for r in results):
            if all(r == first for r in results):
                return first
            return float(numpy.mean(numpy.asarray(results, dtype=numpy.float64)))
        return first
    return first


def _is_number(value) -> bool:
    return isinstance(value, (int, float, numpy.integer, numpy.floating)) and not isinstance(value, (bool, numpy.bool_))
