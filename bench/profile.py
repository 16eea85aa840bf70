"""Where a training step's time goes, op by op, in gradkit and in PyTorch (same model, batch, threads).

    python -m bench.profile resnet resnet20 mlp [--threads N] [--steps N]

gradkit: every ``Function`` subclass's ``forward`` (the array work of each op, in the forward pass
and in backward, whose rules are ops too) is wrapped in a timer for the profiled steps, keyed by the
op and by the phase (``fwd`` while a graph is recorded, ``bwd`` inside backward); the optimiser's
``step`` is timed as one entry; what is left of the step is Python and bookkeeping. PyTorch:
``torch.profiler``'s self CPU time per op. Both report milliseconds per step, and the two steps'
plain times (no profiler) are taken interleaved first, so their ratio is comparable with the bench.
"""
from __future__ import annotations

import argparse
import collections
import time

from .models import _pin_threads


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


class OpTimer:
    """Wraps ``forward`` of every Function subclass (and ``opt.step``) with a timer while active."""

    def __init__(self):
        self.totals = collections.defaultdict(float)
        self.patched = []

    def __enter__(self):
        from gradkit.autograd.function import Function
        from gradkit.autograd.mode import Mode
        totals = self.totals
        for cls in set(_subclasses(Function)):
            if "forward" not in cls.__dict__:
                continue
            original = cls.__dict__["forward"]

            def timed(self, *args, _original=original, _name=cls.__name__):
                start = time.perf_counter()
                try:
                    return _original(self, *args)
                finally:
                    totals[(_name, "fwd" if Mode.grad_enabled else "bwd")] += time.perf_counter() - start
            cls.forward = timed
            self.patched.append((cls, original))
        from gradkit.functional.norm import BatchNorm  # its fused backward calls no Function: timed itself
        original = BatchNorm._fused_backward

        def timed_backward(self, *args, _original=original):
            start = time.perf_counter()
            try:
                return _original(self, *args)
            finally:
                totals[("BatchNorm (fused backward)", "bwd")] += time.perf_counter() - start
        BatchNorm._fused_backward = timed_backward
        self.patched.append((BatchNorm, original))
        return self

    def __exit__(self, *exc):
        for cls, original in self.patched:
            setattr(cls, "_fused_backward" if original.__name__ == "_fused_backward" else "forward", original)
        self.patched = []


def _workload(name: str):
    """(gradkit model, torch twin, optimiser factory, batch size, input shape) of a bench workload."""
    from gradkit import nn
    from . import workloads as W
    if name == "resnet":
        return W._gk_resnet(), W._torch_resnet(), W._sgd(0.05, 0.9), 100, (1, 28, 28)
    if name == "resnet20":
        return nn.models.resnet20(rng=0), W._torch_resnet20(), W._sgd(0.05, 0.9), 64, (3, 32, 32)
    if name == "mlp":
        return W._gk_mlp_of([784] + [100] * 4 + [10]), W._torch_mlp(), W._sgd(0.01), 100, (1, 28, 28)
    raise ValueError(f"unknown workload {name!r}")


def profile(name: str, steps: int, blocks: int = 5) -> str:
    import numpy
    import torch
    import gradkit as gk
    from .models import _copy_weights
    from .timing import interleaved
    from .workloads import gradkit_step, torch_step

    gk_model, th_model, optimizer, batch, shape = _workload(name)
    _copy_weights(gk_model, th_model)
    rng = numpy.random.default_rng(0)
    x = gk.Tensor(rng.standard_normal((batch,) + shape, dtype=numpy.float32))
    y = gk.Tensor(rng.integers(0, 10, batch))
    gk_opt, th_opt = optimizer(gk_model.parameters(), False), optimizer(th_model.parameters(), True)
    gk_one, th_one = gradkit_step(gk_model, gk_opt), torch_step(th_model, th_opt)
    for _ in range(3):
        gk_one(x, y), th_one(x, y)
    times = interleaved({"gradkit": lambda: gk_one(x, y), "pytorch": lambda: th_one(x, y)},
                        repeats=blocks, inner=steps, warmup=0)
    lines = [f"## {name}: batch {batch}, {gk.threads.get_num_threads()} thread(s); step (median of {blocks} "
             f"blocks of {steps}): gradkit {times['gradkit']['median'] * 1e3:.1f} ms, pytorch "
             f"{times['pytorch']['median'] * 1e3:.1f} ms, ratio {times['gradkit']['median'] / times['pytorch']['median']:.2f}"]

    timer = OpTimer()
    step_time = opt_time = 0.0
    original_step = gk_opt.step
    with timer:
        for _ in range(steps):
            start = time.perf_counter()
            gk_one(x, y)
            step_time += time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        original_step()
    opt_time = time.perf_counter() - start
    rows = sorted(timer.totals.items(), key=lambda kv: -kv[1])
    ops = sum(timer.totals.values())
    lines += ["", f"gradkit, {steps} steps with op timers: {step_time / steps * 1e3:.1f} ms per step; ops "
                  f"{ops / steps * 1e3:.1f} ms, optimiser step alone (timed apart) {opt_time / steps * 1e3:.1f} ms",
              "", "| op | phase | ms per step |", "| --- | --- | --- |"]
    lines += [f"| {op} | {phase} | {t / steps * 1e3:.2f} |" for (op, phase), t in rows if t / steps >= 5e-5]

    from torch.profiler import ProfilerActivity, profile as torch_profile
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            th_one(x, y)
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    lines += ["", f"pytorch, {steps} steps under torch.profiler (self CPU time)", "",
              "| op | calls per step | ms per step |", "| --- | --- | --- |"]
    lines += [f"| {e.key} | {e.count / steps:.0f} | {e.self_cpu_time_total / steps / 1e3:.2f} |"
              for e in events if e.self_cpu_time_total / steps >= 50]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", choices=("resnet", "resnet20", "mlp"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    _pin_threads(args.threads)
    import torch
    import gradkit as gk
    torch.set_num_threads(args.threads)
    for name in args.names:
        gk.threads.set_num_threads(args.threads)
        print(profile(name, args.steps))
        print()


if __name__ == "__main__":
    main()
