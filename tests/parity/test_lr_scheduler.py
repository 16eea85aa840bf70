"""gradkit.optim.lr_scheduler against torch.optim.lr_scheduler: the lr every step, get_last_lr,
state_dict round trips, with two parameter groups of different lrs."""
from __future__ import annotations

import math

import numpy
import pytest
import torch

import gradkit as gk
from gradkit import optim

SCHEDULES = [
    ("StepLR", lambda s, o: s.StepLR(o, step_size=3, gamma=0.5)),
    ("MultiStepLR", lambda s, o: s.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.3)),
    ("ExponentialLR", lambda s, o: s.ExponentialLR(o, gamma=0.9)),
    ("CosineAnnealingLR", lambda s, o: s.CosineAnnealingLR(o, T_max=7, eta_min=0.001)),
    ("LambdaLR", lambda s, o: s.LambdaLR(o, lr_lambda=lambda epoch: 1 / (1 + epoch))),
    ("LinearLR", lambda s, o: s.LinearLR(o, start_factor=0.2, total_iters=4)),
    ("ConstantLR", lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=3)),
    ("SequentialLR", lambda s, o: s.SequentialLR(o, [s.LinearLR(o, 0.1, total_iters=3),
                                                     s.ExponentialLR(o, 0.8)], milestones=[3])),
]


def _optimizers():
    w = gk.zeros(2, requires_grad=True)
    v = gk.zeros(3, requires_grad=True)
    wt, vt = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    ours = optim.SGD([{"params": [w]}, {"params": [v], "lr": 0.05}], lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([{"params": [wt]}, {"params": [vt], "lr": 0.05}], lr=0.1, momentum=0.9)
    return ours, theirs


@pytest.mark.parametrize("case", SCHEDULES, ids=[c[0] for c in SCHEDULES])
def test_schedule_matches_torch_every_step(case):
    _, build = case
    ours_opt, theirs_opt = _optimizers()
    ours, theirs = build(optim.lr_scheduler, ours_opt), build(torch.optim.lr_scheduler, theirs_opt)
    for step in range(15):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12), step
        assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx([g["lr"] for g in theirs_opt.param_groups],
                                                                          rel=1e-12)
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()


def test_reduce_on_plateau_matches_torch():
    ours_opt, theirs_opt = _optimizers()
    ours = optim.lr_scheduler.ReduceLROnPlateau(ours_opt, factor=0.5, patience=2, cooldown=1)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, factor=0.5, patience=2, cooldown=1)
    for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9]:
        ours.step(metric)
        theirs.step(metric)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_state_dict_resumes_the_schedule():
    opt, _ = _optimizers()
    schedule = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        opt.step()
        schedule.step()
    state = schedule.state_dict()
    fresh_opt, _ = _optimizers()
    fresh_opt.load_state_dict(opt.state_dict())
    fresh = optim.lr_scheduler.StepLR(fresh_opt, step_size=2, gamma=0.5)
    fresh.load_state_dict(state)
    for _ in range(4):
        schedule.step()
        fresh.step()
        assert fresh.get_last_lr() == schedule.get_last_lr()


def test_param_group_lr_is_settable_as_in_torch():
    opt, topt = _optimizers()
    opt.param_groups[0]["lr"] = 0.3
    topt.param_groups[0]["lr"] = 0.3
    ours, theirs = optim.lr_scheduler.ExponentialLR(opt, 0.5), torch.optim.lr_scheduler.ExponentialLR(topt, 0.5)
    ours.step()
    theirs.step()
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr()) and math.isclose(ours.get_last_lr()[0], 0.15)
    assert optim.lr_scheduler._LRScheduler is optim.lr_scheduler.LRScheduler
