"""Weight initialisation compared on MNIST (the book's ch. 6.2.4, article 002).

A 784-100-100-100-100-10 ReLU network, plain SGD (lr 0.01), batch 128, the same mini-batches for
each initial weight scale: std 0.01, Xavier (std sqrt(1/n)) and He (std sqrt(2/n)). With std 0.01
the signal vanishes on the way through the layers and the loss stays at ln 10 = 2.30 (no learning
at all); He learns fastest, Xavier next.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy

from ... import nn, optim
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment
from ._chapter6 import INITIALISERS, widths


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    hidden: tuple = (100, 100, 100, 100)
    lr: float = 0.01
    batch_size: int = 128
    iterations: int = 2000
    # (label, initialiser as in init-histograms: "std" with the std, "xavier" (sqrt(1/n)) or "he", std)
    inits: tuple = (("std=0.01", "std", 0.01), ("Xavier", "xavier", None), ("He", "he", None))
    smooth_window: int = 50


def run(config: Config, rng) -> dict:
    x, y, x_test, y_test = common.load_flat(config.data)
    model_seed, batch_seed = rng.integers(2 ** 31, size=2)
    losses, test_accuracy = {}, {}
    for label, init, std in track(config.inits, desc="initialisations"):
        model = nn.models.mlp(x.shape[1], config.hidden, 10, activation="relu", init=INITIALISERS[init](std),
                              rng=int(model_seed))
        opt = optim.SGD(model.parameters(), lr=config.lr)
        losses[label] = common.train_iterations(model, opt, x, y, config.iterations, config.batch_size,
                                                rng=numpy.random.default_rng(int(batch_seed)))
        test_accuracy[label] = common.accuracy(model, x_test, y_test)
    final = {label: common.tail_mean(curve) for label, curve in losses.items()}
    smoothed = {label: common.smooth(curve, config.smooth_window) for label, curve in losses.items()}
    # the first iteration at which the smoothed loss is below 1.0 (None: never)
    below = {label: next((i for i, v in enumerate(curve) if v < 1.0), None) for label, curve in smoothed.items()}
    setup = f"{config.data}, {widths(x.shape[1], config.hidden)} ReLU, SGD lr {config.lr:g}, batch {config.batch_size}"
    return {"setup": setup, "iterations": config.iterations, "loss": losses, "smoothed": smoothed, "final_loss": final,
            "first_below_1": below, "test_accuracy": test_accuracy,
            "tables": [{"title": f"{config.iterations} iterations of SGD (lr {config.lr}, batch {config.batch_size}) "
                                 f"on {config.data}; final loss: mean over the last 10%",
                        "columns": ["initialisation", "final loss", "smoothed loss first below 1.0 at iteration",
                                    "test accuracy"],
                        "rows": [[label, final[label], "never" if below[label] is None else below[label],
                                  test_accuracy[label]] for label in losses]}]}


def plot(results: dict, folder) -> list[str]:
    fig, (ax,) = plotting.figure(1, panel_size=(7, 4.5))
    plotting.curves(ax, results["smoothed"], "iterations", "training loss (smoothed)")
    ax.axhline(math.log(10), color="0.6", linestyle=":", linewidth=1)
    ax.set_ylim(0, 2.5)
    return [plotting.save(fig, folder, "loss", title=f"Initial weights: {results['setup']}")]


def check(results: dict) -> list:
    final = results["final_loss"]
    small, he = final.get("std=0.01", math.nan), final.get("He", math.nan)
    return [verdicts.at_least("std 0.01 does not learn: the loss stays at ln 10 = 2.30", small, 2.25,
                              "the final loss of std 0.01 is still about 2.30 (figure 6-15)"),
            verdicts.ranking("He learns fastest", final, "He ends with the lowest loss, Xavier next (figure 6-15)",
                             lowest="He"),
            verdicts.at_most("He learns a lot", he, 0.5 * small, "He's final loss is less than half of std 0.01's")]


EXPERIMENT = experiment(
    "init-mnist", order=4, title="std 0.01, Xavier and He initialisation on MNIST",
    source="article 002 (Deep Learning from Scratch ch. 6.2.4), figure 6-15",
    config=Config(), quick=Config(iterations=200, smooth_window=10),
    tiny=Config(iterations=3, hidden=(8,), batch_size=16, smooth_window=2),
    broken=Config(iterations=100, smooth_window=10, lr=1e-4),
    run=run, plot=plot, check=check)
