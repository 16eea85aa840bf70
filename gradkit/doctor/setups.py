"""A set-up: a small frozen description of a training run (data, model, optimiser, budget, seed).

Because it is frozen data, a remedy is a function ``Setup -> Setup`` (``dataclasses.replace``) and
the remedy runner trains each modified copy with the same seed and the same budget. ``build``
turns a set-up into live objects with the public API (``nn.models`` builders, ``optim.create``).

    >>> s = Setup(depth=8, activation="sigmoid", init="normal:1.0")
    >>> run = build(s)                       # model, optimizer, train, val, loss_fn
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy

from .. import backend

DATASETS = ("mnist", "moons", "circles")
ARCHITECTURES = ("mlp", "residual", "highway")
LOSSES = ("cross_entropy", "naive_cross_entropy")
INPUTS = ("standardised", "raw")
LABELS = ("paired", "shuffled")


@dataclass(frozen=True)
class Setup:
    """A training run, frozen.

    Attributes:
        data: "mnist" (slices of the bundled mnist-10k, 2x2-average-pooled to 14x14 = 196 inputs,
            standardised), "moons" or "circles" (synthetic 2-D, 2 classes, drawn from ``seed``).
        n_train, n_val: examples in the training and validation slices.
        architecture: "mlp" (``nn.models.mlp``), "residual" (``deep_residual``), "highway" (``deep_highway``).
        depth, width: hidden layers and their width.
        activation: a name of ``nn.activations`` ("relu", "sigmoid", "tanh", "leaky_relu", ...).
        init: a name of ``nn.init`` ("he", "xavier", "zeros", ...) or "normal:STD" / "constant:VALUE".
        bias: the value every hidden bias starts at (negative values silence ReLU units).
        batch_norm, dropout: as in ``nn.models.mlp``.
        optimizer, lr, weight_decay: ``optim.create(optimizer, lr=lr[, weight_decay=...])``.
        clip: clip the gradient 2-norm to this value before each step (None: no clipping).
        loss: "cross_entropy" (fused, stable) or "naive_cross_entropy" (-log softmax, overflows).
        softmax: end the model with a Softmax layer (the loss still applies log-softmax: a bug).
        inputs: "standardised" or "raw" (mnist only: pixel values 0..255 as stored, a bug).
        labels: "paired" or "shuffled" (the training labels permuted: they no longer match their inputs).
        batch_size, steps, seed: the budget and the one seed every random thing flows from.
    """
    data: str = "mnist"
    n_train: int = 1024
    n_val: int = 512
    architecture: str = "mlp"
    depth: int = 3
    width: int = 64
    activation: str = "relu"
    init: str = "he"
    bias: float = 0.0
    batch_norm: bool = False
    dropout: float = 0.0
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip: float | None = None
    loss: str = "cross_entropy"
    softmax: bool = False
    inputs: str = "standardised"
    labels: str = "paired"
    batch_size: int = 64
    steps: int = 150
    seed: int = 0

    def __post_init__(self):
        checks = [("data", self.data in DATASETS, f"one of {DATASETS}"),
                  ("architecture", self.architecture in ARCHITECTURES, f"one of {ARCHITECTURES}"),
                  ("loss", self.loss in LOSSES, f"one of {LOSSES}"),
                  ("inputs", self.inputs in INPUTS, f"one of {INPUTS}"),
                  ("inputs", self.inputs == "standardised" or self.data == "mnist", "'standardised' for synthetic data"),
                  ("labels", self.labels in LABELS, f"one of {LABELS}"),
                  ("depth", self.depth >= 1, ">= 1"), ("width", self.width >= 1, ">= 1"),
                  ("n_train", self.n_train >= 2, ">= 2"), ("n_val", self.n_val >= 0, ">= 0"),
                  ("lr", self.lr > 0, "> 0"), ("steps", self.steps >= 1, ">= 1"),
                  ("batch_size", self.batch_size >= 1, ">= 1"),
                  ("clip", self.clip is None or self.clip > 0, "None or > 0")]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"Setup: {name} must be {expected}, got {getattr(self, name)!r}")
        initializer(self.init)  # fails early on an unknown initialiser

    def replace(self, **changes) -> "Setup":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        extra = [f"bias {self.bias:g}"] if self.bias else []
        extra += ["batch norm"] if self.batch_norm else []
        extra += [f"dropout {self.dropout:g}"] if self.dropout else []
        extra += [f"clip {self.clip:g}"] if self.clip else []
        extra += [f"weight decay {self.weight_decay:g}"] if self.weight_decay else []
        extra += [self.loss] if self.loss != "cross_entropy" else []
        extra += ["softmax output"] if self.softmax else []
        extra += [f"{self.inputs} inputs"] if self.inputs != "standardised" else []
        extra += [f"{self.labels} labels"] if self.labels != "paired" else []
        return (f"{self.architecture} {self.depth}x{self.width} {self.activation}, init {self.init}"
                + (", " + ", ".join(extra) if extra else "")
                + f"; {self.optimizer} lr {self.lr:g}; {self.data} ({self.n_train} train); "
                  f"{self.steps} steps of {self.batch_size}; seed {self.seed}")


def initializer(spec: str):
    """An initialiser from a registry name or "normal:STD" / "constant:VALUE"."""
    from ..nn import init
    if not isinstance(spec, str):
        raise TypeError(f"Setup.init must be a string, got {type(spec).__name__}")
    name, _, arg = spec.partition(":")
    if arg:
        try:
            value = float(arg)
        except ValueError:
            raise ValueError(f"Setup.init {spec!r}: {arg!r} is not a number") from None
        if name == "normal":
            return init.normal(std=value)
        if name == "constant":
            return init.constant(value)
        raise ValueError(f"Setup.init {spec!r}: only normal:STD and constant:VALUE take a number")
    init.get(spec)  # raises naming the registered initialisers
    return spec


@dataclass
class Run:
    """The live objects of a set-up."""
    setup: Setup
    model: object
    optimizer: object
    train: object
    val: object
    loss_fn: object


def build(setup: Setup) -> Run:
    """Model, optimiser, data and loss of ``setup``; the same set-up gives the same numbers."""
    from .. import nn, optim
    rng = numpy.random.default_rng(setup.seed)
    data_rng, model_rng = rng.spawn(2)
    train, val, n_in, n_out = dataset(setup.data, setup.n_train, setup.n_val, data_rng, raw=setup.inputs == "raw")
    if setup.labels == "shuffled":   # its own stream: the data and the model stay those of the paired set-up
        labels = numpy.random.default_rng([setup.seed, 1]).permutation(train.arrays[1])
        train = type(train)(train.arrays[0], labels)
    init = initializer(setup.init)
    if setup.architecture == "mlp":
        model = nn.models.mlp(n_in, [setup.width] * setup.depth, n_out, setup.activation, init, setup.batch_norm,
                              setup.dropout, rng=model_rng)
    elif setup.architecture == "residual":
        model = nn.models.deep_residual(setup.depth, setup.width, n_in, n_out, setup.activation, init,
                                        setup.batch_norm, rng=model_rng)
    else:
        model = nn.models.deep_highway(setup.depth, setup.width, n_in, n_out, setup.activation, init, rng=model_rng)
    if setup.bias:
        output = list(model.modules())[-1]
        for module in model.modules():
            if isinstance(module, nn.Linear) and module is not output and module.bias is not None:
                module.bias.data[...] = setup.bias
    if setup.softmax:
        model = nn.Sequential(model, nn.Softmax(dim=-1))
    hyper = {"lr": setup.lr}
    if setup.weight_decay:
        hyper["weight_decay"] = setup.weight_decay
    optimizer = optim.create(setup.optimizer, model.parameters(), **hyper)
    return Run(setup, model, optimizer, train, val, loss_function(setup.loss))


def loss_function(name: str):
    from .. import functional as F
    if name == "cross_entropy":
        return F.cross_entropy
    return naive_cross_entropy


def naive_cross_entropy(logits, target):
    """-mean log softmax(x)[target], computed as log of the softmax: the textbook formula that gives
    log(0) = -inf once one logit leads the others by ~100 (float32 exp underflows). For the doctor's
    non-finite scenarios; ``F.cross_entropy`` is the stable fused version."""
    from .. import functional as F
    from ..autograd import Tensor
    labels = backend.to_numpy(target.data if isinstance(target, Tensor) else target).astype(numpy.int64)
    probs = F.softmax(logits, -1)
    onehot = Tensor(numpy.eye(logits.shape[-1], dtype=probs.dtype)[labels])
    return -(probs.log() * onehot).sum() / logits.shape[0]


def dataset(name: str, n_train: int, n_val: int, rng, raw: bool = False):
    """(train, val, inputs, classes) as ArrayDatasets of float32 features and int64 labels; ``raw``: mnist's
    pixel values 0..255 (pooled), not standardised."""
    from ..data import ArrayDataset
    if name == "mnist":
        x, y = _mnist_pool(raw)
        if n_train + n_val > len(x):
            raise ValueError(f"Setup: mnist has {len(x)} examples, asked for {n_train} + {n_val}")
        order = rng.permutation(len(x))
        x, y = x[order], y[order]
        classes = 10
    else:
        x, y = _synthetic(name, n_train + n_val, rng)
        classes = 2
    return (ArrayDataset(x[:n_train], y[:n_train]), ArrayDataset(x[n_train:n_train + n_val], y[n_train:n_train + n_val]),
            x.shape[1], classes)


@functools.lru_cache(maxsize=2)
def _mnist_pool(raw: bool = False):
    """All 10,000 bundled digits, 2x2-average-pooled to 14x14 (4x fewer inputs, the digits still
    readable) and standardised with one mean and std (``raw``: left as pixel values 0..255). Read once
    per process."""
    from ..data import load
    train, test = load("mnist-10k")
    images = numpy.concatenate([train.images, test.images]).astype(numpy.float64)
    images = images if raw else images / 255.0
    images = images.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(images), -1)
    if not raw:
        images = (images - images.mean()) / images.std()
    labels = numpy.concatenate([train.labels, test.labels]).astype(numpy.int64)
    images.setflags(write=False)
    return images.astype(numpy.float32), labels


def _synthetic(name: str, n: int, rng):
    """Two interleaved half-moons or two concentric circles, noise 0.1, standardised."""
    half = n // 2
    labels = numpy.concatenate([numpy.zeros(n - half, numpy.int64), numpy.ones(half, numpy.int64)])
    angle = rng.uniform(0.0, numpy.pi, n) if name == "moons" else rng.uniform(0.0, 2 * numpy.pi, n)
    if name == "moons":
        x = numpy.where(labels == 0, numpy.cos(angle), 1.0 - numpy.cos(angle))
        y = numpy.where(labels == 0, numpy.sin(angle), 0.5 - numpy.sin(angle))
    else:
        radius = numpy.where(labels == 0, 1.0, 0.5)
        x, y = radius * numpy.cos(angle), radius * numpy.sin(angle)
    points = numpy.stack([x, y], axis=1) + 0.1 * rng.standard_normal((n, 2))
    points = (points - points.mean(axis=0)) / points.std(axis=0)
    order = rng.permutation(n)
    return points[order].astype(numpy.float32), labels[order]


def diagnose_setup(setup: Setup, title: str | None = None):
    """Build ``setup`` and run ``diagnose`` on it with its own budget, batch size, clipping and seed."""
    from .doctor import diagnose
    run = build(setup)
    return diagnose(run.model, run.train, optimizer=run.optimizer, loss_fn=run.loss_fn, steps=setup.steps,
                    batch_size=setup.batch_size, val=run.val if len(run.val) else None, clip=setup.clip,
                    seed=setup.seed, title=title if title is not None else setup.describe())
