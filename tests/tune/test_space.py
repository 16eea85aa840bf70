"""Search spaces: construction errors, parsing from flags and JSON, and narrowing around the best trials."""
import json

import pytest

from gradkit.tune import Categorical, Int, LogUniform, Uniform, load_space, narrow, parse_range, parse_space


def test_dimensions_reject_bad_bounds_naming_them():
    with pytest.raises(ValueError, match="LogUniform: a log scale needs low > 0, got low=0"):
        LogUniform(0, 1e-2)
    with pytest.raises(ValueError, match=r"Uniform: need low <= high, got low=2, high=1"):
        Uniform(2, 1)
    with pytest.raises(ValueError, match="Int: low and high must be integers"):
        Int(1.5, 4)
    with pytest.raises(ValueError, match="high must be a finite number"):
        Uniform(0, float("inf"))
    with pytest.raises(ValueError, match="Categorical: needs at least one choice"):
        Categorical(())
    with pytest.raises(ValueError, match="choices must be None, bool, int, float or str"):
        Categorical(([1, 2],))


def test_parse_range_reads_every_form():
    assert parse_range("lr", "1e-6:1e-2:log") == LogUniform(1e-6, 1e-2)
    assert parse_range("m", "0:0.99") == Uniform(0.0, 0.99)
    assert parse_range("width", "16:256:int") == Int(16, 256)
    assert parse_range("batch", "8:512:int-log") == Int(8, 512, log=True)
    assert parse_range("optimizer", "sgd,adam") == Categorical(("sgd", "adam"))
    assert parse_range("batch_size", "32,64") == Categorical((32, 64))


@pytest.mark.parametrize("text, message", [
    ("1e-6:1e-2:cubic", "scale must be one of"),
    ("a:1", "'a' is not a number"),
    ("1:2:3:4", "expected LOW:HIGH"),
    ("0:1:log", "lr: LogUniform: a log scale needs low > 0"),
    ("", "empty range"),
])
def test_parse_range_errors_name_the_dimension(text, message):
    with pytest.raises(ValueError, match=message):
        parse_range("lr", text)


def test_parse_and_load_space_from_json(tmp_path):
    spec = {"lr": "1e-6:1e-2:log", "weight_decay": {"type": "log", "low": 1e-8, "high": 1e-4},
            "optimizer": ["sgd", "adam"], "depth": {"type": "int", "low": 2, "high": 8}}
    path = tmp_path / "space.json"
    path.write_text(json.dumps(spec))
    space = load_space(str(path))
    assert space == {"lr": LogUniform(1e-6, 1e-2), "weight_decay": LogUniform(1e-8, 1e-4),
                     "optimizer": Categorical(("sgd", "adam")), "depth": Int(2, 8)}
    with pytest.raises(ValueError, match="type must be one of"):
        parse_space({"lr": {"type": "normal", "low": 0, "high": 1}})
    with pytest.raises(ValueError, match="non-empty mapping"):
        parse_space({})
    with pytest.raises(ValueError, match="lr: Uniform.__init__.. got an unexpected keyword argument 'hi'"):
        parse_space({"lr": {"type": "uniform", "low": 0, "hi": 1}})
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_space(str(path))


def test_narrow_takes_the_bounds_of_the_top_k_complete_trials():
    space = {"lr": LogUniform(1e-6, 1e-2), "width": Int(10, 200), "act": Categorical(("relu", "tanh", "elu"))}
    trials = [
        {"value": 0.90, "params": {"lr": 3e-3, "width": 120, "act": "relu"}},
        {"value": 0.80, "params": {"lr": 1e-3, "width": 60, "act": "tanh"}},
        {"value": 0.95, "params": {"lr": 5e-3, "width": 150, "act": "relu"}},
        {"value": 0.10, "params": {"lr": 1e-6, "width": 10, "act": "elu"}},
        {"value": 0.99, "state": "PRUNED", "params": {"lr": 1e-5, "width": 11, "act": "elu"}},   # not complete
        {"value": float("nan"), "params": {"lr": 1e-2, "width": 200, "act": "elu"}},
    ]
    narrowed = narrow(trials, space, top_k=3)
    assert narrowed == {"lr": LogUniform(1e-3, 5e-3), "width": Int(60, 150), "act": Categorical(("relu", "tanh"))}
    # minimising: the top trials are the smallest values
    assert narrow(trials, space, top_k=1, maximize=False)["lr"] == LogUniform(1e-6, 1e-6)


def test_narrow_refuses_what_it_cannot_do():
    space = {"lr": LogUniform(1e-6, 1e-2)}
    with pytest.raises(ValueError, match="top_k must be an int >= 1"):
        narrow([{"value": 1.0, "params": {"lr": 1e-3}}], space, top_k=0)
    with pytest.raises(ValueError, match="no complete trial"):
        narrow([{"value": 1.0, "state": "FAIL", "params": {"lr": 1e-3}}], space)
    with pytest.raises(ValueError, match="none of the top 1 trials has a value for 'lr'"):
        narrow([{"value": 1.0, "params": {"momentum": 0.5}}], space, top_k=1)
