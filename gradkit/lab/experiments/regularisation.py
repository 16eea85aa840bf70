"""Early stopping and data augmentation on a small training set (article 000, sec. 2.3.1).

A 784-100-100-10 ReLU network learns 1000 training images with Adam; another 1000 images are the
validation set that early stopping watches, and the test set is touched only at the end. Trained
for 100 epochs the plain network over-fits: it gets every training image right while its
validation loss, after a minimum in the first epochs, climbs again. Early stopping
(gradkit.train.EarlyStopping on the validation loss) ends training a few epochs after that minimum
and puts its weights back. Augmentation shifts every training image by up to 2 pixels each time it
is drawn (gradkit.data.transforms.RandomShift): more varied data, a later and lower minimum, and
higher test accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import nn, optim
from ...data import ArrayDataset, transforms
from ...train import EarlyStopping, Trainer
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment
from ._chapter6 import widths

CURVES = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    n_train: int = 1000
    n_val: int = 1000          # the training images after the first n_train
    hidden: tuple = (100, 100)
    lr: float = 0.001          # Adam
    batch_size: int = 100
    epochs: int = 100
    patience: int = 5          # epochs without a lower validation loss before early stopping ends training
    shift: int = 2             # RandomShift's largest move, in pixels


def _images(x: numpy.ndarray) -> numpy.ndarray:
    """Rows of 784 pixels as (N, 1, 28, 28) images (a view), for the image transforms."""
    side = int(round(x.shape[1] ** 0.5))
    return x.reshape(len(x), 1, side, side)


def run(config: Config, rng) -> dict:
    x, y, x_test, y_test = common.load_flat(config.data, n_train=config.n_train + config.n_val)
    train = (_images(x[:config.n_train]), y[:config.n_train])
    val = ArrayDataset(_images(x[config.n_train:]), y[config.n_train:])
    test = ArrayDataset(_images(x_test), y_test)
    model_seed, shuffle_seed = (int(s) for s in rng.integers(2 ** 31, size=2))
    variants = {"plain": (None, False), "early stopping": (None, True),
                "augmentation": (transforms.RandomShift(config.shift), False)}
    runs = {}
    for label, (augment, stop_early) in track(list(variants.items()), desc="variants"):
        # the same initial weights and the same order of samples for every variant
        model = nn.Sequential(nn.Flatten(), nn.models.mlp(x.shape[1], config.hidden, 10, activation="relu",
                                                          init="he", rng=model_seed))
        trainer = Trainer(model, optim.Adam(model.parameters(), lr=config.lr), rng=shuffle_seed)
        stopper = EarlyStopping("val_loss", patience=config.patience, restore_best_weights=True)
        history = trainer.fit(ArrayDataset(*train, transform=augment), epochs=config.epochs,
                              batch_size=config.batch_size, val=val, callbacks=[stopper] if stop_early else [],
                              verbose=False)
        final = trainer.evaluate(test)
        # EarlyStopping puts the best epoch's weights back only when it stopped the training
        restored = stop_early and stopper.stopped_epoch is not None
        runs[label] = {**{k: history[k] for k in CURVES}, "epochs_run": trainer.epoch,
                       "weights_epoch": stopper.best_epoch + 1 if restored else trainer.epoch,
                       "test_loss": final["loss"], "test_accuracy": final["accuracy"],
                       "train_accuracy": trainer.evaluate(ArrayDataset(*train))["accuracy"]}
    val_loss = runs["plain"]["val_loss"]
    rows = [[label, r["epochs_run"], r["weights_epoch"], r["train_accuracy"],
             r["test_accuracy"], r["test_loss"]] for label, r in runs.items()]
    setup = (f"{config.n_train} images of {config.data}, {widths(x.shape[1], config.hidden)} ReLU, "
             f"Adam lr {config.lr:g}")
    return {"setup": setup, "epochs": config.epochs, "runs": runs,
            "plain_val_loss": {"min": float(min(val_loss)), "min_epoch": int(numpy.argmin(val_loss)) + 1,
                               "final": float(val_loss[-1])},
            "tables": [{"title": f"{config.n_train} training images, {config.n_val} validation images, "
                                 f"{len(y_test)} test images; Adam lr {config.lr}, batch {config.batch_size}",
                        "columns": ["variant", "epochs run", "weights of epoch", "train accuracy", "test accuracy",
                                    "test loss"],
                        "rows": rows}]}


def plot(results: dict, folder) -> list[str]:
    runs = results["runs"]
    fig, (loss_ax, acc_ax) = plotting.figure(2, panel_size=(6, 4.2))
    for ax, key, ylabel in ((loss_ax, "loss", "loss"), (acc_ax, "accuracy", "accuracy")):
        # the train curves average the epoch's batches: shifted images for the augmentation run
        series = {"plain, train": runs["plain"][key], "plain, validation": runs["plain"][f"val_{key}"],
                  "augmentation, train (shifted)": runs["augmentation"][key],
                  "augmentation, validation": runs["augmentation"][f"val_{key}"]}
        epochs = range(1, len(runs["plain"][key]) + 1)
        plotting.curves(ax, series, "epochs", ylabel, x=epochs)
        stopped = runs["early stopping"]
        ax.axvline(stopped["weights_epoch"], color="0.4", linestyle=":", linewidth=1)
        ax.axvline(stopped["epochs_run"], color="0.4", linestyle="--", linewidth=1)
        ax.set_title("dotted: early stopping's best epoch; dashed: where it stopped", fontsize=9)
    # room for the validation losses' rise, not for the first epochs' large losses
    loss_ax.set_ylim(0, 3 * max(min(runs[label]["val_loss"]) for label in ("plain", "augmentation")))
    acc_ax.set_ylim(top=1.01)
    return [plotting.save(fig, folder, "curves", title=f"Early stopping and augmentation: {results['setup']}")]


def check(results: dict) -> list:
    runs, val = results["runs"], results["plain_val_loss"]
    plain, stopped, augmented = runs["plain"], runs["early stopping"], runs["augmentation"]
    plain_gap = plain["train_accuracy"] - plain["test_accuracy"]
    augmented_gap = augmented["train_accuracy"] - augmented["test_accuracy"]
    return [
        verdicts.holds("the plain network over-fits",
                       plain["train_accuracy"] >= 0.99 and val["final"] >= 1.1 * val["min"],
                       f"train accuracy {plain['train_accuracy']:.3g}; validation loss {val['min']:.3g} at epoch "
                       f"{val['min_epoch']}, {val['final']:.3g} at the end",
                       "every training image right, and a final validation loss at least 1.1x its minimum"),
        verdicts.at_most("early stopping ends training early (epochs run)", stopped["epochs_run"],
                         2 * results["epochs"] / 3, "it saves at least a third of the epochs"),
        verdicts.less("early stopping's weights generalise better than the over-fitted ones (test loss)",
                      "early stopping", stopped["test_loss"], "plain", plain["test_loss"],
                      "a lower test loss than the plain network after all its epochs"),
        verdicts.at_least("augmentation raises the test accuracy", augmented["test_accuracy"] - plain["test_accuracy"],
                          0.02, "at least 2 points above the plain network"),
        verdicts.less("augmentation narrows the train-test gap", "augmentation", augmented_gap, "plain", plain_gap,
                      "train minus test accuracy is smaller with augmentation"),
    ]


EXPERIMENT = experiment(
    "regularisation", order=20, title="Early stopping and data augmentation on 1000 training images",
    source="article 000 (over- and under-fitting: data augmentation, early stopping), sec. 2.3.1",
    config=Config(), quick=Config(n_train=500, n_val=500, lr=0.003, epochs=30, patience=3),
    tiny=Config(n_train=50, n_val=50, hidden=(8,), batch_size=25, epochs=3, patience=0),
    broken=Config(n_train=500, n_val=500, lr=0.003, epochs=30, patience=100, shift=0),
    run=run, plot=plot, check=check)
