"""Batch normalisation against the initial weight scale (the book's ch. 6.3.2, article 002).

A 784-(100 x 5)-10 ReLU network learns 1000 training samples with plain SGD (lr 0.01, batch 100)
for 20 epochs, once with batch normalisation before each hidden activation and once without, for 16
initial weight scales (std from 1 down to 1e-4). Without batch norm learning hinges on the scale:
weights too large or too small and the accuracy stays at chance. With batch norm every layer's input
is brought back to mean 0 and variance 1, so the network learns faster, and at most scales.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy

from ... import nn, optim
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment
from ._chapter6 import widths


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    n_train: int = 1000
    hidden: tuple = (100, 100, 100, 100, 100)
    lr: float = 0.01
    batch_size: int = 100
    epochs: int = 20
    scales: int = 16           # weight std over logspace(0, -4, scales), the book's weight_scale_list
    eps: float = 1e-6          # the book's BatchNormalization adds 10e-7 to the variance (PyTorch: 1e-5)


def run(config: Config, rng) -> dict:
    x, y, _, _ = common.load_flat(config.data, n_train=config.n_train)
    x_test, y_test = common.load_flat(config.data)[2:]
    stds = numpy.logspace(0, -4, config.scales).tolist()
    seeds = rng.integers(2 ** 31, size=(len(stds), 2))
    curves = {"with BN": [], "without BN": []}
    test_accuracy = {"with BN": [], "without BN": []}
    for std, (model_seed, batch_seed) in track(list(zip(stds, seeds)), desc="weight scales"):
        for label, batch_norm in (("with BN", True), ("without BN", False)):
            # the same batches for both networks at this scale
            model = nn.models.mlp(x.shape[1], config.hidden, 10, activation="relu", init=nn.init.normal(std),
                                  batch_norm=batch_norm, rng=int(model_seed))
            for layer in model.modules():
                if isinstance(layer, nn.BatchNorm1d):
                    layer.eps = config.eps
            opt = optim.SGD(model.parameters(), lr=config.lr)
            with numpy.errstate(over="ignore", invalid="ignore"):  # large weights without BN diverge: expected
                history = common.train_epochs(model, opt, x, y, config.epochs, config.batch_size,
                                              numpy.random.default_rng(int(batch_seed)), evaluate={"train": (x, y)})
            curves[label].append(history["train_accuracy"])
            test_accuracy[label].append(common.accuracy(model, x_test, y_test))
    final = {label: [c[-1] for c in runs] for label, runs in curves.items()}
    rows = [[f"{std:.3g}", final["with BN"][i], final["without BN"][i], test_accuracy["with BN"][i],
             test_accuracy["without BN"][i]] for i, std in enumerate(stds)]
    setup = f"{config.n_train} samples of {config.data}, {widths(x.shape[1], config.hidden)} ReLU, SGD lr {config.lr:g}"
    return {"setup": setup, "stds": stds, "epochs": config.epochs, "train_accuracy": curves,
            "final_train_accuracy": final, "test_accuracy": test_accuracy,
            "tables": [{"title": f"accuracy after {config.epochs} epochs on {config.n_train} training samples "
                                 f"(test: {len(y_test)} samples)",
                        "columns": ["weight std", "train, with BN", "train, without BN", "test, with BN",
                                    "test, without BN"],
                        "rows": rows}]}


def plot(results: dict, folder) -> list[str]:
    stds, curves = results["stds"], results["train_accuracy"]
    fig, axes = plotting.figure(len(stds), columns=4, panel_size=(3.2, 2.4))
    for i, (ax, std) in enumerate(zip(axes, stds)):
        ax.plot(curves["with BN"][i], label="with BN", color="tab:blue", linewidth=1.3)
        ax.plot(curves["without BN"][i], label="without BN", color="tab:orange", linestyle="--", linewidth=1.3)
        ax.set_ylim(0, 1)
        ax.set_title(f"W std {std:.3g}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if i % 4 == 0:
            ax.set_ylabel("train accuracy", fontsize=8)
        if i >= len(stds) - 4:
            ax.set_xlabel("epochs", fontsize=8)
        if i == 0:
            ax.legend(fontsize=7)
    return [plotting.save(fig, folder, "accuracy", title=f"Batch normalisation and the initial weight scale "
                                                          f"({results['setup']})")]


def check(results: dict) -> list:
    final = results["final_train_accuracy"]
    with_bn, without_bn = final["with BN"], final["without BN"]
    n = len(with_bn)
    better = sum(a > b for a, b in zip(with_bn, without_bn))
    learns = lambda accuracies: sum(a >= 0.5 for a in accuracies)  # five times chance: clearly learning
    stuck = [a for std, a in zip(results["stds"], without_bn) if std <= 0.01]
    return [
        verdicts.at_least("BN ends with the higher accuracy at almost every scale (scales where it does)",
                          better, math.ceil(0.75 * n),
                          f"batch norm's final training accuracy exceeds plain's in at least 3/4 of the {n} panels "
                          "(figure 6-19)"),
        verdicts.holds("without BN learning hinges on the scale; with BN it learns at most scales",
                       learns(with_bn) >= n / 2 and learns(without_bn) <= n / 4,
                       f"training accuracy >= 0.5 at {learns(with_bn)}/{n} scales with BN, "
                       f"{learns(without_bn)}/{n} without",
                       "with BN at least half of the scales reach 0.5 (five times chance), without BN at most a "
                       "quarter: 'without a good initial scale learning does not progress at all'"),
        verdicts.at_most("without BN, small weights do not learn (best accuracy at std <= 0.01)",
                         max(stuck, default=math.nan), 0.3,
                         "with weights of std 0.01 or less the plain network stays near chance"),
    ]


EXPERIMENT = experiment(
    "batch-norm", order=5, title="Batch normalisation across 16 initial weight scales",
    source="article 002 (Deep Learning from Scratch ch. 6.3), figures 6-18 and 6-19",
    config=Config(), quick=Config(scales=8),
    tiny=Config(n_train=40, hidden=(8, 8), batch_size=20, epochs=2, scales=2),
    broken=Config(scales=4, epochs=5, eps=100.0),
    run=run, plot=plot, check=check)
