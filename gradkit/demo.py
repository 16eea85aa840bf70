"""A two-layer tanh network learning two interleaved spirals, written with the engine's ops only."""
from __future__ import annotations

import math

import numpy

import gradkit as gk


def spirals(n: int, rng: numpy.random.Generator):
    """Two spirals of n points each, with labels 0 and 1."""
    t = numpy.sqrt(rng.random(n)) * 3 * math.pi
    arm = numpy.stack([t * numpy.cos(t), t * numpy.sin(t)], axis=1) / (3 * math.pi)
    x = numpy.concatenate([arm, -arm]) + 0.02 * rng.standard_normal((2 * n, 2))
    y = numpy.concatenate([numpy.zeros(n), numpy.ones(n)])
    return x.astype(numpy.float32), y.astype(numpy.float32)


def run(steps: int = 2000, seed: int = 0, hidden: int = 64, lr: float = 0.2, log=print) -> float:
    rng = numpy.random.default_rng(seed)
    x, y = spirals(200, rng)
    x, y = gk.Tensor(x), gk.Tensor(y.reshape(-1, 1))
    w1 = gk.randn(2, hidden, rng=rng) * math.sqrt(1 / 2)
    w2 = gk.randn(hidden, hidden, rng=rng) * math.sqrt(1 / hidden)
    w3 = gk.randn(hidden, 1, rng=rng) * math.sqrt(1 / hidden)
    params = [w1.requires_grad_(), gk.zeros(hidden, requires_grad=True),
              w2.requires_grad_(), gk.zeros(hidden, requires_grad=True),
              w3.requires_grad_(), gk.zeros(1, requires_grad=True)]
    loss_value = float("nan")
    for step in range(1, steps + 1):
        h = (x @ params[0] + params[1]).tanh()
        h = (h @ params[2] + params[3]).tanh()
        p = (h @ params[4] + params[5]).sigmoid()
        loss = -(y * (p + 1e-7).log() + (1 - y) * (1 - p + 1e-7).log()).mean()
        for w in params:
            w.grad = None
        loss.backward()
        with gk.no_grad():
            for w in params:
                w.data -= lr * w.grad.data
        loss_value = loss.item()
        if step == 1 or step % max(1, steps // 10) == 0:
            accuracy = float(((p.data > 0.5) == (y.data > 0.5)).mean())
            log(f"step {step:4d}  loss {loss_value:.4f}  accuracy {accuracy:.3f}")
    return loss_value


if __name__ == "__main__":   # python -m gradkit.demo [--steps N] [--seed S]: the same as ``gradkit demo``
    import sys

    from .cli import main
    sys.exit(main(["demo", *sys.argv[1:]]))
