"""Dropout against over-fitting (the book's ch. 6.4.3, article 002; article 001).

The over-fitting set-up of weight-decay (300 training samples, 7 ReLU layers, plain SGD) for 300
epochs, with a dropout layer after each hidden activation. Dropout zeroes each unit with probability
p at every training step, so the network cannot lean on any one unit: an ensemble of thinned networks
in one. The book's variant masks in training and multiplies by 1 - p at test time: its training
accuracy stays far below 100% and close to the test accuracy, though mostly because it learns slowly.
The inverted variant (PyTorch's, article 001) scales the kept units by 1/(1 - p) in training and does
nothing at test time: it learns much faster than the book's at the same p.
"""
from __future__ import annotations

from dataclasses import dataclass

from ... import nn, optim
from .. import verdicts
from ..progress import track
from ..registry import experiment
from . import _chapter6


@dataclass(frozen=True)
class Config(_chapter6.OverfitConfig):
    epochs: int = 300
    # (drop probability, inverted): p = 0 is the plain network
    variants: tuple = ((0.0, True), (0.2, False), (0.2, True), (0.15, False), (0.15, True))


def label(p: float, inverted: bool) -> str:
    if p == 0:
        return "no dropout"
    return f"p = {p:g}, " + ("inverted" if inverted else "book (x (1-p) at test)")


def run(config: Config, rng) -> dict:
    data = _chapter6.load(config)
    model_seed, batch_seed = (int(s) for s in rng.integers(2 ** 31, size=2))
    runs = {}
    for p, inverted in track(config.variants, desc="dropout"):
        # the same initial weights, batches and (for equal p) masks for every variant
        model = _chapter6.network(config, data[0].shape[1], model_seed, dropout=p)
        for layer in model.modules():
            if isinstance(layer, nn.Dropout):
                layer.inverted = inverted
        runs[label(p, inverted)] = _chapter6.train(config, model, optim.SGD(model.parameters(), lr=config.lr),
                                                      data, batch_seed)
    summary = _chapter6.summary(runs)
    return {"setup": _chapter6.describe(config, data[0].shape[1]), "epochs": config.epochs,
            "variants": [[p, inverted, label(p, inverted)] for p, inverted in config.variants],
            "runs": runs, "summary": summary,
            "tables": [{"title": f"{config.n_train} training samples, {config.epochs} epochs; accuracies are means "
                                 "over the last 10% of the epochs",
                        "columns": ["dropout", "train accuracy", "test accuracy", "gap"],
                        "rows": [[name, s["train"], s["test"], s["gap"]] for name, s in summary.items()]}]}


def plot(results: dict, folder) -> list[str]:
    return [_chapter6.plot_runs(results["runs"], folder, "accuracy", title=f"Dropout: {results['setup']}")]


def check(results: dict) -> list:
    summary = results["summary"]
    plain = summary.get(label(0.0, True))
    out = [verdicts.at_least("without dropout the network memorises the training set (train accuracy)",
                             plain["train"], 0.95,
                             "training accuracy about 100%: it over-fits (figures 6-20 and 6-23, left)")]
    book = [(p, summary[label(p, False)]) for p, inverted, _ in results["variants"] if p > 0 and not inverted]
    if book:
        p, s = max(book, key=lambda pair: pair[0])
        out.append(verdicts.at_most(f"the book's dropout (p = {p:g}) keeps the training accuracy below 100%",
                                    s["train"], 0.95,
                                    "the network no longer memorises the training set (figure 6-23, right)"))
        out.append(_chapter6.narrower(f"the book's dropout (p = {p:g}) narrows the gap between train and test "
                                      "accuracy", f"p = {p:g}", s["gap"], plain["gap"], "figure 6-23"))
    for p, s in book:
        inverted = summary.get(label(p, True))
        if inverted is not None:
            out.append(verdicts.less(f"inverted dropout learns faster than the book's (p = {p:g}, train accuracy)",
                                     "book", s["train"], "inverted", inverted["train"],
                                     "the book's variant shrinks the training-time signal by 1 - p per layer; "
                                     "the inverted one keeps it as at test time"))
    return out


EXPERIMENT = experiment(
    "dropout", order=7, title="Dropout against over-fitting: the book's and the inverted variant",
    source="article 002 (Deep Learning from Scratch ch. 6.4.3), figures 6-22 and 6-23; "
           "article 001 (1/(1-p) scaling)",
    config=Config(), quick=Config(n_test=500, variants=((0.0, True), (0.2, False), (0.2, True))),
    tiny=Config(n_train=20, hidden=(8, 8), batch_size=10, epochs=2,
                variants=((0.0, True), (0.2, False), (0.2, True))),
    broken=Config(epochs=60, n_test=300, variants=((0.0, True), (0.01, False), (0.01, True))),
    run=run, plot=plot, check=check)
