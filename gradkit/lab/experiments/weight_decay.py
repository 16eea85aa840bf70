"""Weight decay against over-fitting (the book's ch. 6.4.1-6.4.2, article 002).

A 7-layer ReLU network learns only 300 training samples with plain SGD for 200 epochs. Without a
penalty it memorises them (training accuracy 100%) while the test accuracy stays far below: it
over-fits. Weight decay adds lambda/2 * sum(W^2) over the weights (not the biases) to the loss, so
lambda W to each weight's gradient; with lambda = 0.1 the weights stay small and the gap between
training and test accuracy narrows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import optim
from .. import common, verdicts
from ..progress import track
from ..registry import experiment
from . import _chapter6


@dataclass(frozen=True)
class Config(_chapter6.OverfitConfig):
    lambdas: tuple = (0.0, 0.1)


def optimizer(model, lr: float, weight_decay: float):
    """SGD with ``weight_decay`` on the Linear weights only: the biases go in a group without it,
    as the book's penalty lambda/2 * sum(W^2) covers the weights alone."""
    weights = common.linear_weights(model)
    chosen = {id(w) for w in weights}
    others = [p for p in model.parameters() if id(p) not in chosen]
    return optim.SGD([{"params": weights, "weight_decay": weight_decay}, {"params": others, "weight_decay": 0.0}],
                     lr=lr)


def squared_weights(model) -> float:
    """sum(W^2) over the Linear weights: the book's penalty is lambda / 2 times this."""
    return float(sum(numpy.square(w.data, dtype=numpy.float64).sum() for w in common.linear_weights(model)))


def run(config: Config, rng) -> dict:
    data = _chapter6.load(config)
    model_seed, batch_seed = (int(s) for s in rng.integers(2 ** 31, size=2))
    runs, norms = {}, {}
    for lam in track(config.lambdas, desc="lambdas"):
        label = f"lambda = {lam:g}"
        model = _chapter6.network(config, data[0].shape[1], model_seed)
        runs[label] = _chapter6.train(config, model, optimizer(model, config.lr, lam), data, batch_seed)
        norms[label] = squared_weights(model)
    summary = _chapter6.summary(runs)
    return {"setup": _chapter6.describe(config, data[0].shape[1]), "epochs": config.epochs,
            "lambdas": list(config.lambdas), "runs": runs, "summary": summary, "squared_weights": norms,
            "tables": [{"title": f"{config.n_train} training samples, {config.epochs} epochs; accuracies are means "
                                 "over the last 10% of the epochs",
                        "columns": ["weight decay", "train accuracy", "test accuracy", "gap", "sum of W^2"],
                        "rows": [[label, s["train"], s["test"], s["gap"], norms[label]]
                                 for label, s in summary.items()]}]}


def plot(results: dict, folder) -> list[str]:
    return [_chapter6.plot_runs(results["runs"], folder, "accuracy", title=f"Weight decay: {results['setup']}")]


def check(results: dict) -> list:
    summary = results["summary"]
    labels = [f"lambda = {lam:g}" for lam in results["lambdas"]]
    plain, decayed = summary[labels[0]], summary[labels[-1]]
    norms = results["squared_weights"]
    return [
        verdicts.at_least(f"{labels[0]} memorises the training set (train accuracy)", plain["train"], 0.95,
                          "training accuracy about 100%: the network over-fits (figure 6-20)"),
        verdicts.at_most(f"{labels[-1]} keeps the training accuracy below 100%", decayed["train"], 0.95,
                         "the penalised network no longer memorises the training set (figure 6-21)"),
        _chapter6.narrower("weight decay narrows the gap between train and test accuracy", labels[-1],
                              decayed["gap"], plain["gap"], "figures 6-20 and 6-21"),
        verdicts.less("weight decay keeps the weights small (sum of W^2)", labels[-1], norms[labels[-1]], labels[0],
                      norms[labels[0]], "the penalised network ends with the smaller weights"),
    ]


EXPERIMENT = experiment(
    "weight-decay", order=6, title="Weight decay against over-fitting (300 samples, 7 layers)",
    source="article 002 (Deep Learning from Scratch ch. 6.4.1-6.4.2), figures 6-20 and 6-21",
    config=Config(), quick=Config(epochs=100),
    tiny=Config(n_train=20, hidden=(8, 8), batch_size=10, epochs=2),
    broken=Config(epochs=60, n_test=300, lambdas=(0.0, 1e-4)),
    run=run, plot=plot, check=check)
