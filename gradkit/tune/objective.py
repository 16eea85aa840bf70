"""The objective of a search: train on a training split, score on a validation split.

The validation split is carved out of the data set's *training* part; the test part is never
loaded into a trial, so the search cannot fit the test set (the book, chapter 6.5: hyperparameters
chosen on test data overfit it).

    >>> objective = Objective(Setup(samples=500, epochs=50))      # the book's set-up
    >>> objective({"lr": 1e-2, "weight_decay": 1e-6}, trial_number=0)   # validation accuracy
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy

# names a search space may use, with what each sets
PARAMETERS = {
    "lr": "learning rate of the optimiser",
    "weight_decay": "L2 weight decay (weights only, not biases, as in the book)",
    "momentum": "momentum (sgd)",
    "optimizer": "optimiser name (gradkit.optim.OPTIMIZERS)",
    "batch_size": "mini-batch size",
    "width": "hidden units per layer (mlp)",
    "depth": "hidden layers (mlp)",
    "activation": "hidden activation (mlp)",
    "dropout": "drop probability after each hidden activation (mlp)",
}


@dataclass(frozen=True)
class Setup:
    """Everything a trial needs besides its hyperparameters. Defaults: the book's search (chapter 6.5).

    Args:
        model: ``"mlp"`` (``depth`` x ``width``, ReLU, He init) or a model name of ``gradkit train``.
        data: a data set name of ``gradkit.data.load``; only its training part is used.
        samples: how many training images the trials see (None: all); the book uses 500.
        val_fraction: share of ``samples`` held out for validation (the book: 20%).
        depth, width, activation, dropout: the mlp's shape unless the space sets them.
        optimizer: default optimiser name; lr / weight_decay / momentum / batch_size defaults likewise.
        epochs: training epochs of a trial (the book: 50).
        seed: fixes the subset, the split, and every trial's initialisation and shuffling
            (trial ``k`` draws from ``SeedSequence([seed, k])``).
    """
    model: str = "mlp"
    data: str = "mnist-10k"
    samples: int | None = 500
    val_fraction: float = 0.2
    depth: int = 6
    width: int = 100
    activation: str = "relu"
    dropout: float = 0.0
    optimizer: str = "sgd"
    lr: float = 0.01
    weight_decay: float = 0.0
    momentum: float = 0.0
    batch_size: int = 100
    epochs: int = 50
    seed: int = 0
    extra: dict = field(default_factory=dict, compare=False)   # room for callers' notes, stored with the study

    def __post_init__(self):
        if self.samples is not None and self.samples < 2:
            raise ValueError(f"Setup: samples must be >= 2 or None, got {self.samples}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"Setup: val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.epochs < 1 or self.batch_size < 1 or self.depth < 0 or self.width < 1:
            raise ValueError(f"Setup: need epochs >= 1, batch_size >= 1, depth >= 0, width >= 1; got epochs="
                             f"{self.epochs}, batch_size={self.batch_size}, depth={self.depth}, width={self.width}")

    def to_json(self) -> dict:
        return asdict(self)


def check_parameters(names) -> None:
    """Raise ValueError naming every parameter an Objective does not know."""
    unknown = [n for n in names if n not in PARAMETERS]
    if unknown:
        raise ValueError(f"tune: unknown hyperparameter(s) {', '.join(map(repr, unknown))}; an objective knows "
                         + ", ".join(f"{k} ({v})" for k, v in PARAMETERS.items()))


def split(setup: Setup):
    """(train, validation) drawn from the training part of ``setup.data``, fixed by ``setup.seed``."""
    from .. import data
    train, _test = data.load(setup.data)   # the test part is dropped here and never reaches a trial
    rng = numpy.random.default_rng(numpy.random.SeedSequence([setup.seed, 0x7E57]))
    if setup.samples is not None:
        if setup.samples > len(train):
            raise ValueError(f"Setup: samples={setup.samples} but {setup.data} has {len(train)} training images")
        train = train.subset(rng.permutation(len(train))[:setup.samples])
    n_val = max(1, int(round(len(train) * setup.val_fraction)))
    if n_val >= len(train):
        raise ValueError(f"Setup: val_fraction={setup.val_fraction} of {len(train)} samples leaves no training data")
    fit, val = data.random_split(train, [len(train) - n_val, n_val], rng=rng)
    return fit, val


def trial_rngs(seed: int, trial_number: int) -> tuple:
    """(initialisation, shuffling) generators of trial ``trial_number``: ``SeedSequence([seed, k])`` spawned."""
    return tuple(numpy.random.default_rng(c) for c in numpy.random.SeedSequence([seed, int(trial_number)]).spawn(2))


class Objective:
    """``objective(params, trial_number, report) -> validation accuracy`` of one trained model.

    ``report(epoch, value)`` is called after every epoch with the validation accuracy; when it
    returns True the trial stops early (pruning) and ``self.stopped`` says so.
    """

    def __init__(self, setup: Setup = Setup()):
        self.setup = setup
        self.train, self.val = split(setup)

    def build(self, params: dict, rng):
        """The model and optimiser of one trial."""
        from .. import nn, optim
        s = self.setup
        p = {**{k: getattr(s, k) for k in ("depth", "width", "activation", "dropout", "optimizer", "lr",
                                          "weight_decay", "momentum")}, **params}
        if s.model == "mlp":
            model = nn.Sequential(nn.Flatten(), nn.models.mlp(784, [int(p["width"])] * int(p["depth"]), 10,
                                                              activation=p["activation"], init="he",
                                                              dropout=float(p["dropout"]), rng=rng))
        else:
            from ..train.cli import build_model
            model = build_model(s.model, rng)
        # the book decays weights only: L2 on every weight matrix, never on biases or BN shifts
        weights = [w for w in model.parameters() if w.ndim > 1]
        others = [w for w in model.parameters() if w.ndim <= 1]
        hyper = {"lr": float(p["lr"])}
        if "momentum" in params or (s.momentum and p["optimizer"] in ("sgd", "momentum", "nesterov")):
            hyper["momentum"] = float(p["momentum"])   # only optimisers with a momentum take one
        groups = [{"params": weights, "weight_decay": float(p["weight_decay"])}, {"params": others, "weight_decay": 0.0}]
        return model, optim.create(p["optimizer"], [g for g in groups if g["params"]], **hyper)

    def fit(self, params: dict, trial_number: int = 0, report=None):
        """Train trial ``trial_number``'s model with ``params``; returns ``(trainer, history)``.

        The same (seed, trial number, params) give the same model, so a search's best trial can be
        trained again for a last evaluation on the test set, after the search."""
        from ..train import Callback, Trainer
        check_parameters(params)
        s = self.setup
        init_rng, shuffle_rng = trial_rngs(s.seed, trial_number)
        model, optimizer = self.build(params, init_rng)
        objective = self
        self.stopped = False

        class Report(Callback):
            def on_epoch_end(self, epoch, logs):
                if report is not None and report(epoch, logs["val_accuracy"]):
                    objective.stopped = True
                    self.trainer.stop_training = True

        # a diverging trial is a result of the search (a low score), not an error that ends it
        trainer = Trainer(model, optimizer, rng=shuffle_rng, on_nonfinite="warn")
        history = trainer.fit(self.train, epochs=s.epochs, batch_size=int(params.get("batch_size", s.batch_size)),
                              val=self.val, callbacks=[Report()], verbose=False)
        if trainer.interrupted:   # the Trainer turned Ctrl-C into a clean stop; the search must stop too
            raise KeyboardInterrupt
        return trainer, history

    def __call__(self, params: dict, trial_number: int = 0, report=None) -> float:
        return float(self.fit(params, trial_number, report)[1]["val_accuracy"][-1])
