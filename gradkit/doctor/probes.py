"""Quantities: one function per measured number, each on raw NumPy arrays, vectorised.

These are the doctor's gauges (docs/architecture.md: quantities, schedules and instruments apart).
Every function here is pure: arrays in, numbers (or small arrays) out; the sums run in compiled loops
(``_loops.py``: one call reads all of a layer's numbers). ``tests/doctor/test_probes.py`` checks each
one against a slow, obvious loop. The recorder (``recorder.py``) decides *when* to call
them; the rules (``rules.py``) decide what the numbers mean; the figures only draw them.

Layout convention: axis 0 is the batch, axis 1 the units (features of a Linear output, channels of
a Conv2d output); any further axes are positions of the same unit (pixels of a channel).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy

from . import _loops

# A unit is "saturated" where its local derivative has fallen below this share of the activation's
# largest derivative: it then passes back less than a tenth of the gradient it could.
SATURATION_DERIVATIVE_SHARE = 0.1


def sample_rows(a, max_values: int | None) -> numpy.ndarray:
    """At most about ``max_values`` values of ``a`` (N, C, *positions) as a (rows, C) array:
    whole rows of the units-last layout (one per sample and position). When they do not all fit, every
    s-th sample with all its positions (s the smallest stride that fits), or, when one sample alone holds
    more than half of ``max_values``, two samples (the first and the middle one) with every t-th position;
    at least 2 rows. The subset depends only on the shape, so a measured step costs the same however large
    the batch and every step reads the same places. The mean, std, spreads, histogram and saturated share
    of the rows estimate those of the whole array; whether a unit ever fires does not (``active_units``
    reads every value). ``max_values=None``: every row. (``summary`` reads the same rows.)"""
    view = _subset(_three_axes(a), max_values)
    return numpy.moveaxis(view, 1, -1).reshape(-1, view.shape[1])


def _three_axes(a) -> numpy.ndarray:
    """(N, C, *positions) as a C-contiguous float32/float64 (N, C, positions) array (a view when it can be)."""
    a = _floating(a)
    if a.ndim < 2:
        raise ValueError(f"probes: expected an array of shape (batch, units, ...), got shape {a.shape}")
    if not a.flags.c_contiguous:
        a = numpy.ascontiguousarray(a)
    return a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))


def _plan(n: int, c: int, positions: int, max_values: int | None) -> tuple[int, int, int]:
    """(sample stride, samples taken, position stride) of the rows ``sample_rows`` reads."""
    per_sample = c * positions
    if max_values is None or n * per_sample <= max_values:
        return 1, n, 1
    fit = max_values // max(per_sample, 1)
    if fit >= 2:
        stride = -(-n // fit)
        return stride, -(-n // stride), 1
    stride = max(n // 2, 1)
    return stride, min(2, -(-n // stride)), -(-2 * per_sample // max(max_values, 1))


def _subset(view: numpy.ndarray, max_values: int | None) -> numpy.ndarray:
    """The samples and positions ``sample_rows`` reads, as a strided (N', C, positions') view of ``view``."""
    stride, take, position_stride = _plan(*view.shape, max_values)
    return view[::stride][:take, :, ::position_stride]


class Histogram:
    """Counts of values in equal bins over [low, high]; unpacks as (counts, edges), the edges computed
    when read (a measured step stores every layer's histogram, the figures draw only the last)."""
    __slots__ = ("counts", "low", "high")

    def __init__(self, counts: numpy.ndarray, low: float, high: float):
        self.counts, self.low, self.high = counts, low, high

    @property
    def edges(self) -> numpy.ndarray:
        return _edges(self.low, self.high, len(self.counts))

    def __iter__(self):
        return iter((self.counts, self.edges))


class Summary(NamedTuple):
    """What ``summary`` reads of an array in (batch, units, ...) layout."""
    mean: float
    std: float
    rms: float
    sample_spread: float
    unit_spread: float
    saturation: float
    histogram: Histogram

    @property
    def counts(self) -> numpy.ndarray:
        return self.histogram.counts

    @property
    def edges(self) -> numpy.ndarray:
        return self.histogram.edges


def summary(a, bins: int = 30, activation: str | None = None, value_range=None,
            max_values: int | None = None) -> Summary:
    """The statistics of the elements of ``a`` (N, C, *positions), read in two passes:

    * mean, std (population) and rms = sqrt(mean(a^2));
    * ``sample_spread`` and ``unit_spread`` (see those functions);
    * ``saturation``: the share of values in the flat tails of ``activation`` ("sigmoid" or "tanh";
      ``saturation_bounds``), 0 for any other activation;
    * ``counts`` and ``edges`` of the finite values in ``bins`` equal bins over ``value_range`` (default:
      their min to max): value v falls in bin floor((v - low) / width), the top edge in the last bin,
      values outside the range in the end bins.

    ``max_values``: read only the rows ``sample_rows`` picks. Every sum is accumulated in
    float64 whatever the array's dtype."""
    view = numpy.ascontiguousarray(_subset(_three_axes(a), max_values))   # contiguous: the loops vectorise
    counts = numpy.zeros(bins, dtype=numpy.int64)
    low, high = (math.nan, math.nan) if value_range is None else (float(value_range[0]), float(value_range[1]))
    if view.size == 0:
        low, high = (0.0, 1.0) if value_range is None else (low, high)
        if high <= low:
            low, high = low - 0.5, low + 0.5
        return Summary(math.nan, math.nan, 0.0, 0.0, 0.0, 0.0, Histogram(counts, low, high))
    out = _loops.summary(view, bins, *_tails(activation), low, high, counts)
    return _as_summary(out, counts)


def activation_numbers(a, window: numpy.ndarray, row: int, bins: int = 30, activation: str | None = None,
                       max_values: int | None = None) -> tuple[Summary, float] | None:
    """What the doctor reads of an activation on a measured step, in one call: ``summary(a, bins,
    activation, max_values=max_values)`` and the share of units that never fired over ``window``
    (a (batches, units) bool array whose row ``row`` gets this batch's ``active_units(a)``, read from
    every value). None, with ``window`` unchanged, when a value of ``a`` is NaN or Inf."""
    view = _three_axes(a)
    if view.size == 0:
        return summary(a, bins, activation), 0.0
    counts = numpy.zeros(bins, dtype=numpy.int64)
    out = _loops.activation(view, *_plan(*view.shape, max_values), bins, *_tails(activation), window, row, counts)
    return None if out is None else (_as_summary(out, counts), out[_loops.DEAD])


def _tails(activation: str | None) -> tuple[float, float]:
    return saturation_bounds(activation) if activation in ("sigmoid", "tanh") else (-math.inf, math.inf)


def _as_summary(out: numpy.ndarray, counts: numpy.ndarray) -> Summary:
    v = out.tolist()
    return Summary(v[_loops.MEAN], v[_loops.STD], v[_loops.RMS], v[_loops.SAMPLE_SPREAD], v[_loops.UNIT_SPREAD],
                   v[_loops.SATURATED], Histogram(counts, v[_loops.LOW], v[_loops.HIGH]))


def _edges(low: float, high: float, bins: int) -> numpy.ndarray:
    if bins not in _STEPS:
        _STEPS[bins] = numpy.arange(bins + 1) / bins
    edges = _STEPS[bins] * (high - low) + low
    edges[-1] = high
    return edges


_STEPS: dict = {}
_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def _column(a) -> numpy.ndarray:
    """Every element of ``a`` as one unit (rows = elements): the layout for whole-array statistics."""
    return numpy.reshape(numpy.asarray(a), (-1, 1))


def mean_std(a) -> tuple[float, float]:
    """Mean and standard deviation of every element: (mean(a), std(a)), in float64 (NaN for no element)."""
    mean, std, _ = moments(a)
    return mean, std


def moments(a, max_values: int | None = None) -> tuple[float, float, float]:
    """(mean, std, rms) of every element, in two passes, summed in float64; ``max_values``: of the
    samples and positions ``sample_rows`` picks (for an array of two or more dimensions)."""
    a = numpy.asarray(a)
    flat = _flat(a) if max_values is None or a.ndim < 2 else _flat(_subset(_three_axes(a), max_values))
    if flat.size == 0:
        return math.nan, math.nan, 0.0
    return _loops.moments(flat)


def rms(a) -> float:
    """Root mean square of every element: sqrt(mean(a^2))."""
    return moments(a)[2]


def histogram(a, bins: int = 30, value_range=None) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Counts and edges of the finite values of ``a`` in ``bins`` equal bins over ``value_range``
    (default: their min to max; see ``summary``)."""
    s = summary(_column(a), bins, value_range=value_range)
    return s.counts, s.edges


def saturation_bounds(activation: str) -> tuple[float, float]:
    """Output bounds (low, high) outside which ``activation``'s derivative is below
    ``SATURATION_DERIVATIVE_SHARE`` of its peak.

    sigmoid: f' = f (1 - f) <= 1/4, so f (1 - f) < s/4 gives f < (1 - sqrt(1 - s)) / 2 (or above 1 minus it);
    tanh: f' = 1 - f^2 <= 1, so |f| > sqrt(1 - s).
    """
    s = SATURATION_DERIVATIVE_SHARE
    if activation == "sigmoid":
        low = (1.0 - math.sqrt(1.0 - s)) / 2.0
        return low, 1.0 - low
    if activation == "tanh":
        return -math.sqrt(1.0 - s), math.sqrt(1.0 - s)
    raise ValueError(f"saturation_bounds: only 'sigmoid' and 'tanh' saturate, got {activation!r}")


def saturation_share(a, activation: str) -> float:
    """Share of the outputs of a sigmoid or tanh layer that lie in its flat tails (see ``saturation_bounds``)."""
    saturation_bounds(activation)   # names a bad activation
    return summary(_column(a), 1, activation).saturation


def active_units(a) -> numpy.ndarray:
    """Boolean per unit: did the unit output a positive value for any sample (or position) of the batch?

    OR-ed over the batches of a window, a False marks a ReLU unit that never fired: a dead unit. Read from
    every value (a unit that fires rarely is alive; NaN is never positive)."""
    return active_and_finite(a)[0]


def active_and_finite(a) -> tuple[numpy.ndarray, bool]:
    """``active_units(a)`` and whether every value of ``a`` is finite, in one read of every value."""
    view = _three_axes(a)
    active = numpy.zeros(view.shape[1], dtype=bool)
    finite = _loops.active_units(view, active)
    return active, bool(finite)


def sample_spread(a) -> float:
    """How much a layer's units vary from one input to the next, relative to their size.

    spread = mean over units of std over samples(a_unit) / rms(a); 0 when the layer outputs the same
    thing whatever the input (its output then carries no information about the input).
    """
    return summary(a, 1).sample_spread


def unit_spread(a) -> float:
    """How different a layer's units are from each other on the same input, relative to their size.

    spread = mean over samples of std over units(a_sample) / rms(a); 0 when every unit of the layer
    outputs the same value (the units are copies of one another: "limited expressive power").
    """
    return summary(a, 1).unit_spread


def per_sample_norm(g) -> float:
    """sqrt(mean over samples of ||g_sample||^2): the typical per-sample size of a gradient (or activation).

    Summed over a sample's units rather than averaged: with He (fan-in) or Xavier initialisation this
    norm of the backward gradient is the same in every layer whatever the widths, so ratios across
    layers compare like with like."""
    g = numpy.asarray(g)
    if g.ndim < 1 or g.shape[0] == 0:
        return 0.0
    return norm(g) / math.sqrt(g.shape[0])


def norm(a) -> float:
    """Frobenius (2-) norm of every element: sqrt(sum(a^2)), summed in float64 (a float32 array whose
    squares overflow float32 still has a finite norm); NaN or Inf when an element is."""
    return math.sqrt(_loops.sum_squares(_flat(a)))


def _floating(a) -> numpy.ndarray:
    """``a`` as a float32 or float64 array, copied only when it is neither."""
    a = numpy.asarray(a)
    return a if a.dtype in _FLOATS else a.astype(numpy.float64)


def _flat(a) -> numpy.ndarray:
    """``a`` as a contiguous float32 or float64 vector (a view when it can be)."""
    a = _floating(a)
    return a.reshape(-1) if a.flags.c_contiguous else numpy.ascontiguousarray(a).reshape(-1)


def weight_numbers(before, after=None) -> tuple[float, float, float]:
    """(||W||, row spread, update ratio) of weights W = ``before`` and, optionally, ``after`` one step,
    in one read of each: see ``row_spread`` and ``update_ratio`` (the ratio is 0 without ``after``).
    W is read as (units, fan_in): (W.shape[0], rest) for two or more dimensions, one row for a vector."""
    b = _floating(before)
    b = numpy.ascontiguousarray(b.reshape(b.shape[0], -1) if b.ndim >= 2 else b.reshape(1, -1))
    a = b if after is None else numpy.ascontiguousarray(_floating(after)).reshape(b.shape)
    size, centred, step = (math.sqrt(v) for v in _loops.weight_sums(b, a))
    if size == 0.0:
        return 0.0, 0.0, (0.0 if step == 0.0 else math.inf)
    return size, centred / size, step / size


def weight_sample(weight, max_values: int) -> numpy.ndarray:
    """A copy of at most about ``max_values`` elements of ``weight``, every k-th in memory order (spread over
    every unit), k fixed by the size: the same places of the same weights before and after a step."""
    flat = _flat(weight)
    return flat[::max(1, -(-flat.size // max_values))].copy()


def update_ratio(before, after) -> float:
    """||after - before|| / ||before||: the relative size of one optimiser step (inf when before is 0
    and the step is not)."""
    return weight_numbers(before, after)[2]


def row_spread(weight) -> float:
    """How different the units of a layer are in their incoming weights.

    spread = ||W - mean_row(W)|| / ||W|| for W reshaped to (units, fan_in); 0 when every unit has the
    same incoming weights (a symmetric layer: gradient descent keeps such units identical forever),
    about sqrt(1 - 1/units) for independent random rows. A zero matrix counts as symmetric (0).
    """
    w = numpy.asarray(weight)
    if w.ndim < 2:
        raise ValueError(f"row_spread: expected a weight of shape (units, fan_in, ...), got shape {w.shape}")
    return weight_numbers(w)[1]


# Rows summing to 1 up to float32 rounding over a few thousand terms.
PROBABILITY_TOLERANCE = 1e-3


def probability_rows(a) -> bool:
    """Is every row of ``a`` (batch, classes) a probability vector: entries >= 0 summing to 1?"""
    a = numpy.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"probability_rows: expected an array of shape (batch, classes), got shape {a.shape}")
    return bool(_loops.probability_rows(_floating(a), PROBABILITY_TOLERANCE))


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
    """True when no element of ``a`` is NaN or infinite (one vectorised pass, no temporary)."""
    return bool(_loops.all_finite(_flat(a)))


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
