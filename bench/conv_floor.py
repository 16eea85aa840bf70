"""How much of a ResNet-20 step's convolution time is the matrix products themselves.

    python -m bench.conv_floor [--threads N]

Every conv layer of ResNet-20 (batch 64, CIFAR-shaped) through ``_chunked`` as a training step ran
it up to session 8 (forward, weight gradient, input gradient), then again with the gathers and scatters replaced by
no-ops: what is left is the products and the Python loop over the chunks (``_chunked.COMPILED``
off: the compiled loops hold their own gathers), the floor of im2col + GEMM on these shapes. The forward pass and the weight gradient then read columns written once with
finite values (a buffer per layer, only read, so the threads share it); the input gradient writes
its columns, so it keeps a buffer per thread. Figures in ms per step (best of 7 rounds), summed
over the layers; compare them with PyTorch's convolution time in ``python -m bench.profile resnet20``.

Every layer is timed on the im2col + GEMM path, forward, weight gradient and col2im input gradient:
the floor of that algorithm. Since session 9 a step runs the six 16 -> 16 layers by the direct loops
(``conv.DIRECT_MAX_CHANNEL_PAIRS``) and the input gradient of the stride-1 layers up to 32 x 32
channels as a forward convolution (``conv.TRANSPOSED``), so "as run" is that path's time, not the step's.
"""
from __future__ import annotations

import argparse
import time

from .models import _pin_threads

# (in channels, out channels, input size, kernel, stride, padding, layers of this shape); the stem
# (3 -> 16) takes the direct loops and is left out
LAYERS = [(16, 16, 32, 3, 1, 1, 6), (16, 32, 32, 3, 2, 1, 1), (32, 32, 16, 3, 1, 1, 5), (16, 32, 32, 1, 2, 0, 1),
          (32, 64, 16, 3, 2, 1, 1), (64, 64, 8, 3, 1, 1, 5), (32, 64, 16, 1, 2, 0, 1)]
BATCH = 64


def _best(fn, repeats: int = 5, rounds: int = 7) -> float:
    fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best * 1e3


def _layer(rng, c, o, size, k, stride, padding, bare: bool):
    """(forward, weight gradient, input gradient) ms of one layer; ``bare``: no gathers or scatters."""
    import numpy
    from gradkit.functional import _chunked, conv
    x = rng.standard_normal((BATCH, c, size, size)).astype(numpy.float32)
    w = rng.standard_normal((o, c, k, k)).astype(numpy.float32)
    pairs, conv.DIRECT_MAX_CHANNEL_PAIRS = conv.DIRECT_MAX_CHANNEL_PAIRS, 0  # every layer by im2col + GEMM
    try:
        geometry = conv._Geometry(conv.Window("conv2d", k, stride, padding), 1, x.shape, w.shape)
    finally:
        conv.DIRECT_MAX_CHANNEL_PAIRS = pairs
    xc, wm, plan = numpy.ascontiguousarray(x.transpose(1, 0, 2, 3)), w.reshape(o, -1), geometry.plan(x.dtype)
    ym = numpy.empty((o, BATCH * plan.pixels), numpy.float32)
    gy = rng.standard_normal(ym.shape).astype(numpy.float32)
    dxc = numpy.zeros_like(xc)
    columns = rng.standard_normal((plan.rows, plan.images * plan.pixels)).astype(numpy.float32)
    read_only = plan.buffer if not bare else (lambda: columns)
    timings = []
    for name, fn in (("forward", lambda: _chunked.forward(plan, xc, wm, None, ym)),
                     ("weight", lambda: _chunked.weight_grad(plan, xc, gy)),
                     ("input", lambda: _chunked.input_grad(plan, wm, gy, dxc))):
        plan.buffer = read_only if name != "input" else type(plan).buffer.__get__(plan)
        timings.append(_best(fn))
    return timings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    _pin_threads(args.threads)
    import numpy
    from gradkit import threads
    from gradkit.functional import _chunked
    threads.set_num_threads(args.threads)
    rng = numpy.random.default_rng(0)
    gather, scatter, compiled = _chunked.gather, _chunked.scatter, _chunked.COMPILED
    totals = {"as run": numpy.zeros(3), "products only": numpy.zeros(3)}
    print(f"ResNet-20 conv layers, batch {BATCH}, {args.threads} thread(s); ms per call: forward, weight grad, input grad")
    for c, o, size, k, stride, padding, count in LAYERS:
        row = []
        for label, bare in (("as run", False), ("products only", True)):
            _chunked.gather, _chunked.scatter = (lambda *a: None, lambda *a: None) if bare else (gather, scatter)
            _chunked.COMPILED = compiled and not bare  # the compiled loops hold their own gathers
            try:
                figures = _layer(rng, c, o, size, k, stride, padding, bare)
            finally:
                _chunked.gather, _chunked.scatter, _chunked.COMPILED = gather, scatter, compiled
            totals[label] += count * numpy.array(figures)
            row.append(f"{label} " + " / ".join(f"{v:.2f}" for v in figures))
        print(f"  {c:>2} -> {o:>2}, {size}x{size}, {k}x{k} stride {stride}, x{count}: " + "; ".join(row))
    for label, total in totals.items():
        print(f"per step, {label}: " + " / ".join(f"{v:.1f}" for v in total) + f" ms, {total.sum():.1f} ms in all")


if __name__ == "__main__":
    main()
