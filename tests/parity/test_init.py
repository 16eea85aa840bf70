"""gradkit.nn.init against torch.nn.init: the same names and arguments, in place, the same distributions.

The random streams differ (NumPy's generators, not torch's), so values are compared through their
exact bounds and moments on large tensors; the deterministic ones (constants, eye, gains) exactly."""
from __future__ import annotations

import math

import numpy
import pytest
import torch

import gradkit as gk
from gradkit import nn

SHAPE = (400, 300, 3)   # fan_in 900, fan_out 1200: enough samples for 1% moment checks


def _std(name, kwargs, shape):
    """The standard deviation torch's formula gives (from an equally shaped torch tensor's fans)."""
    t = torch.empty(shape)
    getattr(torch.nn.init, name)(t, **kwargs)
    return float(t.std())


DISTRIBUTIONS = [
    ("uniform_", {"a": -0.5, "b": 2.0}),
    ("normal_", {"mean": 0.5, "std": 0.2}),
    ("xavier_uniform_", {"gain": 2.0}),
    ("xavier_normal_", {}),
    ("kaiming_uniform_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {"a": 0.2, "nonlinearity": "leaky_relu"}),
    ("trunc_normal_", {"std": 0.5, "a": -0.6, "b": 0.4}),
    ("orthogonal_", {"gain": 1.5}),
]


@pytest.mark.parametrize("case", DISTRIBUTIONS, ids=[f"{n}{sorted(k.items())}" for n, k in DISTRIBUTIONS])
def test_distribution_matches_torch(case):
    name, kwargs = case
    torch.manual_seed(0)
    reference = torch.empty(SHAPE)
    getattr(torch.nn.init, name)(reference, **kwargs)
    w = gk.zeros(*SHAPE)
    out = getattr(nn.init, name)(w, **kwargs, generator=numpy.random.default_rng(0))
    assert out is w                                                     # in place, returns its argument
    ours, theirs = w.numpy(), reference.numpy()
    assert w.dtype == numpy.float32
    assert abs(ours.mean() - theirs.mean()) < 0.01 * max(theirs.std(), abs(theirs.mean()))
    assert abs(ours.std() / theirs.std() - 1) < 0.01
    if "uniform" in name or "trunc" in name:                          # bounded: the same bounds
        assert abs(ours.min() - theirs.min()) < 1e-3 * theirs.std() and abs(ours.max() - theirs.max()) < 1e-3 * theirs.std()


def test_same_generator_seed_gives_same_values_and_global_seed_is_used_otherwise():
    a, b = gk.zeros(5, 4), gk.zeros(5, 4)
    nn.init.kaiming_uniform_(a, generator=3)
    nn.init.kaiming_uniform_(b, generator=3)
    numpy.testing.assert_array_equal(a.numpy(), b.numpy())
    gk.manual_seed(7)
    nn.init.normal_(a)
    gk.manual_seed(7)
    nn.init.normal_(b)
    numpy.testing.assert_array_equal(a.numpy(), b.numpy())


def test_orthogonal_rows_or_columns_are_orthonormal():
    for shape in [(6, 4), (4, 6), (3, 2, 2, 2)]:
        w = nn.init.orthogonal_(gk.zeros(*shape), generator=0).numpy().reshape(shape[0], -1)
        small = w.T @ w if shape[0] >= w.shape[1] else w @ w.T
        numpy.testing.assert_allclose(small, numpy.eye(len(small)), atol=1e-5)


@pytest.mark.parametrize("name,args", [("constant_", (0.3,)), ("zeros_", ()), ("ones_", ()), ("eye_", ())])
def test_deterministic_fills_equal_torch(name, args):
    ours, theirs = gk.randn(4, 3), torch.randn(4, 3)
    getattr(nn.init, name)(ours, *args)
    getattr(torch.nn.init, name)(theirs, *args)
    numpy.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                                ("tanh", None), ("relu", None), ("leaky_relu", None),
                                                ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_equals_torch(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-12)


def test_parameters_of_a_model_initialise_in_place_through_apply():
    model = nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 10))
    before = [p for p in model.parameters()]

    def init(module):
        if isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
    model.apply(init)
    assert [p for p in model.parameters()] == before and not model[0].bias.numpy().any()


@pytest.mark.parametrize("call", [lambda i, t: i.kaiming_normal_(t(numpy.zeros(5, numpy.float32))),
                                  lambda i, t: i.xavier_uniform_(t(numpy.zeros(5, numpy.float32))),
                                  lambda i, t: i.kaiming_normal_(t(numpy.zeros((3, 3), numpy.float32)), mode="fan"),
                                  lambda i, t: i.calculate_gain("bogus")])
def test_bad_arguments_raise_value_error_as_torch(call):
    with pytest.raises(ValueError):
        call(torch.nn.init, torch.tensor)
    with pytest.raises(ValueError):
        call(nn.init, gk.Tensor)


def test_gradkit_initialiser_names_still_work():
    layer = nn.Linear(50, 40, init="he", rng=0)
    assert abs(layer.weight.numpy().std() - math.sqrt(2 / 50)) < 0.01
    nn.init.init_(layer.weight, "xavier_uniform", rng=1)
    assert abs(layer.weight.numpy()).max() <= math.sqrt(6 / 90)
