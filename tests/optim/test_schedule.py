"""Learning-rate schedules give torch.optim.lr_scheduler's sequences, and resume from state_dict."""
import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

import gradkit as gk
from gradkit import optim

LRS = (0.1, 0.02)  # two parameter groups with different lrs


def _optimizers():
    ours = optim.SGD([{"params": [gk.Tensor(np.zeros(2, np.float32), requires_grad=True)]},
                      {"params": [gk.Tensor(np.zeros(3, np.float32), requires_grad=True)], "lr": LRS[1]}], lr=LRS[0])
    theirs = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)]},
                              {"params": [torch.zeros(3, requires_grad=True)], "lr": LRS[1]}], lr=LRS[0])
    return ours, theirs


def _sequence(optimizer, scheduler, steps, metrics=None):
    lrs = [scheduler.get_last_lr()]
    for i in range(steps):
        optimizer.step()  # no gradients: nothing moves, but torch wants step() before the schedule
        scheduler.step(metrics[i]) if metrics is not None else scheduler.step()
        lrs.append(scheduler.get_last_lr())
        assert lrs[-1] == [g["lr"] for g in optimizer.param_groups]
    return lrs


def _same(a, b):
    assert a == b  # the same arithmetic in the same order: equal to the last bit


# name -> function(module, optimizer) building the schedule; module is gradkit.optim or torch's
SCHEDULES = {
    "step": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "multistep": lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "constant": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=6),
    "linear-warmup": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=10),
    "linear-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=15),
    "exponential": lambda m, o: m.ExponentialLR(o, gamma=0.93),
    "cosine": lambda m, o: m.CosineAnnealingLR(o, T_max=15, eta_min=1e-3),
    "lambda": lambda m, o: m.LambdaLR(o, lambda epoch: 1.0 / (1 + epoch)),
    "warmup-then-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=20)], milestones=[5]),
    "three-phases": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.5, total_iters=4), m.ExponentialLR(o, gamma=0.9), m.StepLR(o, step_size=5)],
        milestones=[4, 15]),
    "chained": lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9)]),
    "chained-warmup-multistep": lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.2, total_iters=4), m.MultiStepLR(o, milestones=[10, 20])]),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_matches_torch(name):
    ours_opt, theirs_opt = _optimizers()
    ours = _sequence(ours_opt, SCHEDULES[name](optim, ours_opt), 40)
    theirs = _sequence(theirs_opt, SCHEDULES[name](tls, theirs_opt), 40)
    assert len({tuple(lr) for lr in ours}) > 1, "the schedule never changes the lr"
    _same(ours, theirs)


METRICS = [1.0, 0.9, 0.9, 0.95, 0.9, 0.89995, 0.8, 0.8, 0.8, 0.81, 0.8, 0.79, 0.7, 0.7, 0.7, 0.7, 0.7,
           0.69, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.6, 0.6, 0.6, 0.6]
PLATEAUS = {
    "min-rel": dict(patience=2),
    "min-abs-cooldown": dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2, factor=0.5),
    "max-rel": dict(mode="max", patience=3, factor=0.3),
    "max-abs-floors": dict(mode="max", threshold_mode="abs", patience=0, factor=0.5, min_lr=[0.01, 0.015]),
}


@pytest.mark.parametrize("name", sorted(PLATEAUS))
def test_reduce_on_plateau_matches_torch(name):
    ours_opt, theirs_opt = _optimizers()
    kw = PLATEAUS[name]
    ours = _sequence(ours_opt, optim.ReduceLROnPlateau(ours_opt, **kw), len(METRICS), METRICS)
    theirs = _sequence(theirs_opt, tls.ReduceLROnPlateau(theirs_opt, **kw), len(METRICS), METRICS)
    assert ours[-1] != ours[0]
    _same(ours, theirs)


@pytest.mark.parametrize("name", ["cosine", "multistep", "warmup-then-cosine", "chained", "plateau"])
def test_schedule_resumes_from_state_dict(name, json_round_trip):
    def build(opt):
        if name == "plateau":
            return optim.ReduceLROnPlateau(opt, patience=1, cooldown=1)
        return SCHEDULES[name](optim, opt)

    def advance(opt, scheduler, steps, start):
        out = []
        for i in range(start, start + steps):
            scheduler.step(METRICS[i]) if name == "plateau" else scheduler.step()
            out.append(scheduler.get_last_lr())
        return out

    opt, _ = _optimizers()
    scheduler = build(opt)
    advance(opt, scheduler, 10, 0)
    saved_opt, saved_sched = json_round_trip(opt.state_dict()), json_round_trip(scheduler.state_dict())
    expected = advance(opt, scheduler, 15, 10)

    fresh_opt, _ = _optimizers()
    fresh = build(fresh_opt)  # schedules first, then the optimizer's state, as in PyTorch
    fresh_opt.load_state_dict(saved_opt)
    fresh.load_state_dict(saved_sched)
    assert advance(fresh_opt, fresh, 15, 10) == expected


def test_composition_rejects_strangers():
    opt, _ = _optimizers()
    other, _ = _optimizers()
    with pytest.raises(ValueError, match="drives another optimizer"):
        optim.ChainedScheduler([optim.ExponentialLR(opt, 0.9), optim.ExponentialLR(other, 0.9)])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        optim.SequentialLR(opt, [optim.ExponentialLR(opt, 0.9), optim.ReduceLROnPlateau(opt)], milestones=[3])
    with pytest.raises(ValueError, match="2 schedulers need 1 milestones, got 2"):
        optim.SequentialLR(opt, [optim.ExponentialLR(opt, 0.9), optim.StepLR(opt, 3)], milestones=[3, 5])
    with pytest.raises(TypeError, match="expected an Optimizer"):
        optim.StepLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)]), step_size=2)
