"""Each vectorised quantity against a slow, obvious loop."""
import math

import numpy
import pytest

from gradkit.doctor import probes
from gradkit.doctor.schedule import Schedule

rng = numpy.random.default_rng(7)


def units_of(a):
    """Slow reference layout: for each unit (axis 1), the list of its values over samples and positions."""
    a = numpy.asarray(a, dtype=numpy.float64)
    columns = []
    for u in range(a.shape[1]):
        values = []
        for n in range(a.shape[0]):
            values.extend(numpy.ravel(a[n, u]).tolist())
        columns.append(values)
    return columns


def rows_of(a):
    """Slow reference: for each (sample, position), the list of the unit values."""
    a = numpy.asarray(a, dtype=numpy.float64)
    if a.ndim == 2:
        return [list(r) for r in a]
    rows = []
    for n in range(a.shape[0]):
        for pos in numpy.ndindex(*a.shape[2:]):
            rows.append([a[(n, u) + pos] for u in range(a.shape[1])])
    return rows


def slow_std(values):
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / len(values))


def slow_rms(values):
    return math.sqrt(sum(v * v for v in values) / len(values))


ARRAYS = [rng.standard_normal((16, 5)), rng.standard_normal((6, 3, 4, 4)) * 3 + 1,
          numpy.maximum(rng.standard_normal((10, 7)), 0)]


@pytest.mark.parametrize("a", ARRAYS)
def test_mean_std_rms_norm(a):
    flat = numpy.ravel(a).tolist()
    mean, std = probes.mean_std(a)
    assert mean == pytest.approx(sum(flat) / len(flat))
    assert std == pytest.approx(slow_std(flat))
    assert probes.rms(a) == pytest.approx(slow_rms(flat))
    assert probes.norm(a) == pytest.approx(math.sqrt(sum(v * v for v in flat)))


@pytest.mark.parametrize("a", ARRAYS)
def test_spreads_against_loops(a):
    flat = numpy.ravel(a).tolist()
    scale = slow_rms(flat)
    by_unit = units_of(a)
    expected_sample = sum(slow_std(col) for col in by_unit) / len(by_unit) / scale
    assert probes.sample_spread(a) == pytest.approx(expected_sample)
    rows = rows_of(a)
    expected_unit = sum(slow_std(r) for r in rows) / len(rows) / scale
    assert probes.unit_spread(a) == pytest.approx(expected_unit)


def test_spreads_of_degenerate_layers_are_zero():
    same_units = numpy.repeat(rng.standard_normal((8, 1)), 6, axis=1)   # every unit equal
    assert probes.unit_spread(same_units) == pytest.approx(0.0, abs=1e-12)
    assert probes.sample_spread(same_units) > 0.5
    same_inputs = numpy.repeat(rng.standard_normal((1, 6)), 8, axis=0)  # input-independent
    assert probes.sample_spread(same_inputs) == pytest.approx(0.0, abs=1e-12)
    assert probes.sample_spread(numpy.zeros((4, 3))) == 0.0 and probes.unit_spread(numpy.zeros((4, 3))) == 0.0


@pytest.mark.parametrize("a", ARRAYS)
def test_active_units(a):
    expected = [any(v > 0 for v in col) for col in units_of(a)]
    assert probes.active_units(a).tolist() == expected


def test_dead_share_over_a_window_of_batches_against_a_loop():
    """A unit is dead when it fired in none of the window's batches; the window keeps the last rows only."""
    window = numpy.zeros((3, 6), dtype=bool)
    batches = [numpy.full((4, 6), -1.0) for _ in range(5)]
    for b, unit in enumerate([0, 1, 2, 3, 0]):
        batches[b][2, unit] = 0.5                  # batch b fires one unit, once
    seen = []
    for b, x in enumerate(batches):
        _, dead = probes.activation_numbers(x, window, b % 3)
        seen.append([any(v > 0 for v in col) for col in units_of(x)])
        last = seen[-3:]
        expected = sum(not any(rows[u] for rows in last) for u in range(6)) / 6
        assert dead == pytest.approx(expected)
    assert dead == pytest.approx(3 / 6)            # only units 2, 3, 0 fired in the last three batches
    bad = batches[0].copy()
    bad[0, 5] = numpy.inf
    before = window.copy()
    assert probes.activation_numbers(bad, window, 0) is None and (window == before).all()   # NaN/Inf: untouched
    assert probes.all_finite(batches[0]) and not probes.all_finite(bad)


def test_per_sample_norm():
    g = rng.standard_normal((9, 3, 2, 2))
    per_sample = [sum(v * v for v in numpy.ravel(g[n])) for n in range(9)]
    assert probes.per_sample_norm(g) == pytest.approx(math.sqrt(sum(per_sample) / 9))


def test_update_ratio_and_row_spread():
    before, after = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    diff = [(x - y) ** 2 for x, y in zip(numpy.ravel(after), numpy.ravel(before))]
    assert probes.update_ratio(before, after) == pytest.approx(math.sqrt(sum(diff)) / probes.norm(before))
    assert probes.update_ratio(numpy.zeros(3), numpy.zeros(3)) == 0.0
    assert probes.update_ratio(numpy.zeros(3), numpy.ones(3)) == math.inf
    w = rng.standard_normal((5, 2, 3, 3))
    rows = [numpy.ravel(w[i]).tolist() for i in range(5)]
    mean_row = [sum(r[j] for r in rows) / 5 for j in range(len(rows[0]))]
    spread = math.sqrt(sum((r[j] - mean_row[j]) ** 2 for r in rows for j in range(len(r))))
    assert probes.row_spread(w) == pytest.approx(spread / probes.norm(w))
    assert probes.row_spread(numpy.ones((4, 3))) == pytest.approx(0.0, abs=1e-12)
    assert probes.row_spread(numpy.zeros((4, 3))) == 0.0
    with pytest.raises(ValueError, match="row_spread"):
        probes.row_spread(numpy.ones(3))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_saturation_bounds_are_where_the_derivative_is_a_tenth_of_its_peak(activation):
    low, high = probes.saturation_bounds(activation)
    derivative = (lambda f: f * (1 - f)) if activation == "sigmoid" else (lambda f: 1 - f * f)
    peak = 0.25 if activation == "sigmoid" else 1.0
    for bound in (low, high):
        assert derivative(bound) == pytest.approx(probes.SATURATION_DERIVATIVE_SHARE * peak)
    a = rng.uniform(0, 1, (20, 4)) if activation == "sigmoid" else rng.uniform(-1, 1, (20, 4))
    expected = sum(1 for v in numpy.ravel(a) if v <= low or v >= high) / a.size
    assert probes.saturation_share(a, activation) == pytest.approx(expected)
    with pytest.raises(ValueError, match="relu"):
        probes.saturation_bounds("relu")


@pytest.mark.parametrize("a", ARRAYS)
def test_histogram_against_a_loop(a):
    flat = numpy.ravel(a).tolist()
    low, high = min(flat), max(flat)
    expected = [0] * 7
    for v in flat:
        expected[min(int(math.floor((v - low) / (high - low) * 7)), 6)] += 1
    counts, edges = probes.histogram(a, bins=7)
    assert counts.tolist() == expected
    assert edges[0] == pytest.approx(low) and edges[-1] == pytest.approx(high) and len(edges) == 8
    reference, _ = numpy.histogram(a, bins=7)
    assert abs(counts - reference).sum() <= 2         # numpy's own, up to values sitting on an edge


def test_histogram_counts_every_finite_value():
    a = numpy.array([[0.0, 1.0, numpy.nan], [0.5, 0.5, numpy.inf]])
    counts, edges = probes.histogram(a, bins=4)
    assert counts.tolist() == [1, 0, 2, 1] and edges[0] == 0.0 and edges[-1] == 1.0
    counts, _ = probes.histogram(numpy.full((2, 2), 3.0), bins=3)
    assert counts.sum() == 4


def test_loss_trend():
    losses = [2.0] * 10 + [1.0] * 10
    t = probes.loss_trend(losses, window=0.2)
    assert (t["start"], t["end"], t["improvement"]) == (2.0, 1.0, 0.5)
    assert t["roughness"] == 0.0
    zigzag = probes.loss_trend([1.0, 3.0] * 10)
    assert zigzag["roughness"] == pytest.approx(1.0)    # every jump is 2, the level (median of the end) is 2
    blown = probes.loss_trend([1.0, 1.0, float("nan"), float("nan"), float("nan")], window=0.4)
    assert blown["end"] == math.inf and blown["improvement"] == -math.inf


def test_bad_layouts_are_named():
    with pytest.raises(ValueError, match=r"\(batch, units"):
        probes.sample_spread(numpy.ones(5))


def test_schedule():
    s = Schedule(every=10, start=5, stop=40, also=[2])
    assert [k for k in range(60) if s(k)] == [2, 5, 15, 25, 35]
    assert [k for k in range(4) if Schedule(every=1)(k)] == [0, 1, 2, 3]
    for bad in (dict(every=0), dict(every=2.5), dict(start=-1), dict(start=5, stop=2)):
        with pytest.raises(ValueError, match="Schedule"):
            Schedule(**bad)


def test_norm_matches_a_float64_sum_and_survives_float32_overflow():
    a = rng.standard_normal(512 * 37 + 19).astype(numpy.float32)
    exact = math.sqrt(math.fsum(float(v) ** 2 for v in a))
    assert probes.norm(a) == pytest.approx(exact, rel=1e-6)
    big = a * numpy.float32(1e20)   # finite, but the squares overflow float32
    assert probes.norm(big) == pytest.approx(exact * 1e20, rel=1e-6)
    for bad, expected in ((numpy.nan, math.isnan), (numpy.inf, math.isinf)):
        b = a.copy()
        b[1000] = bad
        assert expected(probes.norm(b))


def test_active_units_read_every_value_and_never_count_nan():
    a = numpy.full((3, 2, 2, 2), -1.0)
    a[2, 0, 1, 1] = 0.5          # unit 0 fires once, at one position of one sample
    a[:, 1] = numpy.nan          # unit 1: NaN everywhere (never positive)
    a[0, 1, 0, 0] = -2.0
    assert probes.active_units(a).tolist() == [True, False]
    assert probes.active_units(numpy.array([[numpy.nan, 1.0], [2.0, numpy.nan]])).tolist() == [True, True]


@pytest.mark.parametrize("shape", [(50, 4), (20, 3, 5, 6), (7, 40, 9)])
def test_sample_rows_are_whole_rows_of_the_units_last_layout(shape):
    a = rng.standard_normal(shape)
    everything = rows_of(a)
    assert probes.sample_rows(a, 10 ** 6).tolist() == everything   # all rows fit: all of them, in order
    assert probes.sample_rows(a, None).tolist() == everything
    rows = probes.sample_rows(a, 60)
    assert rows.shape[1] == shape[1]
    assert 2 <= rows.shape[0] and rows.size <= max(60, 2 * shape[1])
    as_lists = rows.tolist()
    assert all(r in everything for r in as_lists)                   # whole rows, each a real one
    assert len({tuple(r) for r in as_lists}) == len(as_lists)       # no row twice
    assert numpy.array_equal(probes.sample_rows(a * 2, 60), rows * 2)   # the same rows every step
    assert probes.sample_rows(a, 1).shape[0] >= 2                   # at least two rows (spreads need them)


def test_sample_rows_take_every_s_th_sample_whole_or_two_samples_thinned():
    a = rng.standard_normal((100, 10))
    assert probes.sample_rows(a, 250).tolist() == a[::4].tolist()   # 25 samples fit: every 4th (25 kept)
    images = rng.standard_normal((8, 3, 10, 10))                      # 300 values a sample
    rows = probes.sample_rows(images, 200)                            # not even one sample fits
    picked = images[[0, 4]].reshape(2, 3, 100)[:, :, ::3]             # first and middle, every 3rd position
    assert rows.tolist() == numpy.moveaxis(picked, 1, -1).reshape(-1, 3).tolist()


def test_summary_against_loops_in_float32_and_float64():
    a = rng.standard_normal((30, 8, 3, 3)) * 2 + 0.5
    low_tail, high_tail = probes.saturation_bounds("tanh")
    for dtype in (numpy.float64, numpy.float32):
        x = a.astype(dtype)
        s = probes.summary(x, bins=9, activation="tanh")
        flat = numpy.ravel(x).astype(numpy.float64).tolist()
        scale = slow_rms(flat)
        assert s.mean == pytest.approx(sum(flat) / len(flat), rel=1e-6)
        assert s.std == pytest.approx(slow_std(flat), rel=1e-6) and s.rms == pytest.approx(scale, rel=1e-6)
        by_unit, rows = units_of(x), rows_of(x)
        assert s.sample_spread == pytest.approx(sum(map(slow_std, by_unit)) / len(by_unit) / scale, rel=1e-6)
        assert s.unit_spread == pytest.approx(sum(map(slow_std, rows)) / len(rows) / scale, rel=1e-6)
        assert s.saturation == pytest.approx(sum(v <= low_tail or v >= high_tail for v in flat) / len(flat))
        low, high = min(flat), max(flat)
        expected = [0] * 9
        for v in flat:
            expected[min(int(math.floor((v - low) / (high - low) * 9)), 8)] += 1
        counts, edges = s.histogram                                     # unpacks as (counts, edges)
        assert counts.tolist() == expected and edges[0] == pytest.approx(low) and edges[-1] == pytest.approx(high)


def test_active_and_finite_flags_every_nan_and_inf():
    a = numpy.abs(rng.standard_normal((5, 4, 3))).astype(numpy.float32) + 1
    a[:, 2] = -1.0                                                   # unit 2 never fires
    assert probes.active_and_finite(a)[0].tolist() == [True, True, False, True]
    assert probes.active_and_finite(a)[1]
    for bad in (numpy.nan, numpy.inf, -numpy.inf):
        b = a.copy()
        b[3, 1, 2] = bad
        active, finite = probes.active_and_finite(b)
        assert not finite and active.tolist() == [True, True, False, True]


def test_weight_numbers_in_one_read_against_loops():
    before, after = rng.standard_normal((6, 5, 3)), rng.standard_normal((6, 5, 3))
    size, spread, ratio = probes.weight_numbers(before, after)
    rows = [numpy.ravel(before[i]).tolist() for i in range(6)]
    mean_row = [sum(r[j] for r in rows) / 6 for j in range(15)]
    exact = math.sqrt(sum(v * v for r in rows for v in r))
    assert size == pytest.approx(exact)
    assert spread == pytest.approx(math.sqrt(sum((r[j] - mean_row[j]) ** 2 for r in rows for j in range(15))) / exact)
    step = math.sqrt(sum((x - y) ** 2 for x, y in zip(numpy.ravel(after), numpy.ravel(before))))
    assert ratio == pytest.approx(step / exact)
    assert probes.weight_numbers(before)[2] == 0.0
    assert probes.weight_numbers(numpy.zeros((3, 2)), numpy.ones((3, 2))) == (0.0, 0.0, math.inf)


def test_probability_rows_against_a_loop():
    p = rng.dirichlet(numpy.ones(5), size=8)
    cases = [p, p.astype(numpy.float32), p * 1.01, numpy.vstack([p, [[-0.1, 0.3, 0.3, 0.3, 0.2]]]),
             numpy.vstack([p, [[numpy.nan, 0.25, 0.25, 0.25, 0.25]]]), numpy.zeros((0, 5)),
             numpy.full((3, 4), 0.25 + probes.PROBABILITY_TOLERANCE / 8)]
    for a in cases:
        rows = numpy.asarray(a, dtype=numpy.float64).tolist()
        expected = bool(rows) and all(all(v >= 0 for v in r) and abs(math.fsum(r) - 1) <= probes.PROBABILITY_TOLERANCE
                                      for r in rows)
        assert probes.probability_rows(a) is expected
    with pytest.raises(ValueError, match=r"\(batch, classes\)"):
        probes.probability_rows(numpy.ones(3))


def test_moments_of_a_subset_are_those_of_the_rows_sample_rows_picks():
    a = rng.standard_normal((40, 3, 7, 7)).astype(numpy.float32)
    picked = probes.sample_rows(a, 600).astype(numpy.float64).ravel().tolist()
    mean, std, scale = probes.moments(a, 600)
    assert mean == pytest.approx(sum(picked) / len(picked), rel=1e-6)
    assert std == pytest.approx(slow_std(picked), rel=1e-6) and scale == pytest.approx(slow_rms(picked), rel=1e-6)
    assert probes.moments(a)[1] == pytest.approx(probes.mean_std(a)[1])


def test_weight_sample_takes_the_same_spread_places_and_estimates_the_update_ratio():
    w = rng.standard_normal((100, 784)).astype(numpy.float32)
    sample = probes.weight_sample(w, 4096)
    assert sample.tolist() == w.ravel()[::20].tolist()                 # every 20th: 3920 values over every unit
    assert probes.weight_sample(w[:2, :3], 4096).tolist() == w[:2, :3].ravel().tolist()   # small: all of them
    step = rng.standard_normal(w.shape).astype(numpy.float32) * 1e-3
    step[:, :100] = 0                                                   # inputs that never move (MNIST's borders)
    after = w + step
    whole = probes.update_ratio(w, after)
    estimate = probes.update_ratio(sample, probes.weight_sample(after, 4096))
    assert estimate == pytest.approx(whole, rel=0.05)
