"""Every registered experiment, in its tiny configuration: it runs, plots, checks, writes results.json,
is deterministic, and its deliberately broken configuration makes its check FAIL."""
from __future__ import annotations

import dataclasses
import json
import os

import pytest

from gradkit import lab
from gradkit.cli import main
from gradkit.lab import registry, verdicts
from gradkit.lab.runner import run_experiment

NAMES = lab.names()


def test_registry_lists_every_experiment_once_in_order():
    assert len(NAMES) == len(set(NAMES))
    orders = [lab.get(n).order for n in NAMES]
    assert orders == sorted(orders)
    assert NAMES[0] == "optimizer-paths"


@pytest.mark.parametrize("name", NAMES)
def test_experiment_declares_every_size(name):
    exp = lab.get(name)
    for size in ("config", "quick", "tiny", "broken"):
        value = getattr(exp, size)
        assert value is not None, f"{name} has no {size} config"
        assert dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, dataclasses.fields(value)[0].name, None)
    assert exp.title and exp.source and exp.summary, f"{name}: title, source and summary (docstring) needed"


@pytest.mark.parametrize("name", NAMES)
def test_tiny_run_writes_results_figures_and_verdicts(name, tmp_path):
    outcome = run_experiment(name, str(tmp_path), size="tiny", seed=3)
    assert outcome.verdicts, f"{name}: check() returned no verdicts"
    for v in outcome.verdicts:
        assert isinstance(v, lab.Verdict) and v.claim and v.measured and v.expected
    assert outcome.figures, f"{name}: plot() wrote no figure"
    for figure in outcome.figures:
        path = os.path.join(outcome.folder, figure)
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with open(os.path.join(outcome.folder, "results.json")) as f:
        record = json.load(f)
    assert record["experiment"] == name and record["size"] == "tiny" and record["seed"] == 3
    assert [v["status"] for v in record["verdicts"]] == [v.status for v in outcome.verdicts]
    # the same seed gives the same numbers
    again = run_experiment(name, str(tmp_path / "again"), size="tiny", seed=3, plot=False)
    assert json.dumps(again.results, sort_keys=True) == json.dumps(outcome.results, sort_keys=True)


@pytest.mark.parametrize("name", NAMES)
def test_broken_configuration_fails_its_check(name, tmp_path):
    outcome = run_experiment(name, str(tmp_path), size="broken", plot=False)
    failed = [v.claim for v in outcome.verdicts if not v.passed]
    assert failed, f"{name}: the deliberately broken configuration passed every check"


def test_report_gathers_runs(tmp_path):
    run_experiment("optimizer-paths", str(tmp_path), size="tiny")
    run_experiment("optimizer-paths", str(tmp_path / "other"), size="tiny")
    path = lab.write_report(str(tmp_path))
    text = open(path, encoding="utf-8").read()
    assert "optimizer-paths" in text and '<img src="optimizer-paths/paths.png"' in text
    assert "PASS" in text or "FAIL" in text


def test_report_of_an_empty_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no experiment results"):
        lab.write_report(str(tmp_path))


def test_report_names_a_corrupt_results_file(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "results.json").write_text("{not json")
    with pytest.raises(ValueError, match="results.json is not valid JSON"):
        lab.write_report(str(tmp_path))


def test_configure_overrides_only_known_fields():
    exp = lab.get("optimizers")
    config = exp.configure("quick", data="fashion-mnist", not_a_field=1, batch_size=None)
    assert config.data == "fashion-mnist" and config.batch_size == exp.quick.batch_size
    with pytest.raises(ValueError, match="no 'huge' config"):
        exp.configure("huge")


def test_unknown_experiment_is_named():
    with pytest.raises(KeyError, match="no lab experiment called 'nope'; known: optimizer-paths"):
        lab.get("nope")


def test_registering_a_mutable_config_is_refused():
    @dataclasses.dataclass
    class Mutable:
        x: int = 1

    with pytest.raises(TypeError, match="frozen dataclass"):
        registry.experiment("mutable", title="t", source="s", order=99, config=Mutable(), quick=Mutable(),
                            tiny=Mutable(), run=None, plot=None, check=None)


def test_verdict_helpers_fail_on_nan_and_report_numbers():
    nan = float("nan")
    assert not verdicts.at_most("c", nan, 1.0, "e").passed
    assert not verdicts.at_least("c", nan, 1.0, "e").passed
    assert not verdicts.less("c", "a", nan, "b", 1.0, "e").passed
    v = verdicts.ranking("c", {"sgd": 0.9, "adam": 0.1, "bad": nan}, "e", highest="sgd")
    assert v.passed and "adam 0.1" in v.measured
    assert not verdicts.ranking("c", {"sgd": nan, "adam": 0.1}, "e", highest="sgd").passed


def test_cli_list_and_run(tmp_path, capsys):
    assert main(["lab", "list"]) == 0
    assert "optimizer-paths" in capsys.readouterr().out
    code = main(["lab", "run", "optimizer-paths", "--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "PASS  optimizer-paths" in out and (tmp_path / "report.html").exists()
    assert main(["lab", "run", "nope"]) == 2
    assert "no lab experiment called 'nope'" in capsys.readouterr().err
    assert main(["lab", "run", "optimizer-paths", "--data", "cifar"]) == 2


def test_smooth_is_the_trailing_moving_average():
    from gradkit.lab.common import smooth
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]
    slow = [sum(values[max(0, i + 1 - 3):i + 1]) / len(values[max(0, i + 1 - 3):i + 1]) for i in range(len(values))]
    assert smooth(values, 3) == pytest.approx(slow)
    assert smooth(values, 100) == pytest.approx([sum(values[:i + 1]) / (i + 1) for i in range(len(values))])
    assert smooth([], 5) == []
