"""The doctor's compiled loops (private): the probes of one array in one or two passes.

A measured step reads every watched layer. Written as vectorised NumPy, each layer's numbers were a
few dozen small calls (mean, std, spreads, histogram, norms), each with its own temporaries: about
4 ms a measured step for a 784-100x4-10 MLP whose whole step takes 1.5 ms, so watching every 10th
step cost the loop 30% (bench/README.md, "The doctor watching a PyTorch loop"). Here each layer is
read by one call: one pass for the sums, a second (from cache) for the squared deviations and the
histogram. Every sum is a float64 sum, whatever the array's dtype. ``probes.py`` defines what each
number means and is the only caller; ``tests/doctor/test_probes.py`` checks it against slow loops.
"""
from __future__ import annotations

import math

import numpy
from numba import njit

# sums may be reassociated (into SIMD lanes): fixed for a given machine; NaN and Inf still propagate
_jit = njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz"})

# indices of ``summary``'s numbers
MEAN, STD, RMS, LOW, HIGH, SAMPLE_SPREAD, UNIT_SPREAD, SATURATED, DEAD = range(9)


@_jit
def sum_squares(flat):
    """sum(flat^2) in float64 (NaN or Inf when one value is)."""
    total = 0.0
    for i in range(flat.size):
        v = numpy.float64(flat[i])
        total += v * v
    return total


@_jit
def moments(flat):
    """(mean, std, rms) of a vector, in two passes."""
    total = 0.0
    for i in range(flat.size):
        total += numpy.float64(flat[i])
    mean = total / flat.size
    deviation, squares = 0.0, 0.0
    for i in range(flat.size):
        v = numpy.float64(flat[i])
        deviation += (v - mean) * (v - mean)
        squares += v * v
    return mean, math.sqrt(deviation / flat.size), math.sqrt(squares / flat.size)


@njit(cache=True, nogil=True, fastmath=True)
def _extremes(rows):
    """min and max of ``rows``, every value known to be finite (so the compiler may assume it: this loop
    vectorises, the careful one in ``summary`` does not)."""
    smallest, largest = math.inf, -math.inf
    for b in range(rows.shape[0]):
        for j in range(rows.shape[1]):
            for p in range(rows.shape[2]):
                v = numpy.float64(rows[b, j, p])
                smallest = min(smallest, v)
                largest = max(largest, v)
    return smallest, largest


@_jit
def summary(rows, bins, low_saturated, high_saturated, low, high, counts):
    """The statistics of the (rows, units) layout of ``rows`` (samples, units, positions), row (b, p)
    being rows[b, :, p]: mean, std, rms and min/max of the finite values, the two spreads (std over rows
    per unit, std over units per row, each averaged and divided by the rms), the share of values
    <= low_saturated or >= high_saturated; ``counts`` (length ``bins``)
    gets the histogram of the finite values over [low, high] (NaN: their min to max). Returned as a
    float64 array indexed by the module's constants."""
    k, c, positions = rows.shape
    n = k * c * positions
    out = numpy.zeros(9)
    column = numpy.zeros(c)
    row_mean = numpy.zeros((k, positions))
    total, saturated, check = 0.0, 0.0, 0.0
    for b in range(k):   # the sums; check turns NaN at the first NaN or Inf (x * 0)
        for p in range(positions):
            row = 0.0
            for j in range(c):
                v = numpy.float64(rows[b, j, p])
                row += v
                column[j] += v
                check += v * 0.0
                saturated += (v <= low_saturated) | (v >= high_saturated)
            row_mean[b, p] = row / c
            total += row
    mean = total / n
    for j in range(c):
        column[j] /= k * positions
    if check == 0.0:
        finite = float(n)
        smallest, largest = _extremes(rows)
    else:   # some value is NaN or Inf: the histogram's range comes from the finite ones
        finite, smallest, largest = 0.0, math.inf, -math.inf
        for b in range(k):
            for j in range(c):
                for p in range(positions):
                    v = numpy.float64(rows[b, j, p])
                    if math.isfinite(v):
                        finite += 1.0
                        smallest = min(smallest, v)
                        largest = max(largest, v)
    if math.isnan(low):
        low, high = (smallest, largest) if finite > 0 else (0.0, 1.0)
    if high <= low:
        low, high = low - 0.5, low + 0.5
    deviation, squares, across_units = 0.0, 0.0, 0.0
    along = numpy.zeros(c)
    scale = bins / (high - low)
    top = bins - 1.0
    for b in range(k):
        for p in range(positions):
            row = 0.0
            m = row_mean[b, p]
            for j in range(c):
                v = numpy.float64(rows[b, j, p])
                d = v - mean
                deviation += d * d
                squares += v * v
                e = v - column[j]
                along[j] += e * e
                f = v - m
                row += f * f
            across_units += math.sqrt(row / c)
            for j in range(c):   # bin floor((v - low) / width), clipped to the end bins; finite values only
                v = numpy.float64(rows[b, j, p])
                if check == 0.0 or math.isfinite(v):
                    counts[int(min(max((v - low) * scale, 0.0), top))] += 1
    rms = math.sqrt(squares / n)
    over_rows = 0.0
    for j in range(c):
        over_rows += math.sqrt(along[j] / (k * positions))
    out[MEAN], out[STD], out[RMS] = mean, math.sqrt(deviation / n), rms
    out[LOW], out[HIGH] = low, high
    if rms != 0.0 and k * positions >= 2:
        out[SAMPLE_SPREAD] = over_rows / c / rms
    if rms != 0.0 and c >= 2:
        out[UNIT_SPREAD] = across_units / (k * positions) / rms
    out[SATURATED] = saturated / n
    return out


@_jit
def all_finite(flat):
    """No NaN or Inf in the vector (x * 0 is NaN exactly for those; the sum vectorises)."""
    check = 0.0
    for i in range(flat.size):
        check += flat[i] * 0.0
    return check == 0.0


@njit(cache=True, nogil=True, fastmath=True)
def _peaks(a, peak):
    """peak[u] = max of a[:, u, :], every value known to be finite (the loop vectorises)."""
    batch, units, positions = a.shape
    if positions == 1:   # (batch, units): the loop over units is the one that vectorises
        for n in range(batch):
            for u in range(units):
                peak[u] = max(peak[u], numpy.float64(a[n, u, 0]))
        return
    for n in range(batch):
        for u in range(units):
            top = peak[u]
            for p in range(positions):
                top = max(top, numpy.float64(a[n, u, p]))
            peak[u] = top


@_jit
def active_units(a, active):
    """active[u] |= some a[:, u, :] > 0, for a (batch, units, positions) array; returns whether every
    value is finite (NaN is never positive: a unit whose values are NaN or negative did not fire)."""
    batch, units, positions = a.shape
    finite = all_finite(a.reshape(-1))
    peak = numpy.full(units, -math.inf)
    if finite:
        _peaks(a, peak)
    else:
        for n in range(batch):
            for u in range(units):
                for p in range(positions):
                    v = numpy.float64(a[n, u, p])
                    if v > peak[u]:
                        peak[u] = v
    for u in range(units):
        active[u] = active[u] or peak[u] > 0
    return finite


@_jit
def weight_sums(before, after):
    """For (units, fan_in) weights: sum(before^2), sum((before - mean row)^2), sum((after - before)^2)."""
    units, fan_in = before.shape
    mean_row = numpy.zeros(fan_in)
    size = 0.0
    for i in range(units):
        for j in range(fan_in):
            v = numpy.float64(before[i, j])
            size += v * v
            mean_row[j] += v
    for j in range(fan_in):
        mean_row[j] /= units
    centred, step = 0.0, 0.0
    for i in range(units):
        for j in range(fan_in):
            v = numpy.float64(before[i, j])
            d = v - mean_row[j]
            centred += d * d
            e = numpy.float64(after[i, j]) - v
            step += e * e
    return size, centred, step


@_jit
def activation(a, stride, take, position_stride, bins, low_saturated, high_saturated, ring, row, counts):
    """What a measured step reads of an activation a (batch, units, positions), in one call:

    * every value: whether each unit fired (written to ``ring[row]``) and whether all are finite;
    * the rows (b, p) for samples b = 0, stride, ... (``take`` of them) and positions p = 0,
      position_stride, ...: copied into one contiguous block, then ``summary`` of them;
    * the share of units that fired in none of the ``ring``'s rows (dead units over the window).

    Returns ``summary``'s array with the dead share in its last entry, or None when a value is NaN or
    Inf (``ring`` then unchanged)."""
    batch, units, positions = a.shape
    fired = numpy.zeros(units, dtype=numpy.bool_)
    if not active_units(a, fired):
        return None
    ring[row, :] = fired
    kept = (positions + position_stride - 1) // position_stride
    rows = numpy.empty((take, units, kept), dtype=a.dtype)
    for i in range(take):
        b = i * stride
        for j in range(units):
            for q in range(kept):
                rows[i, j, q] = a[b, j, q * position_stride]
    out = summary(rows, bins, low_saturated, high_saturated, math.nan, math.nan, counts)
    dead = 0
    for j in range(units):
        alive = False
        for r in range(ring.shape[0]):
            alive = alive or ring[r, j]
        dead += not alive
    out[DEAD] = dead / units if units else 0.0
    return out


@_jit
def probability_rows(a, tolerance):
    """Is every row of the (batch, classes) array a probability vector: entries >= 0 (not NaN) summing
    to 1 within ``tolerance``? False for an empty array."""
    if a.size == 0:
        return False
    for i in range(a.shape[0]):
        total = 0.0
        for j in range(a.shape[1]):
            v = numpy.float64(a[i, j])
            if not v >= 0.0:
                return False
            total += v
        if not abs(total - 1.0) <= tolerance:
            return False
    return True
