"""Initialisers: statistics of 10^6 draws against their formulas, fans and gains against torch."""
from __future__ import annotations

import math

import numpy
import pytest
import torch

from gradkit import nn
from gradkit.nn import init

SHAPE = (1000, 500, 2)          # 10^6 draws; fan_in = 1000, fan_out = 2000 (a 1-wide "kernel" of 2)
FAN_IN, FAN_OUT = 500 * 2, 1000 * 2


def _check(array, mean, std):
    assert array.shape == SHAPE and array.dtype == numpy.float32
    assert abs(array.mean() - mean) <= 0.01 * std      # the mean of 10^6 draws: sd std / 1000
    assert abs(array.std() / std - 1) <= 0.01


@pytest.mark.parametrize("initializer, std", [
    (init.normal(std=0.01), 0.01),
    (init.normal(std=1.0), 1.0),
    (init.uniform(-0.3, 0.3), 0.6 / math.sqrt(12)),
    (init.xavier_normal(), math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.xavier_uniform(gain=5 / 3), 5 / 3 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.lecun_normal(), math.sqrt(1 / FAN_IN)),
    (init.he_normal(), math.sqrt(2 / FAN_IN)),
    (init.he_uniform(), math.sqrt(2 / FAN_IN)),
    (init.he_normal(mode="fan_out"), math.sqrt(2 / FAN_OUT)),
    (init.he_normal(nonlinearity="tanh"), 5 / 3 / math.sqrt(FAN_IN)),
    (init.torch_default(), math.sqrt(1 / (3 * FAN_IN))),
], ids=repr)
def test_statistics_of_a_million_draws(initializer, std):
    _check(initializer(SHAPE, rng=0), 0.0, std)


def test_constant_zeros_and_shifted_normal():
    assert not init.zeros()((3, 4)).any()
    assert (init.constant(0.5)((3, 4)) == 0.5).all()
    _check(init.normal(std=2.0, mean=3.0)(SHAPE, rng=1), 3.0, 2.0)


@pytest.mark.parametrize("shape", [(7, 3), (16, 6, 5, 5), (8, 2, 3, 1), (4, 3, 2, 2, 2)])
def test_fans_match_torch(shape):
    assert init.fans(shape) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_grouped_conv_fan_in_is_per_group():
    layer = nn.Conv2d(8, 4, 3, groups=2, rng=0)
    assert layer.weight.shape == (4, 4, 3, 3)
    assert init.fans(layer.weight.shape)[0] == 4 * 9
    assert init.fans(layer.weight.shape) == torch.nn.init._calculate_fan_in_and_fan_out(
        torch.nn.Conv2d(8, 4, 3, groups=2).weight)


@pytest.mark.parametrize("name, param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                         ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                         ("selu", None)])
def test_gains_match_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param), rel=1e-12)


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match=r"at least 2 dimensions .* got shape \(5,\)"):
        init.he_normal()((5,))
    with pytest.raises(ValueError, match="unknown initialiser 'hee'"):
        nn.Linear(3, 2, init="hee")
    with pytest.raises(TypeError, match="registered name or a callable"):
        nn.Linear(3, 2, init=0.01)
    with pytest.raises(ValueError, match=r"returned shape \(2,\), expected \(2, 3\)"):
        nn.Linear(3, 2, init=lambda shape, rng: numpy.zeros(2))


def test_registry_names_and_custom_callables():
    assert {"zeros", "normal", "xavier", "xavier_uniform", "lecun", "he", "he_uniform", "default"} <= set(init.names())
    layer = nn.Linear(200, 300, init="normal", rng=0)
    assert abs(layer.weight.numpy().std() / 0.01 - 1) < 0.02
    assert not layer.bias.numpy().any()                     # an explicit init gives zero biases
    layer = nn.Linear(3, 2, init=lambda shape, rng: numpy.full(shape, 0.5), bias_init=init.constant(1))
    assert (layer.weight.numpy() == 0.5).all() and (layer.bias.numpy() == 1).all()
    assert layer.weight.dtype == numpy.float32
    init.init_(layer.weight, init.xavier_uniform(), rng=0)
    assert (layer.weight.numpy() != 0.5).all()


def test_same_seed_same_weights_and_default_matches_torch_distribution():
    a, b = nn.Linear(400, 300, rng=3), nn.Linear(400, 300, rng=3)
    numpy.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    bound = 1 / math.sqrt(400)
    for param in (a.weight.numpy(), a.bias.numpy()):         # torch: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        assert param.min() >= -bound and param.max() <= bound
    assert abs(a.weight.numpy().std() / (bound / math.sqrt(3)) - 1) < 0.01
    conv = nn.Conv2d(6, 16, 5, rng=0)
    bound = 1 / math.sqrt(6 * 25)
    assert abs(conv.weight.numpy()).max() <= bound and abs(conv.bias.numpy()).max() <= bound
    assert abs(conv.weight.numpy().std() / (bound / math.sqrt(3)) - 1) < 0.05
