"""Shared helpers of the optimiser tests: one small MLP in gradkit and in torch, same weights and data.

The network is 8-16-16-3 with tanh, trained on 32 fixed random points with cross-entropy. The
gradkit loss composes log-softmax from Tensor ops; the torch loss is ``F.cross_entropy``. A run
takes ``make_optimizer(params)`` and a number of steps and returns the final parameters.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import gradkit as gk

SIZES = (8, 16, 16, 3)
N = 32


class MLPProblem:
    """Fixed data and start weights; runs an optimiser in gradkit or in torch from them."""

    def __init__(self, dtype=np.float32, seed: int = 0, n: int = N):
        rng = np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)
        self.x = rng.standard_normal((n, SIZES[0])).astype(dtype)
        self.labels = rng.integers(0, SIZES[-1], n)
        self.onehot = np.eye(SIZES[-1], dtype=dtype)[self.labels]
        self.weights = []
        for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
            self.weights.append((rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)).astype(dtype))
            self.weights.append((0.1 * rng.standard_normal(fan_out)).astype(dtype))

    # ------------------------------------------------------------------ gradkit
    def gk_params(self, weights=None):
        return [gk.Tensor(w.copy(), requires_grad=True) for w in (self.weights if weights is None else weights)]

    def gk_loss(self, params):
        h = gk.Tensor(self.x)
        layers = len(params) // 2
        for i in range(layers):
            h = h @ params[2 * i].T + params[2 * i + 1]
            if i < layers - 1:
                h = h.tanh()
        z = h - h.amax(axis=1, keepdims=True).detach()
        log_probs = z - z.exp().sum(axis=1, keepdims=True).log()
        return -(log_probs * gk.Tensor(self.onehot)).sum() / len(self.x)

    def gk_closure(self, opt, params):
        def closure():
            opt.zero_grad()
            loss = self.gk_loss(params)
            loss.backward()
            return loss
        return closure

    def run_gk(self, make_optimizer, steps: int, params=None, opt=None):
        params = self.gk_params() if params is None else params
        opt = make_optimizer(params) if opt is None else opt
        closure = self.gk_closure(opt, params)
        for _ in range(steps):
            opt.step(closure)
        return [p.numpy().copy() for p in params], opt, params

    # ------------------------------------------------------------------ torch
    def run_torch(self, make_optimizer, steps: int):
        params = [torch.tensor(w.copy(), requires_grad=True) for w in self.weights]
        opt = make_optimizer(params)
        x, labels = torch.tensor(self.x), torch.tensor(self.labels)

        def closure():
            opt.zero_grad()
            h = x
            for i in range(len(params) // 2):
                h = h @ params[2 * i].T + params[2 * i + 1]
                if i < len(params) // 2 - 1:
                    h = torch.tanh(h)
            loss = torch.nn.functional.cross_entropy(h, labels)
            loss.backward()
            return loss

        for _ in range(steps):
            opt.step(closure)
        return [p.detach().numpy().copy() for p in params]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny tensors: extra torch threads only contend for a shared machine's cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def problem32():
    return MLPProblem(np.float32)


@pytest.fixture(scope="session")
def problem512():
    """512 points with random labels: 100 L-BFGS iterations do not fit them (the run keeps moving)."""
    return MLPProblem(np.float32, n=512)


@pytest.fixture(scope="session")
def problem64():
    return MLPProblem(np.float64)


def relative_error(ours, theirs) -> float:
    """max |a - b| / max |b| over each parameter, the worst parameter."""
    return max(float(np.abs(a - b).max() / np.abs(b).max()) for a, b in zip(ours, theirs))


@pytest.fixture(scope="session")
def rel_error():
    return relative_error


def through_json(state: dict) -> dict:
    """Send a state dict through JSON (arrays set aside), as a checkpoint file would."""
    arrays = []

    def encode(value):
        if isinstance(value, np.ndarray):
            arrays.append(value.copy())
            return {"__array__": len(arrays) - 1}
        if isinstance(value, dict):
            return {str(k): encode(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        assert value is None or isinstance(value, (bool, int, float, str)), f"not JSON data: {type(value)}"
        return value

    def decode(value):
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                return arrays[value["__array__"]]
            return {k: decode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    return decode(json.loads(json.dumps(encode(state))))


@pytest.fixture(scope="session")
def json_round_trip():
    return through_json
