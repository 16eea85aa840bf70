"""Shared timing helpers: interleaved repeats so a noisy machine biases no contestant."""
from __future__ import annotations

import statistics
import time


def summary(samples) -> dict:
    """min / median / max of a list of timings (or of any figures)."""
    return {"min": min(samples), "median": statistics.median(samples), "max": max(samples)}


def interleaved(contestants: dict, repeats: int = 7, inner: int = 20, warmup: int = 3, tick=None) -> dict:
    """Time each callable ``inner`` times per repeat, contestants interleaved (A B C A B C ...).

    ``tick()`` (a progress bar's update, say) is called after each timed repeat of each contestant.
    Returns name -> {"min", "median", "max"} in seconds per call."""
    for fn in contestants.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in contestants}
    for _ in range(repeats):
        for name, fn in contestants.items():
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
            if tick is not None:
                tick()
    return {name: summary(s) for name, s in samples.items()}


def table(results: dict, baseline: str, unit: float = 1e-3, unit_name: str = "ms") -> str:
    """A Markdown table of min/median/max and the ratio of medians to ``baseline``."""
    base = results[baseline]["median"]
    lines = [f"| contestant | min ({unit_name}) | median ({unit_name}) | max ({unit_name}) | ratio to {baseline} |",
             "| --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['min'] / unit:.3f} | {r['median'] / unit:.3f} | {r['max'] / unit:.3f} | "
                     f"{r['median'] / base:.2f}x |")
    return "\n".join(lines)
