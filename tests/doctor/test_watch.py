"""``watch`` observes a loop without changing it: same numbers bit for bit, every hook gone on exit."""
import numpy
import pytest

import gradkit as gk
from gradkit import functional as F
from gradkit import nn, optim

torch = pytest.importorskip("torch")

from . import torch_zoo as zoo  # noqa: E402


def _torch_run(steps, use_watch):
    torch.set_num_threads(1)
    run = zoo.SETUPS["healthy-bn-dropout"](0)
    run.steps = steps
    if use_watch:
        with gk.doctor.watch(run.model, run.optimizer, every=3):
            zoo.train(run)
    else:
        zoo.train(run)
    return run


def test_a_watched_torch_loop_computes_bit_identical_losses_and_weights():
    plain, watched = _torch_run(25, False), _torch_run(25, True)
    assert plain.log == watched.log
    for (k, a), (_, b) in zip(plain.model.state_dict().items(), watched.model.state_dict().items()):
        assert torch.equal(a, b), k
    for a, b in zip(plain.optimizer.state_dict()["state"].values(), watched.optimizer.state_dict()["state"].values()):
        assert all(torch.equal(a[k], b[k]) for k in a)


def _hook_counts(model, optimizer):
    counts = [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()]
    return counts, len(optimizer._optimizer_step_pre_hooks), len(optimizer._optimizer_step_post_hooks)


def test_every_hook_is_removed_also_when_the_loop_raises():
    run = zoo.SETUPS["healthy-mlp"](0)
    before = _hook_counts(run.model, run.optimizer)
    backward = torch.Tensor.backward
    with pytest.raises(RuntimeError, match="in the loop"):
        with gk.doctor.watch(run.model, run.optimizer, every=1):
            x, y = run.x[:32], run.y[:32]
            run.loss_fn(run.model(x), y).backward()     # a measured step, left open
            raise RuntimeError("in the loop")
    assert _hook_counts(run.model, run.optimizer) == before
    assert torch.Tensor.backward is backward


def test_watch_on_a_gradkit_loop_is_bit_identical_and_diagnoses_stale_gradients():
    def run(use_watch, zero):
        model = nn.models.mlp(8, [16, 16], 3, rng=0)
        opt = optim.SGD(model.parameters(), lr=0.05)
        rng = numpy.random.default_rng(0)
        x, y = rng.standard_normal((64, 8)).astype("float32"), rng.integers(0, 3, 64)
        losses = []
        ctx = gk.doctor.watch(model, opt, every=2) if use_watch else None
        if ctx:
            ctx.__enter__()
        for _ in range(30):
            if zero:
                opt.zero_grad()
            loss = F.cross_entropy(model(gk.tensor(x)), gk.tensor(y))
            loss.backward()
            opt.step()
            losses.append(float(loss.data))
        if ctx:
            ctx.__exit__(None, None, None)
        return losses, [p.data.copy() for p in model.parameters()], ctx
    plain, watched = run(False, True), run(True, True)
    assert plain[0] == watched[0] and all((a == b).all() for a, b in zip(plain[1], watched[1]))
    assert "opt" not in vars(optim.SGD) and "step" not in vars(watched[2].optimizer)   # step unwrapped
    assert "stale_gradients" not in watched[2].report().names
    stale = run(True, False)[2].report()
    assert "stale_gradients" in stale.names and stale.primary.name == "stale_gradients"


def test_the_doctor_imports_torch_only_for_a_torch_model():
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = ("import sys, gradkit as gk; from gradkit import nn, optim\n"
            "m = nn.models.mlp(4, [8], 2, rng=0)\n"
            "with gk.doctor.watch(m, optim.SGD(m.parameters(), lr=0.1)): pass\n"
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=root))
    assert done.stdout.strip() == "False", done.stderr


def test_gradient_accumulation_is_not_stale_gradients():
    # two micro-batches per step, zero_grad after the step: legitimate, and no gradient crosses a step
    model = nn.models.mlp(8, [16, 16], 3, rng=0)
    opt = optim.SGD(model.parameters(), lr=0.05)
    rng = numpy.random.default_rng(0)
    x, y = rng.standard_normal((64, 8)).astype("float32"), rng.integers(0, 3, 64)
    with gk.doctor.watch(model, opt, every=2) as w:
        for _ in range(30):
            for half in (slice(0, 32), slice(32, 64)):
                F.cross_entropy(model(gk.tensor(x[half])), gk.tensor(y[half])).backward()
            opt.step()
            opt.zero_grad()
    assert w.step == 30 and "stale_gradients" not in w.report().names
