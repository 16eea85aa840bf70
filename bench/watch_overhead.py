"""What ``gk.doctor.watch`` costs a PyTorch training loop: steps with the watch against the same steps without.

    python -m bench.watch_overhead [--repeats 15]

One timed unit is a block of 10 training steps of a plain PyTorch loop (zero_grad, forward,
cross-entropy, backward, SGD step; batch 100, float32, one torch thread) on fixed MNIST batches. The
watch probes every 10th step, so each watched block holds exactly one measured step and nine plain
ones, as a long run does (its step counter runs on from block to block; it is attached for the block
and detached after it, so the plain blocks run with no hook at all). Plain and watched blocks are
interleaved (A B A B ...) so the machine's noise falls on both; the ratio of the medians is the
figure, the ratio of the minima (the least disturbed blocks) is printed beside it. Target (issue 17):
<= 10 % extra time per step. Not a timed test: the figure goes into bench/README.md.
"""
from __future__ import annotations

import argparse


def _model(name: str):
    from torch import nn
    if name == "mlp":
        layers = [nn.Flatten()]
        for a, b in zip([784, 100, 100, 100], [100, 100, 100, 100]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        return nn.Sequential(*layers, nn.Linear(100, 10))
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def _contestants(name: str, steps: int = 10):
    import numpy
    import torch

    import gradkit as gk
    train, _ = gk.data.load("mnist-10k")
    images = torch.from_numpy(numpy.asarray(train.images[:steps * 100], dtype=numpy.float32).reshape(-1, 1, 28, 28) / 255)
    labels = torch.from_numpy(numpy.asarray(train.labels[:steps * 100], dtype=numpy.int64))
    batches = [(images[i * 100:(i + 1) * 100], labels[i * 100:(i + 1) * 100]) for i in range(steps)]
    loss_fn = torch.nn.CrossEntropyLoss()

    def make(with_watch: bool):
        torch.manual_seed(0)
        model = _model(name)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        watch = gk.doctor.watch(model, opt, every=steps) if with_watch else None

        def block():
            if watch is not None:
                watch.attach()
            for x, y in batches:
                opt.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()
            if watch is not None:
                watch.detach()
        return block

    return {"plain": make(False), "watch every 10": make(True)}


def main(argv=None) -> int:
    import torch

    from .timing import interleaved
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"load average at start: {load}")
    print("| model (PyTorch) | plain (ms/step, median) | with watch every 10 (ms/step) | extra per step (medians) | "
          "extra per step (minima) |")
    print("| --- | --- | --- | --- | --- |")
    for name in ("mlp", "lenet5"):
        results = interleaved(_contestants(name), repeats=args.repeats, inner=1, warmup=2)
        plain, watched = results["plain"], results["watch every 10"]
        print(f"| {name} | {plain['median'] * 100:.2f} | {watched['median'] * 100:.2f} | "
              f"{watched['median'] / plain['median'] - 1:+.1%} | {watched['min'] / plain['min'] - 1:+.1%} |", flush=True)
    with open("/proc/loadavg") as f:
        print(f"load average at the end: {f.read().split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
