"""Paired A/B of engine settings inside one training step, each against PyTorch's step in between.

    python -m bench.ab resnet20 --set "gradkit.functional.conv.CHUNKED=False" --set "...=True" [--threads N]

Each ``--set`` is one setting (``module.attribute=value``; ``;`` between several). Blocks of
``--steps`` gradkit steps under each setting alternate with a block of PyTorch steps on the same
batch; every setting's figure is the median over ``--blocks`` of its block time over the PyTorch
block next to it, so the machine's speed, which drifts, falls on both sides of every ratio.
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import time

from .models import _pin_threads


def _apply(setting: str) -> None:
    for item in filter(None, (s.strip() for s in setting.split(";"))):
        target, value = item.split("=", 1)
        module, attribute = target.rsplit(".", 1)
        setattr(importlib.import_module(module), attribute, eval(value))  # a developer's own command line


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=("resnet", "resnet20", "lenet5"))
    parser.add_argument("--set", action="append", default=[], dest="settings")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=10)
    args = parser.parse_args(argv)
    _pin_threads(args.threads)
    import numpy
    import torch
    import gradkit as gk
    from .models import _copy_weights, _torch_lenet
    from .profile import _workload
    from .workloads import _adam, gradkit_step, torch_step
    torch.set_num_threads(args.threads)
    gk.threads.set_num_threads(args.threads)
    if args.name == "lenet5":
        gk_model, th_model, optimizer, batch, shape = gk.nn.models.lenet5(rng=0), _torch_lenet(), _adam(1e-3), 100, (1, 28, 28)
    else:
        gk_model, th_model, optimizer, batch, shape = _workload(args.name)
    _copy_weights(gk_model, th_model)
    rng = numpy.random.default_rng(0)
    x = gk.Tensor(rng.standard_normal((batch,) + shape, dtype=numpy.float32))
    y = gk.Tensor(rng.integers(0, 10, batch))
    gk_one = gradkit_step(gk_model, optimizer(gk_model.parameters(), False))
    th_one = torch_step(th_model, optimizer(th_model.parameters(), True))
    settings = args.settings or [""]

    def block(step):
        start = time.perf_counter()
        for _ in range(args.steps):
            step(x, y)
        return (time.perf_counter() - start) / args.steps

    for setting in settings:
        _apply(setting)
        block(gk_one)
    block(th_one)
    ratios = {s: [] for s in settings}
    times = {s: [] for s in settings}
    for _ in range(args.blocks):
        for setting in settings:
            _apply(setting)
            mine = block(gk_one)
            ratios[setting].append(mine / block(th_one))
            times[setting].append(mine)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"{args.name}, {args.threads} thread(s), batch {batch}, load after {load}")
    for setting in settings:
        print(f"  {setting or '(as is)'}: ratio to pytorch {statistics.median(ratios[setting]):.2f} "
              f"(quartiles {numpy.percentile(ratios[setting], 25):.2f}-{numpy.percentile(ratios[setting], 75):.2f}), "
              f"gradkit step {statistics.median(times[setting]) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
