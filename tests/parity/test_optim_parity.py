"""gradkit.optim against torch.optim where tests/optim does not already look: torch's positional
argument order, parameter groups as dicts with their own lr, an lr changed through param_groups
mid-run, zero_grad's default, the state dict's layout. (Each optimiser's update rule is compared
over 100 steps in tests/optim/test_first_order.py.)"""
from __future__ import annotations

import numpy
import pytest
import torch

import gradkit as gk
from gradkit import nn, optim

R = numpy.random.default_rng(3)
X, Y = R.standard_normal((32, 5)).astype(numpy.float32), R.integers(0, 3, 32)

# each factory receives (module, params-or-groups); positional arguments in torch's order
FACTORIES = [
    ("SGD-positional", lambda o, p: o.SGD(p, 0.1, 0.9, 0.0, 1e-3, True)),
    ("Adam-positional", lambda o, p: o.Adam(p, 0.01, (0.8, 0.99), 1e-7, 1e-3, True)),
    ("AdamW", lambda o, p: o.AdamW(p, lr=0.01, weight_decay=0.1)),
    ("RMSprop", lambda o, p: o.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True)),
    ("Adagrad", lambda o, p: o.Adagrad(p, lr=0.1, lr_decay=0.01)),
]


def _models():
    ours = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def _groups(model):
    return [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.02}]


@pytest.mark.parametrize("case", FACTORIES, ids=[c[0] for c in FACTORIES])
@pytest.mark.parametrize("grouped", [False, True], ids=["one-group", "two-groups"])
def test_trajectory_with_groups_and_an_lr_change_matches_torch(case, grouped):
    _, build = case
    ours, theirs = _models()
    opt = build(optim, _groups(ours) if grouped else ours.parameters())
    topt = build(torch.optim, _groups(theirs) if grouped else theirs.parameters())
    loss_fn, tloss_fn = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for step in range(30):
        if step == 15:                                   # the torch idiom for a manual lr change
            for g, tg in zip(opt.param_groups, topt.param_groups):
                g["lr"] *= 0.5
                tg["lr"] *= 0.5
        opt.zero_grad()
        topt.zero_grad()
        loss, tloss = loss_fn(ours(gk.Tensor(X)), gk.Tensor(Y)), tloss_fn(theirs(torch.tensor(X)), torch.tensor(Y))
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-5, abs=1e-6), step
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
    for (name, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        numpy.testing.assert_allclose(p.numpy(), pt.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def test_zero_grad_defaults_to_none_as_torch():
    ours, theirs = _models()
    opt, topt = optim.SGD(ours.parameters(), lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1)
    ours(gk.Tensor(X)).sum().backward()
    theirs(torch.tensor(X)).sum().backward()
    opt.zero_grad()
    topt.zero_grad()
    assert all(p.grad is None for p in ours.parameters()) and all(p.grad is None for p in theirs.parameters())


def test_state_dict_layout_matches_torch():
    ours, theirs = _models()
    opt, topt = optim.Adam(_groups(ours), lr=0.01), torch.optim.Adam(_groups(theirs), lr=0.01)
    for model, o in ((ours, opt), (theirs, topt)):
        x = gk.Tensor(X) if model is ours else torch.tensor(X)
        model(x).sum().backward()
        o.step()
    state, tstate = opt.state_dict(), topt.state_dict()
    assert list(state) == list(tstate) == ["state", "param_groups"]
    assert sorted(state["state"]) == sorted(tstate["state"])
    assert [g["params"] for g in state["param_groups"]] == [g["params"] for g in tstate["param_groups"]]
    assert [g["lr"] for g in state["param_groups"]] == [g["lr"] for g in tstate["param_groups"]]
    assert set(state["state"][0]) == set(tstate["state"][0])            # step, exp_avg, exp_avg_sq


def test_spellings_and_errors():
    assert optim.RMSProp is optim.RMSprop and optim.AdaGrad is optim.Adagrad
    ours, theirs = _models()
    for o, model in ((optim, ours), (torch.optim, theirs)):
        with pytest.raises(ValueError):
            o.SGD(model.parameters(), lr=-1)
        with pytest.raises(ValueError):
            o.Adam(model.parameters(), betas=(1.5, 0.9))
        with pytest.raises(ValueError):
            o.SGD(model.parameters(), lr=0.1, nesterov=True)
