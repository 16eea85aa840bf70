"""Optimizer: parameter groups, per-parameter state, ``step`` and a ``state_dict`` that round-trips.

An optimiser holds its parameters in *groups* (each a dict of ``"params"`` and hyperparameters) and
its memory in ``state``, a dict keyed by the parameter Tensor itself. A first-order optimiser only
writes ``update(param, grad, state, group)``: one small in-place change of one parameter's array,
the shape Keras's ``update_step`` and PyTorch's ``_single_tensor_*`` functions have.

The state dict is plain data: numbers, strings, lists and dicts, plus NumPy arrays; parameters are
named by their index in the order the groups list them, as in PyTorch.
"""
from __future__ import annotations

import math
import numbers

import numpy

from ..autograd import Tensor, enable_grad, no_grad


def check_range(owner: str, name: str, value, low: float = 0.0, high: float = math.inf,
                low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a Python float, or a ValueError that names the hyperparameter and its range.

    Python floats (never NumPy float64 scalars) keep float32 parameters float32 under NumPy 2's
    promotion rules, so every numeric hyperparameter passes through here.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a real number, got {value!r}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high or math.isnan(value):
        span = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open or high == math.inf else ']'}"
        raise ValueError(f"{owner}: invalid {name} = {value!r}; allowed range is {span}")
    return value


def check_count(owner: str, name: str, value, low: int = 1) -> int:
    """``value`` as an int >= ``low``, or a ValueError that names it and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: invalid {name} = {value!r}; expected an integer >= {low}")
    return int(value)


def check_betas(owner: str, betas) -> tuple:
    """Two coefficients, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), each in [0, 1), got {betas!r}")
    return tuple(check_range(owner, f"betas[{i}] (beta{i + 1})", b, 0.0, 1.0, high_open=True)
                 for i, b in enumerate(betas))


class Optimizer:
    """Base class of the optimisers.

    Args:
        params: an iterable of Tensors, or of dicts ``{"params": [...], "lr": ..., ...}`` that give
            some groups their own hyperparameters.
        defaults: the hyperparameters of a group that does not set them.

    Subclasses implement ``update(param, grad, state, group)`` on raw arrays (and optionally
    ``validate(group)``), or override ``step`` (the closure-driven second-order methods).
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list = []
        if isinstance(params, Tensor):
            raise TypeError(f"{self._name}: params must be an iterable of Tensors or of dicts, got a single "
                            "Tensor; wrap it in a list: [tensor]")
        groups = list(params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------------ groups and validation
    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones take the defaults)."""
        if not isinstance(group, dict):
            raise TypeError(f"{self._name}.add_param_group: expected a dict, got {type(group).__name__}")
        params = group.get("params")
        params = [params] if isinstance(params, Tensor) else list(params if params is not None else ())
        if not params:
            raise ValueError(f"{self._name}.add_param_group: the group has no parameters")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: parameter {i} of a group is a {type(p).__name__}, expected a Tensor")
            if p.creator is not None:
                raise ValueError(f"{self._name}: parameter {i} (shape {p.shape}) is not a leaf Tensor; "
                                 "optimise the leaves (tensors created with requires_grad=True)")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError(f"{self._name}: a parameter appears twice (in one group or in two groups)")
        full = dict(self.defaults)
        full.update({k: v for k, v in group.items() if k != "params"})
        full["params"] = params
        self.validate(full)
        self.param_groups.append(full)

    def validate(self, group: dict) -> None:
        """Check (and normalise to Python floats) a group's hyperparameters; raise ValueError."""
        group["lr"] = check_range(self._name, "lr", group["lr"])

    # ------------------------------------------------------------------ the step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: drop them (the default) or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad = p.grad.detach()
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()`` when one is given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state.get(p)
                    if state is None:
                        state = self.state[p] = {}
                    self.update(p.data, p.grad.data, state, group)
        return loss

    def update(self, param, grad, state: dict, group: dict) -> None:
        """Change ``param`` (an array) in place from ``grad``; ``state`` is this parameter's memory."""
        raise NotImplementedError(f"{self._name} does not implement update()")

    # ------------------------------------------------------------------ state dict
    def _indexed_params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``, a copy.

        Values are numbers, strings, lists, dicts and NumPy arrays (NumPy scalars become 0-d
        arrays, so the dtype survives); a parameter is its position across the groups."""
        params = self._indexed_params()
        index = {id(p): i for i, p in enumerate(params)}
        groups = []
        for group in self.param_groups:
            packed = {k: _copy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: _copy(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by ``state_dict`` (from any process).

        The groups must match in number and size, and every saved array its parameter's shape
        (or the shape the optimiser declares for it); floating-point arrays take the
        parameter's dtype. State keys may be ints or their decimal strings (after JSON)."""
        name = f"{self._name}.load_state_dict"
        groups = state_dict.get("param_groups")
        if groups is None or "state" not in state_dict:
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups', got keys {sorted(state_dict)}")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}: the saved state has {len(groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        for i, (saved, mine) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(mine["params"]):
                raise ValueError(f"{name}: parameter group {i} has {len(saved['params'])} parameters in the "
                                 f"saved state but {len(mine['params'])} here")
        by_index = {}
        for saved, mine in zip(groups, self.param_groups):
            for i, p in zip(saved["params"], mine["params"]):
                by_index[int(i)] = p
        state = {}
        for key, entry in state_dict["state"].items():
            i = int(key)
            if i not in by_index:
                raise ValueError(f"{name}: the saved state names parameter {i}, which no group lists")
            p = by_index[i]
            state[p] = {k: self._restore(k, v, p, i) for k, v in entry.items()}
        new_groups = []
        for saved, mine in zip(groups, self.param_groups):
            group = {k: v for k, v in mine.items() if k != "params"}  # keys the save lacks keep their value
            group.update({k: _copy(v) for k, v in saved.items() if k != "params"})
            group["params"] = mine["params"]
            self.validate(group)
            new_groups.append(group)
        self.param_groups = new_groups
        self.state = state

    def expected_shape(self, key: str, param: Tensor) -> tuple:
        """The shape a state array ``key`` of ``param`` must have (the parameter's, by default)."""
        return param.shape

    def _restore(self, key, value, param: Tensor, index: int):
        if isinstance(value, list):
            return [self._restore(key, v, param, index) for v in value]
        if isinstance(value, numpy.ndarray) and value.ndim > 0:
            expected = tuple(self.expected_shape(key, param))
            if value.shape != expected:
                raise ValueError(f"{self._name}.load_state_dict: state '{key}' of parameter {index} has shape "
                                 f"{value.shape}, expected {expected} (parameter shape {param.shape})")
        if isinstance(value, numpy.ndarray):
            dtype = param.dtype if value.dtype.kind == "f" else value.dtype
            return numpy.array(value, dtype=dtype, copy=True)
        return _copy(value)

    def __repr__(self):
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={v!r}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} params, {settings}")
        return "\n".join(lines + [")"])


def _copy(value):
    """A deep copy of state made of arrays, NumPy scalars, numbers, strings, lists, tuples, dicts."""
    if isinstance(value, numpy.ndarray):
        return value.copy()
    if isinstance(value, numpy.generic):
        return numpy.array(value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value
