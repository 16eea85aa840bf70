"""Engine overhead: forward + backward of a 5-layer ReLU MLP at batch 100.

The same arithmetic three ways, timed in one run: gradkit ops (autodiff), raw NumPy with the
backward written by hand, and PyTorch on the CPU. The target is gradkit within 1.15x of raw NumPy:
the autodiff bookkeeping must be nearly free.

    python -m bench.engine [--threads N]
"""
from __future__ import annotations

import argparse
import os


def build(sizes=(784, 100, 100, 100, 100, 10), batch: int = 100, seed: int = 0):
    import numpy
    rng = numpy.random.default_rng(seed)
    x = rng.random((batch, sizes[0]), dtype=numpy.float32)
    t = numpy.eye(sizes[-1], dtype=numpy.float32)[rng.integers(0, sizes[-1], batch)]
    weights = [(rng.standard_normal((m, n)) * numpy.sqrt(2 / m)).astype(numpy.float32) for m, n in zip(sizes, sizes[1:])]
    biases = [numpy.zeros(n, dtype=numpy.float32) for n in sizes[1:]]
    return x, t, weights, biases


def numpy_step(x, t, weights, biases):
    """Forward and hand-written backward; returns the loss and the gradients."""
    import numpy
    hs, h = [x], x
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = h @ w + b
        if i != len(weights) - 1:
            h = numpy.maximum(h, 0)
        hs.append(h)
    diff = h - t
    loss = (diff * diff).sum() / len(x)
    g = diff * (2 / len(x))
    grads = []
    for i in reversed(range(len(weights))):
        if i != len(weights) - 1:
            g = g * (hs[i + 1] > 0)
        grads.append((hs[i].T @ g, g.sum(axis=0)))
        if i:
            g = g @ weights[i].T
    return loss, grads


def framework_step(x, t, params):
    """The same step for gradkit and PyTorch: both spell these ops alike."""
    h = x
    n = len(params) // 2
    for i in range(n):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i != n - 1:
            h = h.relu()
    diff = h - t
    loss = (diff * diff).sum() / x.shape[0]
    for p in params:
        p.grad = None
    loss.backward()
    return loss


def run(threads: int | None = None, repeats: int = 7, inner: int = 50) -> dict:
    import numpy
    import torch
    import gradkit as gk
    from .timing import interleaved

    if threads:
        torch.set_num_threads(threads)
    x, t, weights, biases = build()
    gk_params = [gk.Tensor(a, requires_grad=True) for pair in zip(weights, biases) for a in pair]
    th_params = [torch.tensor(a, requires_grad=True) for pair in zip(weights, biases) for a in pair]
    gx, gt = gk.Tensor(x), gk.Tensor(t)
    tx, tt = torch.tensor(x), torch.tensor(t)

    # the three must compute the same thing before we time them
    loss_np, grads_np = numpy_step(x, t, weights, biases)
    loss_gk = framework_step(gx, gt, gk_params)
    loss_th = framework_step(tx, tt, th_params)
    numpy.testing.assert_allclose(loss_gk.item(), loss_np, rtol=1e-5)
    numpy.testing.assert_allclose(loss_th.item(), loss_np, rtol=1e-5)
    numpy.testing.assert_allclose(gk_params[0].grad.data, grads_np[-1][0], rtol=1e-4, atol=1e-6)

    return interleaved({
        "numpy (hand-written backward)": lambda: numpy_step(x, t, weights, biases),
        "gradkit": lambda: framework_step(gx, gt, gk_params),
        "pytorch": lambda: framework_step(tx, tt, th_params),
    }, repeats=repeats, inner=inner)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (numpy follows OMP/OPENBLAS env)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    from .timing import table
    results = run(args.threads, args.repeats)
    print(f"5-layer MLP 784-100x4-10, batch 100, float32, forward + backward (cpus: {os.cpu_count()})\n")
    print(table(results, "numpy (hand-written backward)"))
    return results


if __name__ == "__main__":
    main()
