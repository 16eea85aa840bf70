"""Bad hyperparameters raise a ValueError that names the parameter, its value and the allowed range."""
import math

import numpy as np
import pytest

import gradkit as gk
from gradkit import optim


def _w():
    return [gk.Tensor(np.zeros(3, np.float32), requires_grad=True)]


BAD = [  # (constructor, expected pieces of the message)
    (lambda: optim.SGD(_w(), lr=-0.1), ["SGD", "lr = -0.1", "[0, inf)"]),
    (lambda: optim.SGD(_w(), lr=float("nan")), ["SGD", "lr = nan"]),
    (lambda: optim.SGD(_w(), lr="fast"), ["SGD", "lr must be a real number"]),
    (lambda: optim.SGD(_w(), momentum=-0.5), ["SGD", "momentum = -0.5", "[0, inf)"]),
    (lambda: optim.SGD(_w(), momentum=0.9, dampening=1.5), ["SGD", "dampening = 1.5", "[0, 1]"]),
    (lambda: optim.SGD(_w(), weight_decay=-1e-4), ["SGD", "weight_decay = -0.0001", "[0, inf)"]),
    (lambda: optim.SGD(_w(), nesterov=True), ["SGD", "nesterov=True needs momentum in (0, inf)", "momentum = 0.0"]),
    (lambda: optim.SGD(_w(), momentum=0.9, dampening=0.1, nesterov=True), ["nesterov", "dampening = 0.1"]),
    (lambda: optim.Momentum(_w(), momentum=1.5), ["Momentum", "momentum = 1.5", "[0, 1]"]),
    (lambda: optim.Nesterov(_w(), lr=-1), ["Nesterov", "lr = -1.0"]),
    (lambda: optim.Adagrad(_w(), lr_decay=-1), ["Adagrad", "lr_decay = -1.0", "[0, inf)"]),
    (lambda: optim.Adagrad(_w(), initial_accumulator_value=-1), ["Adagrad", "initial_accumulator_value"]),
    (lambda: optim.Adagrad(_w(), eps=-1e-10), ["Adagrad", "eps = -1e-10", "[0, inf)"]),
    (lambda: optim.RMSprop(_w(), alpha=1.01), ["RMSprop", "alpha = 1.01", "[0, 1]"]),
    (lambda: optim.RMSprop(_w(), momentum=-0.1), ["RMSprop", "momentum = -0.1"]),
    (lambda: optim.Adadelta(_w(), rho=-0.1), ["Adadelta", "rho = -0.1", "[0, 1]"]),
    (lambda: optim.Adam(_w(), betas=(1.0, 0.999)), ["Adam", "beta1", "= 1.0", "[0, 1)"]),
    (lambda: optim.Adam(_w(), betas=(0.9, -0.1)), ["Adam", "beta2", "= -0.1", "[0, 1)"]),
    (lambda: optim.Adam(_w(), betas=0.9), ["Adam", "betas must be a pair"]),
    (lambda: optim.Adam(_w(), eps=-1e-8), ["Adam", "eps = -1e-08", "[0, inf)"]),
    (lambda: optim.Adam(_w(), weight_decay=-0.01), ["Adam", "weight_decay = -0.01", "[0, inf)"]),
    (lambda: optim.AdamW(_w(), weight_decay=-0.01), ["AdamW", "weight_decay = -0.01"]),
    (lambda: optim.LBFGS(_w(), history_size=0), ["LBFGS", "history_size = 0", "integer >= 1"]),
    (lambda: optim.LBFGS(_w(), max_iter=2.5), ["LBFGS", "max_iter = 2.5", "integer >= 1"]),
    (lambda: optim.LBFGS(_w(), tolerance_grad=-1), ["LBFGS", "tolerance_grad = -1.0"]),
    (lambda: optim.LBFGS(_w(), line_search_fn="armijo"), ["LBFGS", "'armijo'", "'strong_wolfe'"]),
    (lambda: optim.NewtonCG(_w(), damping=-1), ["NewtonCG", "damping = -1.0", "[0, inf)"]),
    (lambda: optim.NewtonCG(_w(), cg_iters=0), ["NewtonCG", "cg_iters = 0"]),
    (lambda: optim.SGD([{"params": _w(), "lr": -1}], lr=0.1), ["SGD", "lr = -1.0"]),
    (lambda: optim.SGD([], lr=0.1), ["SGD", "empty parameter list"]),
    (lambda: optim.StepLR(optim.SGD(_w()), step_size=0), ["StepLR", "step_size = 0"]),
    (lambda: optim.ExponentialLR(optim.SGD(_w()), gamma=-0.5), ["ExponentialLR", "gamma = -0.5"]),
    (lambda: optim.CosineAnnealingLR(optim.SGD(_w()), T_max=10, eta_min=-1), ["CosineAnnealingLR", "eta_min"]),
    (lambda: optim.LinearLR(optim.SGD(_w()), start_factor=0), ["LinearLR", "start_factor = 0.0", "(0, 1]"]),
    (lambda: optim.ReduceLROnPlateau(optim.SGD(_w()), factor=1.0), ["ReduceLROnPlateau", "factor = 1.0", "[0, 1)"]),
    (lambda: optim.ReduceLROnPlateau(optim.SGD(_w()), mode="lowest"), ["ReduceLROnPlateau", "'lowest'", "'min'"]),
    (lambda: optim.clip_grad_norm_(_w(), 1.0, norm_type=0.5), ["clip_grad_norm_", "norm_type = 0.5", "[1, inf]"]),
    (lambda: optim.clip_grad_norm_(_w(), -1.0), ["clip_grad_norm_", "max_norm = -1.0"]),
    (lambda: optim.clip_grad_value_(_w(), -1.0), ["clip_grad_value_", "clip_value = -1.0"]),
]


@pytest.mark.parametrize("make, pieces", BAD, ids=[" ".join(p[:2]) for _, p in BAD])
def test_bad_hyperparameter_is_named_with_its_range(make, pieces):
    with pytest.raises(ValueError) as info:
        make()
    for piece in pieces:
        assert piece in str(info.value), (piece, str(info.value))


def test_boundaries_that_are_allowed():
    optim.SGD(_w(), lr=0.0, momentum=0.0)
    optim.Adam(_w(), betas=(0.0, 0.0), eps=0.0)
    optim.RMSprop(_w(), alpha=1.0)
    optim.clip_grad_norm_(_w(), 1.0, norm_type=math.inf)


def test_wrong_parameter_types():
    with pytest.raises(TypeError, match="wrap it in a list"):
        optim.SGD(_w()[0])
    with pytest.raises(TypeError, match="parameter 1 of a group is a ndarray"):
        optim.SGD([_w()[0], np.zeros(3)])
    w = _w()
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([{"params": w}, {"params": w}])
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([w[0] * 2])
