"""Quantities: one function per measured number, each on raw NumPy arrays, vectorised.

These are the doctor's gauges (docs/architecture.md: quantities, schedules and instruments apart).
Every function here is pure: arrays in, numbers (or small arrays) out. ``tests/doctor/test_probes.py``
checks each one against a slow, obvious loop. The recorder (``recorder.py``) decides *when* to call
them; the rules (``rules.py``) decide what the numbers mean; the figures only draw them.

Layout convention: axis 0 is the batch, axis 1 the units (features of a Linear output, channels of
a Conv2d output); any further axes are positions of the same unit (pixels of a channel).
"""
from __future__ import annotations

import numpy

# A unit is "saturated" where its local derivative has fallen below this share of the activation's
# largest derivative: it then passes back less than a tenth of the gradient it could.
SATURATION_DERIVATIVE_SHARE = 0.1


def _units_last(a: numpy.ndarray) -> numpy.ndarray:
    """(N, C, *positions) -> (N * positions, C): one row per (sample, position), one column per unit."""
    a = numpy.asarray(a)
    if a.ndim < 2:
        raise ValueError(f"probes: expected an array of shape (batch, units, ...), got shape {a.shape}")
    if a.ndim == 2:
        return a
    return numpy.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def sample_rows(a, max_values: int) -> numpy.ndarray:
    """At most ``max_values`` values of ``a`` (N, C, *positions) as (rows, C): whole rows of the units-last
    layout (one per sample and position), a fixed pseudo-random subset of them when they do not all fit
    (at least 2 rows), seeded by the layout's shape, so a measured step costs the same however large the
    batch and every step reads the same rows. The mean, std, spreads, histogram and saturated share of
    the rows estimate those of the whole array; whether a unit ever fires does not (``active_units``
    reads every value)."""
    a = numpy.asarray(a)
    if a.ndim < 2:
        _units_last(a)   # names the bad layout
    n, c = a.shape[:2]
    positions = int(numpy.prod(a.shape[2:], dtype=numpy.int64))
    keep = max(2, max_values // max(c, 1))
    if keep >= n * positions:
        return _units_last(a)
    index = _row_subset(n * positions, keep)
    if a.ndim == 2:
        return a[index]
    # two index arrays around a slice: the indexed axis comes first, giving (keep, C)
    return a.reshape(n, c, positions)[index // positions, :, index % positions]


_SUBSETS: dict = {}


def _row_subset(total: int, keep: int) -> numpy.ndarray:
    if (total, keep) not in _SUBSETS:
        rng = numpy.random.default_rng(total)
        _SUBSETS[total, keep] = numpy.sort(rng.choice(total, size=keep, replace=False))
    return _SUBSETS[total, keep]


def mean_std(a) -> tuple[float, float]:
    """Mean and standard deviation of every element: (mean(a), std(a)), in float64."""
    a = _floating(a)   # float64 accumulation without a float64 copy
    return float(a.mean(dtype=numpy.float64)), float(a.std(dtype=numpy.float64))


def rms(a) -> float:
    """Root mean square of every element: sqrt(mean(a^2))."""
    a = _floating(a).ravel()
    return float(numpy.sqrt(numpy.einsum("i,i->", a, a, dtype=numpy.float64) / a.size)) if a.size else 0.0


def histogram(a, bins: int = 30, value_range=None) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Counts and edges of the finite values of ``a`` in ``bins`` equal bins over ``value_range``
    (default: their min to max). Value v falls in bin floor((v - low) / width), the top edge in the
    last bin, values outside the range in the end bins (3x faster than ``numpy.histogram``)."""
    a = numpy.asarray(a).ravel()
    if not numpy.isfinite(a).all():
        a = a[numpy.isfinite(a)]
    if value_range is None:
        value_range = (float(a.min()), float(a.max())) if a.size else (0.0, 1.0)
    low, high = value_range
    if high <= low:
        low, high = low - 0.5, low + 0.5
    position = numpy.subtract(a, low, dtype=numpy.float64)
    position *= bins / (high - low)
    # clipped first, so truncation is floor (nothing negative is left) and no value overflows intp
    numpy.clip(position, 0, bins - 1, out=position)
    edges = low + (high - low) / bins * numpy.arange(bins + 1)
    edges[-1] = high
    return numpy.bincount(position.astype(numpy.intp), minlength=bins), edges


def saturation_bounds(activation: str) -> tuple[float, float]:
    """Output bounds (low, high) outside which ``activation``'s derivative is below
    ``SATURATION_DERIVATIVE_SHARE`` of its peak.

    sigmoid: f' = f (1 - f) <= 1/4, so f (1 - f) < s/4 gives f < (1 - sqrt(1 - s)) / 2 (or above 1 minus it);
    tanh: f' = 1 - f^2 <= 1, so |f| > sqrt(1 - s).
    """
    s = SATURATION_DERIVATIVE_SHARE
    if activation == "sigmoid":
        low = (1.0 - numpy.sqrt(1.0 - s)) / 2.0
        return float(low), float(1.0 - low)
    if activation == "tanh":
        return float(-numpy.sqrt(1.0 - s)), float(numpy.sqrt(1.0 - s))
    raise ValueError(f"saturation_bounds: only 'sigmoid' and 'tanh' saturate, got {activation!r}")


def saturation_share(a, activation: str) -> float:
    """Share of the outputs of a sigmoid or tanh layer that lie in its flat tails (see ``saturation_bounds``)."""
    low, high = saturation_bounds(activation)
    a = numpy.asarray(a)
    return float(numpy.mean((a <= low) | (a >= high))) if a.size else 0.0


def active_units(a) -> numpy.ndarray:
    """Boolean per unit: did the unit output a positive value for any sample (or position) of the batch?

    OR-ed over the batches of a window, a False marks a ReLU unit that never fired: a dead unit. Read from
    every value (a unit that fires rarely is alive), as max over samples, then over positions, > 0: the
    largest value is positive exactly when one is (``fmax`` skips NaN, which is never positive), with no
    copy of the (N, C, *positions) array into the units-last layout."""
    a = numpy.asarray(a)
    if a.ndim < 2:
        _units_last(a)   # names the bad layout
    peak = numpy.fmax.reduce(a, axis=0)
    if peak.ndim > 1:
        peak = numpy.fmax.reduce(peak.reshape(peak.shape[0], -1), axis=1)
    return peak > 0


def dead_share(ever_active: numpy.ndarray) -> float:
    """Share of units that never fired: mean(not ever_active)."""
    ever_active = numpy.asarray(ever_active, dtype=bool)
    return float(numpy.mean(~ever_active)) if ever_active.size else 0.0


def sample_spread(a) -> float:
    """How much a layer's units vary from one input to the next, relative to their size.

    spread = mean over units of std over samples(a_unit) / rms(a); 0 when the layer outputs the same
    thing whatever the input (its output then carries no information about the input).
    """
    return _relative_spread(a, axis=0)


def unit_spread(a) -> float:
    """How different a layer's units are from each other on the same input, relative to their size.

    spread = mean over samples of std over units(a_sample) / rms(a); 0 when every unit of the layer
    outputs the same value (the units are copies of one another: "limited expressive power").
    """
    return _relative_spread(a, axis=1)


def _relative_spread(a, axis: int) -> float:
    """mean of the std along ``axis`` (0: over samples, 1: over units) of the (rows, units) layout, / rms."""
    rows = _floating(_units_last(a))
    scale = rms(rows)
    if scale == 0.0 or rows.shape[axis] < 2:
        return 0.0
    return float(rows.std(axis=axis, dtype=numpy.float64).mean() / scale)


def per_sample_norm(g) -> float:
    """sqrt(mean over samples of ||g_sample||^2): the typical per-sample size of a gradient (or activation).

    Summed over a sample's units rather than averaged: with He (fan-in) or Xavier initialisation this
    norm of the backward gradient is the same in every layer whatever the widths, so ratios across
    layers compare like with like."""
    g = _floating(g)
    if g.ndim < 1 or g.shape[0] == 0:
        return 0.0
    return norm(g) / float(numpy.sqrt(g.shape[0]))


# Elements per partial sum of ``norm``: each partial is accumulated in the array's own dtype (float32
# rounding over 512 terms: relative error < 512 * 6e-8 = 3e-5), the partials are added in float64.
NORM_CHUNK = 512


def norm(a) -> float:
    """Frobenius (2-) norm of every element: sqrt(sum(a^2)).

    Summed in chunks of ``NORM_CHUNK`` elements in the array's dtype, the chunk sums in float64: 3x faster
    than a float64 accumulation of every term, as accurate for the doctor's purposes. A sum that overflows
    float32 is redone in float64, so a large but finite array never reads as infinite."""
    a = _floating(a).ravel()
    # einsum's own loop, not BLAS's dot, whose threads spin: on a busy machine a 10^4-element float64 dot
    # took milliseconds (and a user's BLAS is left alone)
    whole = a.size - a.size % NORM_CHUNK
    head, tail = a[:whole].reshape(-1, NORM_CHUNK), a[whole:]
    total = float(numpy.einsum("ij,ij->i", head, head).sum(dtype=numpy.float64)) if whole else 0.0
    total += float(numpy.einsum("i,i->", tail, tail, dtype=numpy.float64))
    if not numpy.isfinite(total) and a.dtype != numpy.float64:
        total = float(numpy.einsum("i,i->", a, a, dtype=numpy.float64))
    return float(numpy.sqrt(total))


def _floating(a) -> numpy.ndarray:
    """``a`` as a float32 or float64 array, copied only when it is neither."""
    a = numpy.asarray(a)
    return a if a.dtype in (numpy.float32, numpy.float64) else a.astype(numpy.float64)


def update_ratio(before, after, size: float | None = None) -> float:
    """||after - before|| / ||before||: the relative size of one optimiser step (inf when before is 0
    and the step is not). ``size``: ||before|| when the caller has it already."""
    step = norm(_floating(after) - _floating(before))
    size = norm(before) if size is None else size
    if size == 0.0:
        return 0.0 if step == 0.0 else float("inf")
    return step / size


def row_spread(weight, size: float | None = None) -> float:
    """How different the units of a layer are in their incoming weights.

    spread = ||W - mean_row(W)|| / ||W|| for W reshaped to (units, fan_in); 0 when every unit has the
    same incoming weights (a symmetric layer: gradient descent keeps such units identical forever),
    about sqrt(1 - 1/units) for independent random rows. A zero matrix counts as symmetric (0).
    ``size``: ||W|| when the caller has it already.
    """
    w = _floating(weight)
    if w.ndim < 2:
        raise ValueError(f"row_spread: expected a weight of shape (units, fan_in, ...), got shape {w.shape}")
    w = w.reshape(w.shape[0], -1)
    size = norm(w) if size is None else size
    if size == 0.0:
        return 0.0
    return norm(w - w.mean(axis=0, keepdims=True)) / size


# Rows summing to 1 up to float32 rounding over a few thousand terms.
PROBABILITY_TOLERANCE = 1e-3


def probability_rows(a) -> bool:
    """Is every row of ``a`` (batch, classes) a probability vector: entries >= 0 summing to 1?"""
    a = numpy.asarray(a, dtype=numpy.float64)
    return bool(a.size) and bool((a >= 0).all()) and bool(
        (numpy.abs(a.sum(axis=1) - 1.0) <= PROBABILITY_TOLERANCE).all())


def softmax_floor(classes: int) -> float:
    """The smallest value cross-entropy can take when its input is already a probability vector p:
    -log softmax(p)_y >= -log(e / (e + classes - 1)) = log(1 + (classes - 1) / e), reached at p = one-hot(y)."""
    return float(numpy.log1p((classes - 1) / numpy.e))


def row_fingerprints(x) -> numpy.ndarray:
    """One number per example (row) of a batch: sum over its elements of x * w for a fixed pseudo-random
    w, in float64. Equal examples give equal numbers wherever they sit in a batch (the sum runs along
    each row alone); different ones collide with probability ~0. The doctor uses it to tell batches
    the model has not trained on yet."""
    flat = numpy.asarray(x).reshape(len(x), -1)
    weights = _fingerprint_weights(flat.shape[1])
    return (flat.astype(numpy.float64) * weights).sum(axis=1)


_WEIGHTS: dict = {}


def _fingerprint_weights(n: int) -> numpy.ndarray:
    if n not in _WEIGHTS:
        _WEIGHTS[n] = numpy.random.default_rng(n).standard_normal(n)
    return _WEIGHTS[n]


def all_finite(a) -> bool:
    """True when no element of ``a`` is NaN or infinite."""
    return bool(numpy.isfinite(numpy.asarray(a)).all())


def loss_trend(losses, window: float = 0.2) -> dict:
    """Start, end and relative improvement of a loss curve, robust to mini-batch noise.

    start = median of the first ``window`` share of the losses, end = median of the last share,
    improvement = (start - end) / |start|; roughness = median |step-to-step change| / end, the
    typical jump between consecutive losses relative to the level reached (large when the loss
    oscillates). Non-finite losses count as +inf in the medians.
    """
    values = numpy.asarray(losses, dtype=numpy.float64)
    values = numpy.where(numpy.isfinite(values), values, numpy.inf)
    n = values.size
    if n == 0:
        return {"start": float("nan"), "end": float("nan"), "improvement": 0.0, "roughness": 0.0}
    k = max(1, int(round(n * window)))
    start, end = float(numpy.median(values[:k])), float(numpy.median(values[-k:]))
    if numpy.isfinite(start) and numpy.isfinite(end) and start != 0.0:
        improvement = (start - end) / abs(start)
    else:
        improvement = float("-inf") if not numpy.isfinite(end) else 0.0
    finite = values[numpy.isfinite(values)]
    jumps = numpy.abs(numpy.diff(finite))
    roughness = float(numpy.median(jumps) / abs(end)) if jumps.size and numpy.isfinite(end) and end != 0 else 0.0
    return {"start": start, "end": end, "improvement": float(improvement), "roughness": roughness}
