"""What the chapter-6 experiments share: the book's initialisers, a network's widths in words, and the
book's over-fitting set-up (ch. 6.4) of the weight-decay and dropout experiments.

The over-fitting set-up: 300 training samples, a 784-(100 x 6)-10 ReLU network with He initialisation
(the book's MultiLayerNet default), plain SGD (lr 0.01), batch 100 drawn at random, so an epoch is 3
steps; after every epoch the accuracy on the 300 training samples and on the test set.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import nn
from .. import common, plotting, verdicts

# What the book calls "Xavier" is std sqrt(1/n) with n the previous layer's width: LeCun's formula
# (gradkit.nn.init.lecun_normal); Glorot's xavier_normal averages fan-in and fan-out.
INITIALISERS = {"std": lambda std: nn.init.normal(std), "xavier": lambda std: nn.init.lecun_normal(),
                "he": lambda std: nn.init.he_normal()}

# how much narrower a gap must be to count: three times the sampling error of an accuracy of about
# 0.8 measured on 2000 test images (sqrt(0.8 * 0.2 / 2000) = 0.9 points)
MARGIN = 0.03


@dataclass(frozen=True)
class OverfitConfig:
    data: str = "mnist-10k"
    n_train: int = 300
    hidden: tuple = (100, 100, 100, 100, 100, 100)
    lr: float = 0.01
    batch_size: int = 100
    epochs: int = 200
    n_test: int | None = None  # None: the whole test set


def load(config: OverfitConfig):
    """``(x_train, y_train, x_test, y_test)``: the first ``n_train`` training and ``n_test`` test samples."""
    return common.load_flat(config.data, n_train=config.n_train, n_test=config.n_test)


def network(config: OverfitConfig, in_features: int, seed: int, dropout: float = 0.0) -> nn.Sequential:
    """The book's MultiLayerNet(Extend): ReLU, He initial weights, zero biases, optional dropout."""
    return nn.models.mlp(in_features, config.hidden, 10, activation="relu", init="he", dropout=dropout, rng=seed)


def train(config: OverfitConfig, model, optimizer, data, batch_seed: int) -> dict:
    """``config.epochs`` epochs; ``{"loss", "train_accuracy", "test_accuracy"}`` (accuracies per epoch,
    the first before training)."""
    x, y, x_test, y_test = data
    return common.train_epochs(model, optimizer, x, y, config.epochs, config.batch_size,
                               numpy.random.default_rng(batch_seed),
                               evaluate={"train": (x, y), "test": (x_test, y_test)})


def widths(in_features: int, hidden, out_features: int = 10) -> str:
    """A fully connected network's layer widths in words: "784-100-100-10"."""
    return "-".join(str(w) for w in (in_features, *hidden, out_features))


def describe(config: OverfitConfig, in_features: int) -> str:
    """The over-fitting set-up in a few words, for figure titles."""
    return (f"{config.n_train} samples of {config.data}, {widths(in_features, config.hidden)} ReLU, "
            f"SGD lr {config.lr:g}, {config.epochs} epochs")


def gap(curves: dict, share: float = 0.1) -> float:
    """Train minus test accuracy, averaged over the last ``share`` of the epochs."""
    return common.tail_mean(curves["train_accuracy"], share) - common.tail_mean(curves["test_accuracy"], share)


def summary(runs: dict) -> dict:
    """Per run: final train and test accuracy (means over the last 10% of the epochs) and their gap."""
    return {label: {"train": common.tail_mean(c["train_accuracy"]), "test": common.tail_mean(c["test_accuracy"]),
                    "gap": gap(c)} for label, c in runs.items()}


def narrower(claim: str, name: str, gap_value: float, plain_gap: float, figure: str):
    """The verdict that ``name``'s train-test gap is at least MARGIN below the plain network's."""
    return verdicts.at_most(claim, gap_value, plain_gap - MARGIN,
                            f"{name}'s gap is at least {MARGIN * 100:.0f} points below the plain network's "
                            f"({plain_gap:.3g}), beyond the sampling error of a test accuracy ({figure})")


def plot_runs(runs: dict, folder, name: str, title: str) -> str:
    """One panel per run: train and test accuracy over the epochs (the book's figures 6-20 to 6-23)."""
    fig, axes = plotting.figure(len(runs), columns=min(len(runs), 3), panel_size=(4.6, 3.4))
    for ax, (label, curves) in zip(axes, runs.items()):
        plotting.curves(ax, {"train": curves["train_accuracy"], "test": curves["test_accuracy"]}, "epochs",
                        "accuracy", title=label)
        ax.set_ylim(0, 1.02)
    return plotting.save(fig, folder, name, title=title)
