"""Whole training epochs on Fashion-MNIST against PyTorch, and the DataLoader's share of one.

    GRADKIT_DATA=/path/with/fashion-mnist python -m bench.epochs [--threads N] [--repeats R] [--limit N]

Both sides train the same model from the same weights on the same shuffled batches (gradkit's
DataLoader feeds both, so the loader costs both the same); the loader-only pass is timed apart.
"""
from __future__ import annotations

import argparse
import time

from .models import _copy_weights, _pin_threads, _torch_lenet, _torch_mlp
from .timing import summary


def _epoch_gradkit(model, opt, batches):
    from gradkit import functional as F
    start = time.perf_counter()
    for x, y in batches():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def _epoch_torch(model, opt, batches):
    import torch
    start = time.perf_counter()
    for x, y in batches():
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x.data)), torch.from_numpy(y.data))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def run(threads=None, repeats: int = 3, limit: int | None = None) -> dict:
    import numpy
    import torch
    import gradkit as gk
    from gradkit import nn, optim

    if threads:
        torch.set_num_threads(threads)
    train, _ = gk.data.load("fashion-mnist")
    if limit:
        train = train.subset(numpy.arange(limit))
    loader = gk.data.DataLoader(train, batch_size=100, shuffle=True, rng=0)

    def batches():
        return iter(loader)

    def loader_only():
        start = time.perf_counter()
        for _ in loader:
            pass
        return time.perf_counter() - start

    setups = {
        "MLP 784-256-128-10, Adam": (nn.Sequential(nn.Flatten(), *nn.models.mlp(784, [256, 128], 10, init=None, rng=0)),
                                     _torch_mlp((784, 256, 128, 10))),
        "LeNet-5, Adam": (nn.models.lenet5(rng=0), _torch_lenet()),
    }
    results = {}
    for name, (gk_model, th_model) in setups.items():
        _copy_weights(gk_model, th_model)
        gk_opt, th_opt = optim.Adam(gk_model.parameters(), lr=1e-3), torch.optim.Adam(th_model.parameters(), lr=1e-3)
        times = {"gradkit": [], "pytorch": [], "loader only": []}
        for _ in range(repeats):  # interleaved: one epoch each, in turn
            times["gradkit"].append(_epoch_gradkit(gk_model, gk_opt, batches))
            times["pytorch"].append(_epoch_torch(th_model, th_opt, batches))
            times["loader only"].append(loader_only())
        results[name] = {k: summary(v) for k, v in times.items()}
    return results


def report(results: dict) -> str:
    from .timing import table
    parts = []
    for name, r in results.items():
        share = r["loader only"]["median"] / r["gradkit"]["median"]
        parts.append(f"{name}, batch 100, one epoch (s)\n\n" + table(r, "pytorch", unit=1.0, unit_name="s")
                     + f"\n\nloader share of a gradkit epoch: {share:.1%}")
    return "\n\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N samples only")
    args = parser.parse_args(argv)
    _pin_threads(args.threads)
    results = run(args.threads, args.repeats, args.limit)
    print(report(results))
    return results


if __name__ == "__main__":
    main()
