"""Runs over several seeds: the 80% rule, the per-seed numbers, independence from the worker count, and
that a deliberately broken configuration still fails across seeds."""
from __future__ import annotations

import json

import numpy
import pytest

from gradkit.cli import main
from gradkit.lab import aggregate
from gradkit.lab.registry import Verdict
from gradkit.lab.runner import jsonable, run_experiment
from gradkit.lab.seeds import band_plots, parse_seeds, run_seeds


@pytest.mark.parametrize("held, seeds, passed", [(5, 5, True), (4, 5, True), (3, 5, False), (3, 3, True),
                                                 (2, 3, False), (8, 10, True), (7, 10, False), (1, 1, True),
                                                 (0, 1, False), (16, 20, True), (15, 20, False)])
def test_a_claim_holds_in_at_least_80_percent_of_the_seeds(held, seeds, passed):
    assert aggregate.decide(held, seeds) is passed
    assert (held >= aggregate.needed(seeds)) is passed


def test_decide_refuses_impossible_counts():
    with pytest.raises(ValueError, match="held <= seeds"):
        aggregate.decide(6, 5)
    with pytest.raises(ValueError, match="seeds >= 1"):
        aggregate.decide(0, 0)


def _v(claim, passed, *numbers):
    return Verdict(claim, passed, "m", "e", tuple(numbers))


def test_verdicts_are_decided_on_the_per_seed_checks():
    per_seed = {s: [_v("four of five", s != 3), _v("three of five", s < 3), _v("only in some", True)]
                for s in range(5)}
    per_seed[4] = per_seed[4][:2]           # seed 4's check did not report the third claim: not held there
    out = {d["verdict"].claim: d for d in aggregate.verdicts(per_seed)}
    assert out["four of five"]["verdict"].passed and out["four of five"]["held"] == [0, 1, 2, 4]
    assert out["four of five"]["verdict"].measured.startswith("held in 4/5 seeds (0, 1, 2, 4)")
    assert not out["three of five"]["verdict"].passed and out["three of five"]["failed"] == [3, 4]
    assert out["only in some"]["verdict"].passed and out["only in some"]["held"] == [0, 1, 2, 3]
    assert "at least 80% of the seeds (here at least 4 of 5)" in out["four of five"]["verdict"].expected


def test_a_comparison_gets_mean_spread_and_a_bootstrap_interval_of_the_difference():
    values = numpy.random.default_rng(1).normal(size=(2, 12))
    a, b = list(values[0]), list(values[1] + 2.0)
    per_seed = {s: [_v("b beats a", True, ("a", a[s]), ("b", b[s]))] for s in range(12)}
    (d,) = aggregate.verdicts(per_seed)
    diff = numpy.subtract(b, a)
    assert d["numbers"]["a"]["mean"] == pytest.approx(numpy.mean(a)) and d["numbers"]["a"]["min"] == min(a)
    assert d["numbers"]["b"]["std"] == pytest.approx(numpy.std(b, ddof=1))
    assert d["difference"]["of"] == "b - a" and d["difference"]["mean"] == pytest.approx(diff.mean())
    # the percentile bootstrap, written out slowly: the same fixed generator draws the same resamples
    rng = numpy.random.default_rng(aggregate.BOOTSTRAP_SEED)
    picks = rng.integers(0, 12, (aggregate.RESAMPLES, 12))
    means = sorted(sum(diff[i] for i in row) / 12 for row in picks)
    low, high = d["difference"]["interval"]
    assert low == pytest.approx(numpy.percentile(means, 2.5), rel=1e-12)
    assert high == pytest.approx(numpy.percentile(means, 97.5), rel=1e-12)
    assert diff.min() <= low < diff.mean() < high <= diff.max()
    assert d["difference"]["excludes_zero"] == bool(low > 0 or high < 0)
    assert aggregate.verdicts(per_seed)[0]["difference"] == d["difference"]  # fixed bootstrap seed: repeatable
    text = d["verdict"].measured
    assert "held in 12/12 seeds" in text and f"95% bootstrap interval [{low:.4g}, {high:.4g}]" in text


def test_bootstrap_interval_of_constant_values_is_that_value_and_nan_gives_nan():
    assert aggregate.bootstrap_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)
    assert all(numpy.isnan(aggregate.bootstrap_interval([1.0, float("nan")])))


def test_mean_results_averages_numbers_and_keeps_the_rest():
    seeds = [{"loss": [1.0, 2.0, 3.0], "steps": [10, 20, 30], "name": "a", "arr": numpy.array([1.0, 3.0]),
              "final": 1.0, "ragged": [1.0], "flag": True, "tables": [{"rows": [["sgd", 1.0]]}]},
             {"loss": [3.0, 4.0, 7.0], "steps": [10, 20, 30], "name": "b", "arr": numpy.array([3.0, 5.0]),
              "final": 2.0, "ragged": [1.0, 2.0], "flag": False, "tables": [{"rows": [["sgd", 3.0]]}]}]
    bands = aggregate.Bands()
    mean = aggregate.mean_results(seeds, bands)
    assert mean["loss"] == [2.0, 3.0, 5.0] and mean["steps"] == [10, 20, 30] and mean["name"] == "a"
    assert numpy.array_equal(mean["arr"], [2.0, 4.0]) and mean["final"] == 1.5
    assert mean["ragged"] == [1.0] and mean["flag"] is True and mean["tables"] == [{"rows": [["sgd", 2.0]]}]
    low, high = bands.find([2.0, 3.0, 5.0])
    assert list(low) == [1.0, 2.0, 3.0] and list(high) == [3.0, 4.0, 7.0]
    assert bands.find([10, 20, 30]) is None  # equal in every seed: no band


def test_band_is_drawn_around_an_averaged_curve_only(tmp_path):
    from gradkit.lab import plotting
    bands = aggregate.Bands()
    aggregate.mean_results([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]], bands)
    fig, (ax,) = plotting.figure(1)
    with band_plots(bands) as banded:
        ax.plot([0, 1, 2], [2.0, 3.0, 4.0])          # the averaged series: band
        ax.plot([0, 1, 2], [2.0, 3.0, 4.5])          # something else: no band
    assert len(ax.collections) == 1 and banded == [1]
    (path,) = ax.collections[0].get_paths()
    assert path.vertices[:, 1].min() == pytest.approx(1.0) and path.vertices[:, 1].max() == pytest.approx(5.0)
    plotting.save(fig, tmp_path, "x")


@pytest.mark.parametrize("text, first, seeds", [("5", 0, [0, 1, 2, 3, 4]), ("3", 7, [7, 8, 9]),
                                                ("0,3,7", 0, [0, 3, 7]), ("1", 4, [4])])
def test_parse_seeds(text, first, seeds):
    assert parse_seeds(text, first) == seeds


@pytest.mark.parametrize("text", ["0", "-2", "x", "0,0", "1,-1", ","])
def test_parse_seeds_refuses_bad_lists(text):
    with pytest.raises(ValueError, match="--seeds"):
        parse_seeds(text)


def _per_seed_results(outcome_folder):
    with open(outcome_folder / "results.json") as f:
        record = json.load(f)
    return record, {s["seed"]: json.dumps(s["results"], sort_keys=True) for s in record["seeds"]}


def test_results_do_not_depend_on_the_worker_count(tmp_path):
    names = ["optimizer-paths", "zero-init"]
    one = run_seeds(names, str(tmp_path / "one"), [0, 5], size="tiny", workers=1, echo=lambda *_: None)
    two = run_seeds(names, str(tmp_path / "two"), [0, 5], size="tiny", workers=2, echo=lambda *_: None)
    for name, a, b in zip(names, one, two):
        record, first = _per_seed_results(tmp_path / "one" / name)
        _, second = _per_seed_results(tmp_path / "two" / name)
        assert first == second, f"{name}: per-seed results differ between 1 and 2 workers"
        assert [s["seed"] for s in record["seeds"]] == [0, 5] and record["seed"] == [0, 5]
        assert [v.to_dict() for v in a.verdicts] == [v.to_dict() for v in b.verdicts]
        assert json.dumps(a.results, sort_keys=True) == json.dumps(b.results, sort_keys=True)
        # each seed's numbers are those of a run with that seed alone
        alone = run_experiment(name, str(tmp_path / "alone"), size="tiny", seed=5, plot=False)
        assert first[5] == json.dumps(jsonable(alone.results), sort_keys=True)
        assert "seeds.png" in record["figures"]


@pytest.mark.parametrize("name", ["optimizer-paths", "weight-decay"])
def test_a_broken_configuration_still_fails_across_seeds(name, tmp_path):
    (outcome,) = run_seeds([name], str(tmp_path), [0, 1, 2], size="broken", workers=1, echo=lambda *_: None)
    failed = [v for v in outcome.verdicts if not v.passed]
    assert failed, f"{name}: the broken configuration passed every claim over three seeds"
    assert all("held in" in v.measured for v in failed)


def test_cli_runs_several_seeds_and_keeps_one_seed_as_before(tmp_path, capsys):
    out = tmp_path / "many"
    assert main(["lab", "run", "optimizer-paths", "--quick", "--seeds", "0,2", "--workers", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "PASS  optimizer-paths  (2 seeds" in text and "held in 2/2 seeds" in text
    record = json.loads((out / "optimizer-paths" / "results.json").read_text())
    assert [s["seed"] for s in record["seeds"]] == [0, 2] and all(s["results"] for s in record["seeds"])
    assert "held in seeds" in (out / "report.html").read_text()
    single = tmp_path / "single"
    assert main(["lab", "run", "optimizer-paths", "--quick", "--seeds", "1", "--seed", "3", "--out", str(single)]) == 0
    record = json.loads((single / "optimizer-paths" / "results.json").read_text())
    assert record["seed"] == 3 and "seeds" not in record
    capsys.readouterr()
    assert main(["lab", "run", "optimizer-paths", "--seeds", "0,0"]) == 2
    assert "--seeds: need distinct seeds" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["lab", "run", "optimizer-paths", "--seeds", "2", "--workers", "0"])
    assert exit_.value.code == 2 and "--workers" in capsys.readouterr().err
