"""The workloads of ``python -m bench``: gradkit models and their PyTorch twins, run side by side.

Each twin starts from gradkit's initial weights (copied through the state dicts, whose names agree)
and is fed the very same batches: run ``i`` of either framework iterates a gradkit DataLoader
seeded with ``i``, so both pay the loader alike (its cost alone is its own workload). Before
anything is timed, the twins' logits on the first batch must agree (eval mode, so dropout and
batch statistics cannot differ).

FLOPs count the matrix products only (Linear and Conv2d), per training step: forward, input
gradient (skipped for the first layer, whose input needs none, as both frameworks skip it) and
weight gradient, 2 flops per multiply-add. Elementwise work is left out, so GFLOP/s is the rate
of useful GEMM work, comparable across frameworks.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from .models import _copy_weights, _torch_lenet, _torch_mlp


@dataclass
class Workload:
    """One row of RESULTS.md: a unit of work (an epoch, some steps) for each contestant."""
    name: str
    unit: str
    contestants: dict            # label -> callable running one unit (the k-th call: run k's batches)
    flops: float = 0.0           # per unit, 0 where it means nothing
    baseline: str = "pytorch"
    inner: int = 1               # units per timed repeat
    warmup: int = 0              # untimed units first
    notes: list = field(default_factory=list)
    contestant_flops: dict = field(default_factory=dict)  # label -> flops per unit, where not ``flops``


# ---------------------------------------------------------------------------------------- twins
def _gk_mlp_of(sizes, batch_norm=False, dropout=0.0):
    from gradkit import nn
    return nn.Sequential(nn.Flatten(), *nn.models.mlp(sizes[0], sizes[1:-1], sizes[-1], init=None, batch_norm=batch_norm,
                                                      dropout=dropout, rng=0))


RESNET_PLAN = [(8, 8, 1), (8, 16, 2), (16, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (32, 32, 1)]


def _gk_resnet():
    """A stem conv3x3(1->8)-BN-ReLU, the 7 basic blocks of RESNET_PLAN, global average pool, Linear."""
    from gradkit import nn
    from gradkit.nn.blocks import ConvResidualBlock
    blocks = [ConvResidualBlock(c, o, s, rng=i) for i, (c, o, s) in enumerate(RESNET_PLAN)]
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False, rng=100), nn.BatchNorm2d(8), nn.ReLU(), *blocks,
                         nn.GlobalAvgPool2d(), nn.Linear(RESNET_PLAN[-1][1], 10, rng=101))


def _torch_resnet():
    import torch
    import torch.nn as tnn

    class Block(tnn.Module):  # the attribute names of gradkit's ConvResidualBlock, so the state dicts agree
        def __init__(self, c, o, s):
            super().__init__()
            self.body = tnn.Sequential(tnn.Conv2d(c, o, 3, s, 1, bias=False), tnn.BatchNorm2d(o), tnn.ReLU(),
                                       tnn.Conv2d(o, o, 3, 1, 1, bias=False), tnn.BatchNorm2d(o))
            self.shortcut = (tnn.Sequential(tnn.Conv2d(c, o, 1, s, bias=False), tnn.BatchNorm2d(o))
                             if (c, s) != (o, 1) else tnn.Identity())

        def forward(self, x):
            return torch.relu(self.body(x) + self.shortcut(x))

    class GlobalAvgPool(tnn.Module):  # one module, as gradkit's GlobalAvgPool2d, so the layer indices agree
        def forward(self, x):
            return x.mean((2, 3))

    return tnn.Sequential(tnn.Conv2d(1, 8, 3, padding=1, bias=False), tnn.BatchNorm2d(8), tnn.ReLU(),
                          *[Block(*plan) for plan in RESNET_PLAN], GlobalAvgPool(), tnn.Linear(RESNET_PLAN[-1][1], 10))


def training_flops(model, x) -> float:
    """GEMM flops of one training step of a gradkit model on batch ``x`` (see the module docstring)."""
    from gradkit import nn, no_grad
    records = []

    def hook(module, inputs, output):
        w = module.weight.shape
        per_output = w[1] if isinstance(module, nn.Linear) else w[1] * w[2] * w[3]  # multiply-adds per output
        records.append(2.0 * output.numel() * per_output)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    with no_grad():
        model(x)
    for h in handles:
        h.remove()
    return sum(3 * f for f in records) - (records[0] if records else 0.0)


def _check_twins(name, gk_model, th_model, x):
    import numpy
    import torch
    gk_model.eval(), th_model.eval()
    with torch.no_grad():
        expected = th_model(torch.from_numpy(x.data)).numpy()
    got = gk_model(x).data
    gk_model.train(), th_model.train()
    if not numpy.allclose(got, expected, rtol=1e-3, atol=1e-4):
        raise AssertionError(f"{name}: gradkit and torch disagree on the first batch's logits "
                             f"(max difference {numpy.abs(got - expected).max():.3g})")


# ---------------------------------------------------------------------------------------- units
def gradkit_step(model, opt):
    """One gradkit training step on a batch (x, y) of Tensors: cross-entropy, backward, optimiser."""
    from gradkit import functional as F

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def torch_step(model, opt):
    """The same step in PyTorch, on the same gradkit batch (its arrays shared, not copied)."""
    import torch

    def step(x, y):
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x.data)), torch.from_numpy(y.data))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def _unit(step, loader_for, steps=None):
    """Run ``step`` over the k-th call's batches, ``loader_for(k)`` (its first ``steps``, or the epoch)."""
    calls = itertools.count()

    def run():
        for k, (x, y) in enumerate(loader_for(next(calls))):
            if steps is not None and k == steps:
                break
            step(x, y)
    return run


def build_training(name, gk_model, th_model, optimizers, data, batch, steps=None, notes=()) -> Workload:
    """A training workload: gradkit's model and its twin, ``optimizers(params, torch?)`` each."""
    import gradkit as gk
    _copy_weights(gk_model, th_model)

    def loader_for(i):
        return gk.data.DataLoader(data, batch_size=batch, shuffle=True, rng=i)

    x, _ = next(iter(loader_for(0)))
    _check_twins(name, gk_model, th_model, x)
    gk_step = gradkit_step(gk_model, optimizers(gk_model.parameters(), False))
    th_step = torch_step(th_model, optimizers(th_model.parameters(), True))
    for x, y in list(loader_for(10_000))[:3]:  # warm caches and allocators, outside the timed runs
        gk_step(x, y)
        th_step(x, y)
    n_steps = steps if steps is not None else -(-len(data) // batch)
    unit = f"{steps} steps" if steps is not None else f"epoch ({len(data)} samples)"
    return Workload(name, unit, {"gradkit": _unit(gk_step, loader_for, steps), "pytorch": _unit(th_step, loader_for, steps)},
                    flops=training_flops(gk_model, x) * n_steps, notes=list(notes))


def _sgd(lr, momentum=0.0):
    def make(params, is_torch):
        import torch
        from gradkit import optim
        return (torch.optim.SGD if is_torch else optim.SGD)(params, lr=lr, momentum=momentum)
    return make


def _adam(lr):
    def make(params, is_torch):
        import torch
        from gradkit import optim
        return (torch.optim.Adam if is_torch else optim.Adam)(params, lr=lr)
    return make


def _numpy_gemm(n: int):
    """One float32 n x n x n NumPy product (gradkit's engine) as a callable, its inputs made once."""
    import numpy
    rng = numpy.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=numpy.float32) for _ in range(2))
    out = numpy.empty_like(a)
    return lambda: numpy.matmul(a, b, out=out), a, b


def gemm_workload(n: int = 2048) -> Workload:
    """float32 GEMM n x n x n, NumPy (gradkit's engine) and torch.mm: the peak the others are measured against."""
    import torch
    gemm, a, b = _numpy_gemm(n)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    tout = torch.empty(n, n)
    return Workload(f"float32 GEMM {n}x{n}x{n}", "call", {"numpy": gemm, "pytorch": lambda: torch.mm(ta, tb, out=tout)},
                    flops=2.0 * n ** 3, baseline="numpy", inner=3, warmup=1)


PEAK = "numpy GEMM peak"


def with_gemm_peak(workload: Workload, calls: int = 4, n: int = 2048) -> Workload:
    """Add NumPy's GEMM peak as a third contestant, interleaved with the other two: a share of the peak
    then compares rates taken moments apart. (Measured in a separate row, the peak and the wide MLP
    were taken a minute apart, and on this shared machine the share swung from 64% to 81% between two
    runs of the suite; PyTorch's swung alike.)"""
    gemm, _, _ = _numpy_gemm(n)

    def peak():
        for _ in range(calls):
            gemm()

    workload.contestants[PEAK] = peak
    workload.contestant_flops[PEAK] = calls * 2.0 * n ** 3
    return workload


def loader_workload(data, batch: int = 100) -> Workload:
    import torch
    import gradkit as gk
    images = torch.from_numpy(data.images)
    labels = torch.from_numpy(data.labels)

    def gk_epoch():
        for _ in gk.data.DataLoader(data, batch_size=batch, shuffle=True, rng=0):
            pass

    def th_epoch():
        for _ in torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=batch,
                                             shuffle=True):
            pass

    return Workload("DataLoader alone, batch 100, shuffled", f"epoch ({len(data)} samples)",
                    {"gradkit": gk_epoch, "pytorch": th_epoch},
                    notes=["PyTorch: torch.utils.data.DataLoader over a TensorDataset, num_workers=0"])


def training_workloads(train, quick: bool) -> dict:
    """name -> a thunk building the workload (built only when selected)."""
    from gradkit import nn
    steps = 5 if quick else 20
    return {
        "mlp": lambda: build_training("MLP 784-100x4-10, ReLU, SGD lr 0.01, batch 100", _gk_mlp_of([784] + [100] * 4 + [10]),
                                      _torch_mlp(), _sgd(0.01), train, 100),
        "lenet5": lambda: build_training("LeNet-5, Adam lr 1e-3, batch 100", nn.models.lenet5(rng=0), _torch_lenet(),
                                         _adam(1e-3), train, 100),
        "wide": lambda: with_gemm_peak(build_training("wide MLP 784-1024-1024-10, SGD lr 0.01, batch 256",
                                                      _gk_mlp_of([784, 1024, 1024, 10]),
                                                      _torch_mlp([784, 1024, 1024, 10]), _sgd(0.01), train, 256)),
        "bn_dropout": lambda: build_training("MLP 784-256-256-10 + BatchNorm + dropout 0.2, Adam lr 1e-3, batch 100",
                                             _gk_mlp_of([784, 256, 256, 10], True, 0.2),
                                             _torch_mlp([784, 256, 256, 10], True, 0.2), _adam(1e-3), train, 100),
        "resnet": lambda: build_training("residual CNN: 7 basic blocks (17 conv), BN, 8-32 channels, SGD momentum, "
                                         "batch 100", _gk_resnet(), _torch_resnet(), _sgd(0.05, 0.9), train, 100,
                                         steps=steps),
    }
