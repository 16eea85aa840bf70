"""Search spaces: named dimensions (log-uniform, uniform, integer, categorical) and narrowing.

    >>> space = {"lr": LogUniform(1e-6, 1e-2), "weight_decay": LogUniform(1e-8, 1e-4)}
    >>> parse_space({"lr": "1e-6:1e-2:log", "momentum": {"type": "uniform", "low": 0.5, "high": 0.99}})["momentum"]
    Uniform(low=0.5, high=0.99)

A dimension suggests its value through an Optuna trial (``dim.suggest(trial, name)``); Optuna itself
is imported only by the code that runs a search.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

from ..errors import ArgumentError, FileError, MissingFileError


def _check_bounds(kind: str, low, high, positive: bool = False) -> None:
    for label, value in (("low", low), ("high", high)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ArgumentError(f"{kind}: {label} must be a finite number, got {value!r}")
    if low > high:
        raise ArgumentError(f"{kind}: need low <= high, got low={low}, high={high}")
    if positive and low <= 0:
        raise ArgumentError(f"{kind}: a log scale needs low > 0, got low={low}")


@dataclass(frozen=True)
class LogUniform:
    """x = 10^u with u ~ U(log10 low, log10 high): the book's sampling of learning rate and weight decay."""
    low: float
    high: float

    def __post_init__(self):
        _check_bounds("LogUniform", self.low, self.high, positive=True)

    def suggest(self, trial, name: str):
        return trial.suggest_float(name, self.low, self.high, log=True)

    def to_json(self) -> dict:
        return {"type": "log", "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Uniform:
    """x ~ U(low, high)."""
    low: float
    high: float

    def __post_init__(self):
        _check_bounds("Uniform", self.low, self.high)

    def suggest(self, trial, name: str):
        return trial.suggest_float(name, self.low, self.high)

    def to_json(self) -> dict:
        return {"type": "uniform", "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Int:
    """An integer in [low, high] (both included), on a log scale if ``log``."""
    low: int
    high: int
    log: bool = False

    def __post_init__(self):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high)):
            raise ArgumentError(f"Int: low and high must be integers, got low={self.low!r}, high={self.high!r}")
        _check_bounds("Int", self.low, self.high, positive=self.log)

    def suggest(self, trial, name: str):
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def to_json(self) -> dict:
        return {"type": "int", "low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True)
class Categorical:
    """One of ``choices`` (None, bool, int, float or str, as Optuna stores them)."""
    choices: tuple

    def __post_init__(self):
        object.__setattr__(self, "choices", tuple(self.choices))
        if not self.choices:
            raise ArgumentError("Categorical: needs at least one choice")
        bad = [c for c in self.choices if c is not None and not isinstance(c, (bool, int, float, str))]
        if bad:
            raise ArgumentError(f"Categorical: choices must be None, bool, int, float or str, got {bad!r}")

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.choices))

    def to_json(self) -> dict:
        return {"type": "categorical", "choices": list(self.choices)}


DIMENSIONS = (LogUniform, Uniform, Int, Categorical)


def suggest(space: dict, trial) -> dict:
    """Ask ``trial`` for one value of every dimension of ``space``, in the space's order."""
    return {name: dim.suggest(trial, name) for name, dim in space.items()}


def _number(text: str, name: str):
    try:
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise ArgumentError(f"space: {name}: {text!r} is not a number") from None


def parse_range(name: str, text: str):
    """A dimension from a flag: ``LOW:HIGH`` (uniform), ``LOW:HIGH:log``, ``LOW:HIGH:int``,
    ``LOW:HIGH:int-log`` or ``a,b,c`` (categorical)."""
    text = text.strip()
    if ":" not in text:
        if not text:
            raise ArgumentError(f"space: {name}: empty range")
        return Categorical(tuple(_number(c, name) if _is_number(c) else c for c in text.split(",")))
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise ArgumentError(f"space: {name}: expected LOW:HIGH[:log|int|int-log], got {text!r}")
    kind = parts[2] if len(parts) == 3 else "uniform"
    low, high = _number(parts[0], name), _number(parts[1], name)
    makers = {"uniform": lambda: Uniform(float(low), float(high)), "log": lambda: LogUniform(float(low), float(high)),
              "int": lambda: Int(low, high), "int-log": lambda: Int(low, high, log=True)}
    if kind not in makers:
        raise ArgumentError(f"space: {name}: scale must be one of {', '.join(makers)}, got {kind!r}")
    try:
        return makers[kind]()
    except ValueError as error:
        raise ArgumentError(f"space: {name}: {error}") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _from_json(name: str, spec):
    if isinstance(spec, str):
        return parse_range(name, spec)
    if isinstance(spec, list):
        return Categorical(tuple(spec))
    if not isinstance(spec, dict) or "type" not in spec:
        raise ArgumentError(f"space: {name}: expected a range string, a list of choices or a dict with 'type', got {spec!r}")
    spec = dict(spec)
    kind = spec.pop("type")
    makers = {"log": LogUniform, "uniform": Uniform, "int": Int, "categorical": Categorical}
    if kind not in makers:
        raise ArgumentError(f"space: {name}: type must be one of {', '.join(makers)}, got {kind!r}")
    if kind == "categorical":
        spec["choices"] = tuple(spec.get("choices", ()))
    try:
        return makers[kind](**spec)
    except TypeError as error:
        raise ArgumentError(f"space: {name}: {error}") from None
    except ValueError as error:
        raise ArgumentError(f"space: {name}: {error}") from None


def parse_space(spec: dict) -> dict:
    """A space from JSON-like data: ``{name: "1e-6:1e-2:log" | [choices] | {"type": ..., ...}}``."""
    if not isinstance(spec, dict) or not spec:
        raise ArgumentError(f"space: expected a non-empty mapping of names to ranges, got {spec!r}")
    return {str(name): (dim if isinstance(dim, DIMENSIONS) else _from_json(str(name), dim)) for name, dim in spec.items()}


def load_space(path: str) -> dict:
    """A space from a JSON file (see :func:`parse_space`)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise MissingFileError(f"space: {path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FileError(f"space: {path} is not valid JSON: {error}") from None
    except OSError as error:
        raise FileError(f"space: {path}: cannot read: {error.strerror or error}") from None
    return parse_space(data)


def _whole(v, low):
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


# what each known hyperparameter's values must be: (description, test)
LIMITS = {
    "lr": ("a number > 0", lambda v: v > 0),
    "weight_decay": ("a number >= 0", lambda v: v >= 0),
    "momentum": ("a number in [0, 1)", lambda v: 0 <= v < 1),
    "dropout": ("a number in [0, 1)", lambda v: 0 <= v < 1),
    "batch_size": ("a whole number >= 1", lambda v: _whole(v, 1)),
    "width": ("a whole number >= 1", lambda v: _whole(v, 1)),
    "depth": ("a whole number >= 0", lambda v: _whole(v, 0)),
}


def check_values(space: dict, labels: dict | None = None) -> dict:
    """``space`` when every value it can draw suits its hyperparameter (LIMITS), else ArgumentError
    naming the flag (``labels[name]``, e.g. ``--lr``) or the dimension, and the value."""
    labels = labels or {}
    for name, dim in space.items():
        if name not in LIMITS:
            continue
        what, test = LIMITS[name]
        values = dim.choices if isinstance(dim, Categorical) else (dim.low, dim.high)
        label = labels.get(name, f"space: {name}")
        for v in values:
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise ArgumentError(f"{label}: {v!r} is not a number; expected {what}")
            if not test(v):
                raise ArgumentError(f"{label}: {v!r} must be {what}")
    return space


def space_to_json(space: dict) -> dict:
    return {name: dim.to_json() for name, dim in space.items()}


def _record(trial):
    """(state, value, params) of an Optuna FrozenTrial or of a dict with those keys."""
    if isinstance(trial, dict):
        return trial.get("state", "COMPLETE"), trial.get("value"), trial.get("params", {})
    state = getattr(trial.state, "name", trial.state)
    return state, trial.value, trial.params


def narrow(trials, space: dict, top_k: int = 5, maximize: bool = True) -> dict:
    """The book's second round: bounds spanned by the ``top_k`` best complete trials.

    Numeric dimensions keep their kind (a log range stays log) with new bounds [min, max] of the
    top trials' values; a categorical keeps the choices those trials used.

    Args:
        trials: Optuna FrozenTrials (``study.trials``) or dicts with ``params``, ``value``, ``state``.
        space: the space the trials were drawn from.
        top_k: how many of the best trials set the new bounds (>= 1).
        maximize: True when a larger value is better (accuracy).
    """
    if not isinstance(top_k, int) or top_k < 1:
        raise ArgumentError(f"narrow: top_k must be an int >= 1, got {top_k!r}")
    done = [(value, params) for state, value, params in map(_record, trials)
            if state == "COMPLETE" and value is not None and math.isfinite(value)]
    if not done:
        raise ArgumentError("narrow: no complete trial with a finite value to narrow the space around")
    done.sort(key=lambda vp: vp[0], reverse=maximize)
    best = [params for _, params in done[:top_k]]
    narrowed = {}
    for name, dim in space.items():
        values = [p[name] for p in best if name in p]
        if not values:
            raise ArgumentError(f"narrow: none of the top {top_k} trials has a value for {name!r}")
        if isinstance(dim, Categorical):
            narrowed[name] = Categorical(tuple(c for c in dim.choices if c in values))
        elif isinstance(dim, Int):
            narrowed[name] = Int(int(min(values)), int(max(values)), log=dim.log)
        else:
            narrowed[name] = type(dim)(float(min(values)), float(max(values)))
    return narrowed
