"""state_dict: saved after 50 steps, sent through JSON, loaded into a fresh optimiser over fresh
parameters, the run continues bit for bit as if it had never stopped."""
import copy

import numpy as np
import pytest

import gradkit as gk
from gradkit import optim

FACTORIES = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd-nesterov-wd": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "sgd-dampening": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.2),
    "momentum": lambda p: optim.Momentum(p, lr=0.05),
    "nesterov": lambda p: optim.Nesterov(p, lr=0.05),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1),
    "rmsprop-centered-momentum": lambda p: optim.RMSprop(p, lr=1e-3, momentum=0.9, centered=True),
    "adadelta": lambda p: optim.Adadelta(p, weight_decay=1e-3),
    "adam-amsgrad": lambda p: optim.Adam(p, lr=1e-2, amsgrad=True, weight_decay=1e-3),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2),
    "two-groups": lambda p: optim.Adam([{"params": p[:2], "lr": 3e-2}, {"params": p[2:]}], lr=1e-2),
    "lbfgs": lambda p: optim.LBFGS(p, max_iter=1, history_size=10),
    "lbfgs-wolfe": lambda p: optim.LBFGS(p, max_iter=1, max_eval=10, line_search_fn="strong_wolfe"),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_resume_after_50_steps_is_bit_identical(name, problem512, json_round_trip):
    problem32 = problem512
    factory = FACTORIES[name]
    uninterrupted, _, _ = problem32.run_gk(factory, 100)

    halfway, opt, params = problem32.run_gk(factory, 50)
    saved = json_round_trip(opt.state_dict())
    fresh_params = problem32.gk_params([p.numpy().copy() for p in params])
    fresh = factory(fresh_params)
    fresh.load_state_dict(saved)
    resumed, _, _ = problem32.run_gk(None, 50, params=fresh_params, opt=fresh)

    assert not all(np.array_equal(a, b) for a, b in zip(halfway, uninterrupted))
    for a, b in zip(resumed, uninterrupted):
        assert a.dtype == b.dtype == np.float32
        assert np.array_equal(a, b), name


def test_resume_newton_cg_is_bit_identical(problem64, json_round_trip):
    def run(opt, params, steps):
        for _ in range(steps):
            opt.step(lambda: problem64.gk_loss(params))
        return [p.numpy().copy() for p in params]

    def make(p):
        return optim.NewtonCG(p, lr=0.5, cg_iters=5, damping=1.0)

    params = problem64.gk_params()
    full = run(make(params), params, 100)
    params = problem64.gk_params()
    opt = make(params)
    run(opt, params, 50)
    fresh_params = problem64.gk_params([p.numpy().copy() for p in params])
    fresh = make(fresh_params)
    fresh.load_state_dict(json_round_trip(opt.state_dict()))
    assert fresh.state[fresh_params[0]]["step"] == 50
    assert all(np.array_equal(a, b) for a, b in zip(run(fresh, fresh_params, 50), full))


def test_state_dict_is_a_copy_indexed_like_torch(problem32):
    _, opt, params = problem32.run_gk(lambda p: optim.Adam([{"params": p[:2]}, {"params": p[2:], "lr": 0.1}]), 3)
    saved = opt.state_dict()
    snapshot = copy.deepcopy(saved)
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2, 3, 4, 5]]
    assert sorted(saved["state"]) == list(range(6)) and saved["state"][0]["step"] == 3
    assert saved["param_groups"][1]["lr"] == 0.1
    problem32.run_gk(None, 2, params=params, opt=opt)
    for i in snapshot["state"]:
        assert np.array_equal(saved["state"][i]["exp_avg"], snapshot["state"][i]["exp_avg"])
        assert not np.array_equal(saved["state"][i]["exp_avg"], opt.state[params[i]]["exp_avg"])


def test_load_restores_hyperparameters_and_casts_to_the_parameter_dtype(problem32):
    _, opt, params = problem32.run_gk(lambda p: optim.Adam(p, lr=0.05), 2)
    saved = opt.state_dict()
    saved["state"][0]["exp_avg"] = saved["state"][0]["exp_avg"].astype(np.float64)
    fresh = optim.Adam(problem32.gk_params(), lr=1.0)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == 0.05
    assert all(v.dtype == np.float32 for s in fresh.state.values() for v in s.values() if isinstance(v, np.ndarray))


def _adam_with_state(shapes, groups=None):
    params = [gk.Tensor(np.ones(s, np.float32), requires_grad=True) for s in shapes]
    opt = optim.Adam(params if groups is None else [{"params": params[a:b]} for a, b in groups])
    sum((p * p).sum() for p in params).backward()
    opt.step()
    return opt


def test_load_rejects_a_mismatched_structure_with_clear_messages():
    saved = _adam_with_state([(2, 3), (3,)]).state_dict()
    with pytest.raises(ValueError, match=r"1 parameter groups.*2 here|has 1 parameter groups, this optimizer has 2"):
        _adam_with_state([(2, 3), (3,)], groups=[(0, 1), (1, 2)]).load_state_dict(saved)
    with pytest.raises(ValueError, match="parameter group 0 has 2 parameters in the saved state but 3 here"):
        _adam_with_state([(2, 3), (3,), (1,)]).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"state 'exp_avg' of parameter 0 has shape \(2, 3\), expected \(3,\)"):
        _adam_with_state([(3,), (2, 3)]).load_state_dict(saved)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        _adam_with_state([(2, 3), (3,)]).load_state_dict({"state": {}})
    bad = copy.deepcopy(saved)
    bad["param_groups"][0]["betas"] = (0.9, 1.5)
    with pytest.raises(ValueError, match=r"beta2.*\[0, 1\)"):
        _adam_with_state([(2, 3), (3,)]).load_state_dict(bad)


def test_lbfgs_state_checks_flat_shapes(problem32):
    _, opt, _ = problem32.run_gk(lambda p: optim.LBFGS(p, max_iter=3), 1)
    saved = opt.state_dict()
    other = optim.LBFGS([gk.Tensor(np.ones(s, np.float32), requires_grad=True) for s in [(16, 8)] + [(1,)] * 5])
    with pytest.raises(ValueError, match=r"state 'd' of parameter 0 has shape \(467,\), expected \(133,\)"):
        other.load_state_dict(saved)
