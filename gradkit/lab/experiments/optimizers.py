"""Optimisers compared on MNIST (the book's ch. 6.1.8, article 002).

A 784-100-100-100-100-10 ReLU network with He initialisation, batch 128, the same initial weights and
the same mini-batches for every optimiser. The book finds SGD the slowest to learn and AdaGrad, Adam
(and Momentum) faster; the smoothed loss curves show it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import nn, optim
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    hidden: tuple = (100, 100, 100, 100)
    batch_size: int = 128
    iterations: int = 2000
    # (name for gradkit.optim.create, keyword arguments)
    optimizers: tuple = (("sgd", (("lr", 0.01),)), ("momentum", (("lr", 0.01), ("momentum", 0.9))),
                         ("adagrad", (("lr", 0.01),)), ("rmsprop", (("lr", 0.01),)), ("adam", (("lr", 0.001),)))
    smooth_window: int = 50


def run(config: Config, rng) -> dict:
    x, y, _, _ = common.load_flat(config.data)
    model_seed, batch_seed = rng.integers(2 ** 31, size=2)
    losses = {}
    for name, kwargs in track(config.optimizers, desc="optimizers"):
        model = nn.models.mlp(x.shape[1], config.hidden, 10, activation="relu", init="he", rng=int(model_seed))
        opt = optim.create(name, model.parameters(), **dict(kwargs))
        losses[name] = common.train_iterations(model, opt, x, y, config.iterations, config.batch_size,
                                               rng=numpy.random.default_rng(int(batch_seed)))
    final = {name: common.tail_mean(curve) for name, curve in losses.items()}
    return {"iterations": config.iterations, "loss": losses, "final_loss": final,
            "smoothed": {k: common.smooth(v, config.smooth_window) for k, v in losses.items()},
            "tables": [{"title": f"mean training loss over the last 10% of {config.iterations} iterations",
                        "columns": ["optimizer", "settings", "final loss"],
                        "rows": [[name, dict(kwargs), final[name]] for name, kwargs in config.optimizers]}]}


def plot(results: dict, folder) -> list[str]:
    fig, (ax,) = plotting.figure(1, panel_size=(7, 4.5))
    plotting.curves(ax, results["smoothed"], "iterations", "training loss (smoothed)")
    ax.set_ylim(0, 2.5)
    return [plotting.save(fig, folder, "loss", title="Optimisers on MNIST: 784-100x4-10 ReLU, He init, batch 128")]


def check(results: dict) -> list:
    return [verdicts.ranking("SGD learns slowest", results["final_loss"],
                             "SGD's final loss is the highest of all optimisers (the book's figure 6-9)",
                             highest="sgd"),
            verdicts.less("Adam beats SGD by a wide margin", "Adam", results["final_loss"].get("adam", float("nan")),
                          "SGD / 2", results["final_loss"].get("sgd", float("nan")) / 2,
                          "Adam's final loss is less than half of SGD's")]


EXPERIMENT = experiment(
    "optimizers", order=2, title="SGD, Momentum, AdaGrad, RMSProp and Adam on MNIST",
    source="article 002 (Deep Learning from Scratch ch. 6.1.8), figure 6-9",
    config=Config(), quick=Config(iterations=200, smooth_window=10),
    tiny=Config(iterations=3, hidden=(8,), batch_size=16, smooth_window=2),
    broken=Config(iterations=200, smooth_window=10,
                  optimizers=(("sgd", (("lr", 0.1),)), ("adam", (("lr", 1e-5),)))),
    run=run, plot=plot, check=check)
