"""First-order optimisers against torch.optim: 100 steps on the same MLP, same data, same start."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit import optim

# name -> (gradkit factory, torch factory); identical hyperparameters
CASES = {
    "sgd": (lambda p: optim.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd-momentum": (lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "sgd-nesterov": (lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "sgd-weight-decay": (lambda p: optim.SGD(p, lr=0.1, weight_decay=1e-2),
                         lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=1e-2)),
    "sgd-dampening": (lambda p: optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=1e-3),
                      lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=1e-3)),
    "book-momentum": (lambda p: optim.Momentum(p, lr=0.05, momentum=0.9),
                      lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "book-nesterov": (lambda p: optim.Nesterov(p, lr=0.05, momentum=0.9),
                      lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "adagrad": (lambda p: optim.Adagrad(p, lr=0.05), lambda p: torch.optim.Adagrad(p, lr=0.05)),
    "adagrad-decay": (lambda p: optim.Adagrad(p, lr=0.05, lr_decay=0.01, weight_decay=1e-3,
                                              initial_accumulator_value=0.1, eps=1e-8),
                      lambda p: torch.optim.Adagrad(p, lr=0.05, lr_decay=0.01, weight_decay=1e-3,
                                                    initial_accumulator_value=0.1, eps=1e-8)),
    "rmsprop": (lambda p: optim.RMSprop(p, lr=1e-3), lambda p: torch.optim.RMSprop(p, lr=1e-3)),
    "rmsprop-centered": (lambda p: optim.RMSprop(p, lr=1e-3, centered=True),
                         lambda p: torch.optim.RMSprop(p, lr=1e-3, centered=True)),
    "rmsprop-momentum": (lambda p: optim.RMSprop(p, lr=1e-3, momentum=0.9, weight_decay=1e-3),
                         lambda p: torch.optim.RMSprop(p, lr=1e-3, momentum=0.9, weight_decay=1e-3)),
    "rmsprop-centered-momentum": (lambda p: optim.RMSprop(p, lr=1e-3, alpha=0.95, momentum=0.5, centered=True),
                                  lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.95, momentum=0.5, centered=True)),
    "adadelta": (lambda p: optim.Adadelta(p), lambda p: torch.optim.Adadelta(p)),
    "adadelta-weight-decay": (lambda p: optim.Adadelta(p, lr=0.5, rho=0.95, weight_decay=1e-2),
                              lambda p: torch.optim.Adadelta(p, lr=0.5, rho=0.95, weight_decay=1e-2)),
    "adam": (lambda p: optim.Adam(p, lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
    "adam-amsgrad": (lambda p: optim.Adam(p, lr=1e-2, amsgrad=True), lambda p: torch.optim.Adam(p, lr=1e-2, amsgrad=True)),
    "adam-weight-decay": (lambda p: optim.Adam(p, lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2),
                          lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2)),
    "adamw": (lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1), lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1)),
    "adamw-amsgrad": (lambda p: optim.AdamW(p, lr=1e-2, amsgrad=True),
                      lambda p: torch.optim.AdamW(p, lr=1e-2, amsgrad=True)),
}

STEPS = 100


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_trajectory_matches_torch(name, problem32, rel_error):
    ours_factory, torch_factory = CASES[name]
    ours, opt, params = problem32.run_gk(ours_factory, STEPS)
    theirs = problem32.run_torch(torch_factory, STEPS)
    moved = max(np.abs(a - w).max() for a, w in zip(theirs, problem32.weights))
    assert moved > 1e-2, f"{name}: the parameters barely moved ({moved}); the test would prove little"
    assert rel_error(ours, theirs) < 1e-5, name
    # float32 stays float32: parameters, gradients and every state array
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in params)
    for state in opt.state.values():
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, (name, key)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float64_trajectory_matches_torch_tightly(name, problem64, rel_error):
    ours_factory, torch_factory = CASES[name]
    ours, _, params = problem64.run_gk(ours_factory, STEPS)
    theirs = problem64.run_torch(torch_factory, STEPS)
    assert rel_error(ours, theirs) < 1e-12, name
    assert all(p.dtype == np.float64 for p in params)


def test_float64_hyperparameters_do_not_promote_float32(problem32):
    """NumPy float64 scalars as hyperparameters would turn float32 updates into float64."""
    _, opt, params = problem32.run_gk(
        lambda p: optim.Adam(p, lr=np.float64(1e-2), betas=(np.float64(0.9), np.float64(0.999)),
                             weight_decay=np.float64(1e-3)), 3)
    assert type(opt.param_groups[0]["lr"]) is float
    assert all(p.dtype == np.float32 for p in params)
    assert all(v.dtype == np.float32 for s in opt.state.values() for v in s.values() if isinstance(v, np.ndarray))


def test_param_groups_use_their_own_hyperparameters(problem32, rel_error):
    def ours(p):
        return optim.SGD([{"params": p[:2], "lr": 0.2}, {"params": p[2:], "momentum": 0.5}], lr=0.05, momentum=0.9)

    def theirs(p):
        return torch.optim.SGD([{"params": p[:2], "lr": 0.2}, {"params": p[2:], "momentum": 0.5}], lr=0.05, momentum=0.9)

    assert rel_error(problem32.run_gk(ours, 30)[0], problem32.run_torch(theirs, 30)) < 1e-5


def test_book_momentum_differs_from_sgd_once_lr_changes(problem64):
    """Momentum keeps past steps' lr inside v; SGD's buffer is free of lr (see the docstrings)."""
    def run(cls, **kw):
        params = problem64.gk_params()
        opt = cls(params, lr=0.05, momentum=0.9, **kw)
        closure = problem64.gk_closure(opt, params)
        for step in range(20):
            if step == 10:
                opt.param_groups[0]["lr"] = 0.01
            opt.step(closure)
            if step == 9:
                before = [p.numpy().copy() for p in params]
        return before, [p.numpy().copy() for p in params]

    book_before, book_after = run(optim.Momentum)
    sgd_before, sgd_after = run(optim.SGD)
    assert max(np.abs(a - b).max() for a, b in zip(book_before, sgd_before)) < 1e-12
    assert max(np.abs(a - b).max() for a, b in zip(book_after, sgd_after)) > 1e-4


def test_zero_grad_and_skipping_parameters_without_grad():
    w = gk.Tensor(np.ones(3, np.float32), requires_grad=True)
    unused = gk.Tensor(np.ones(2, np.float32), requires_grad=True)
    opt = optim.Adam([w, unused], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert unused.grad is None and np.all(unused.numpy() == 1) and unused not in opt.state
    assert np.all(w.numpy() < 1)
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and np.all(w.grad.numpy() == 0)
    opt.zero_grad()
    assert w.grad is None


def test_create_by_name():
    w = gk.Tensor(np.ones(2, np.float32), requires_grad=True)
    assert isinstance(optim.create("AdamW", [w], lr=1e-3), optim.AdamW)
    assert optim.AdaGrad is optim.Adagrad and optim.RMSProp is optim.RMSprop
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'"):
        optim.create("adamax", [w])
