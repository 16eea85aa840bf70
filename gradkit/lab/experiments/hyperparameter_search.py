"""Hyperparameter search on a validation split (the book's ch. 6.5, article 002).

500 MNIST training images, 20% of them held out for validation (never the test set), a 6x100 ReLU
network trained by SGD for 50 epochs; 100 trials of lr 10^U(-6,-2) and weight decay 10^U(-8,-4) drawn
at random (the book's method), then Bayesian optimisation (TPE) with the same budget and a second random
round in the range the 5 best trials span (the book's "narrow the range"). All through gradkit.tune.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

from ... import tune
from ...tune import report
from ...tune.space import parse_space, space_to_json
from .. import plotting, verdicts
from ..registry import experiment


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    samples: int = 500
    val_fraction: float = 0.2
    depth: int = 6
    width: int = 100
    epochs: int = 50
    batch_size: int = 100
    trials: int = 100
    lr_range: tuple = (1e-6, 1e-2)
    weight_decay_range: tuple = (1e-8, 1e-4)
    top_k: int = 5                  # the best trials whose range the second round searches
    narrow_around: str = "best"     # "worst" only in the broken set-up: narrowing around the worst trials


def _summary(rows: list[dict]) -> dict:
    values = [r["value"] for r in rows if r["state"] == "COMPLETE"]
    best = report.best(rows, 1)[0]
    return {"best": best["value"], "best_params": best["params"], "median": statistics.median(values),
            "top5_mean": statistics.fmean(r["value"] for r in report.best(rows, 5))}


def run(config: Config, rng) -> dict:
    data_seed, search_seed = (int(s) for s in rng.integers(2 ** 31, size=2))
    setup = tune.Setup(data=config.data, samples=config.samples, val_fraction=config.val_fraction, depth=config.depth,
                       width=config.width, epochs=config.epochs, batch_size=config.batch_size, seed=data_seed)
    space = {"lr": tune.LogUniform(*config.lr_range), "weight_decay": tune.LogUniform(*config.weight_decay_range)}
    arms = {}
    # random and TPE share the seed: TPE's first 10 (start-up) trials are the random search's first 10
    for sampler in ("random", "tpe"):
        study = tune.search(space, setup, trials=config.trials, sampler=sampler, seed=search_seed, prune=False)
        arms[sampler] = report.records(study)
    around = arms["random"] if config.narrow_around == "best" else [
        {**r, "value": -r["value"]} for r in arms["random"]]        # broken: the worst trials look best
    narrowed = tune.narrow(around, space, top_k=config.top_k)
    study = tune.search(narrowed, setup, trials=config.trials, sampler="random", seed=search_seed + 1, prune=False)
    arms["narrowed"] = report.records(study)
    summary = {name: _summary(rows) for name, rows in arms.items()}
    top = report.best(arms["random"], 10)
    return {
        "arms": arms, "summary": summary, "space": space_to_json(space), "narrowed": space_to_json(narrowed),
        "sizes": {"train": round(config.samples * (1 - config.val_fraction)),
                  "validation": round(config.samples * config.val_fraction)},
        "tables": [
            {"title": f"random search: the best {len(top)} of {config.trials} trials (the book's Best-1 ...)",
             "columns": ["rank", "trial", "validation accuracy", "lr", "weight decay"],
             "rows": [[i + 1, r["number"], r["value"], r["params"]["lr"], r["params"]["weight_decay"]]
                      for i, r in enumerate(top)]},
            {"title": f"{config.trials} trials each: random (the book), TPE (Bayesian), random in the narrowed range",
             "columns": ["search", "best", "mean of the best 5", "median trial", "best lr", "best weight decay"],
             "rows": [[name, s["best"], s["top5_mean"], s["median"], s["best_params"]["lr"],
                       s["best_params"]["weight_decay"]] for name, s in summary.items()]},
            {"title": f"narrowed range (the {config.top_k} {config.narrow_around} random trials)",
             "columns": ["parameter", "low", "high"],
             "rows": [[name, dim["low"], dim["high"]] for name, dim in space_to_json(narrowed).items()]},
        ]}


def plot(results: dict, folder) -> list[str]:
    space = parse_space(results["space"])
    paths = [report.plot_scatter(results["arms"][name], space, f"{folder}/scatter-{name}.png",
                                      title=f"{name} search: validation accuracy")
             for name in ("random", "tpe", "narrowed")]
    fig, (ax,) = plotting.figure(1, panel_size=(7, 4.5))
    best_so_far = {}
    for name, rows in results["arms"].items():
        running, curve = 0.0, []
        for r in sorted(rows, key=lambda r: r["number"]):
            running = max(running, r["value"])
            curve.append(running)
        best_so_far[name] = curve
    plotting.curves(ax, best_so_far, "trials", "best validation accuracy so far",
                    x=range(1, 1 + max(map(len, best_so_far.values()))))
    paths.append(plotting.save(fig, folder, "best-so-far", title="Random search, TPE and the narrowed range"))
    top = report.best(results["arms"]["random"], 20)
    fig, axes = plotting.figure(len(top), columns=5, panel_size=(2.6, 2.0))
    for rank, (ax, r) in enumerate(zip(axes, top), 1):
        ax.plot(range(1, len(r["curve"]) + 1), r["curve"])
        ax.set_ylim(0, 1)
        ax.set_title(f"Best-{rank} ({r['value']:.2f})", fontsize=8)
        ax.tick_params(labelsize=6)
    paths.append(plotting.save(fig, folder, "best-curves",
                               title="validation accuracy by epoch of the best random trials (the book's figure)"))
    return paths


def check(results: dict) -> list:
    s = results["summary"]
    random_rows = [r for r in results["arms"]["random"] if r["state"] == "COMPLETE"]
    top = report.best(random_rows, 5)
    top_lr = statistics.median(r["params"]["lr"] for r in top)
    all_lr = statistics.median(r["params"]["lr"] for r in random_rows)
    return [
        verdicts.less("The learning rate decides: the best trials have large ones", "median lr of all trials", all_lr,
                      "median lr of the best 5", top_lr,
                      "with SGD for a fixed number of epochs, small learning rates barely learn; the book's best "
                      "trials all sit at the top of the lr range"),
        verdicts.less("Narrowing the range helps", "median trial, wide range", s["random"]["median"],
                      "median trial, narrowed range", s["narrowed"]["median"],
                      "the book narrows to the range of its best trials and searches again: a typical trial there "
                      "is better than a typical trial in the first range"),
        verdicts.less("Bayesian optimisation spends its trials where they pay", "median trial, random",
                      s["random"]["median"], "median trial, TPE", s["tpe"]["median"],
                      "the book names Bayesian optimisation as the better way: after its start-up trials TPE "
                      "samples near the good ones, so its typical trial beats a random one"),
    ]


EXPERIMENT = experiment(
    "hyperparameter-search", order=8, title="Hyperparameter search: random, TPE and the narrowed range",
    source="article 002 (Deep Learning from Scratch ch. 6.5: validation data, hyperparameter search)",
    # quick: the same 200 SGD steps a trial as the book (10 epochs of batch 20, not 50 of batch 100), a fifth
    # of the compute, and 30 trials an arm
    config=Config(), quick=Config(epochs=10, batch_size=20, trials=30),
    tiny=Config(samples=40, depth=1, width=8, epochs=1, batch_size=16, trials=3, top_k=2),
    broken=Config(samples=200, depth=2, width=32, epochs=8, batch_size=10, trials=10, top_k=3, narrow_around="worst"),
    run=run, plot=plot, check=check)
