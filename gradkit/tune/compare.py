"""TPE against random search on the book's set-up, at equal budgets, over several seeds.

    python -m gradkit.tune.compare --seeds 0 1 2 3 4 --trials 100 --budgets 25 50 100 --out runs/tune-compare

The book's set-up (chapter 6.5): 500 MNIST training images, 20% of them held out for validation,
a 6x100 ReLU network, SGD, 50 epochs, lr 10^U(-6,-2), weight decay 10^U(-8,-4); no pruning. Seed s
fixes the 500 images, the split and every trial's initialisation and shuffling, identically for
both samplers, so each seed is a paired comparison.

One study of ``max(budgets)`` trials per (sampler, seed); the best of its first b trials is the
result of a b-trial search, because a sequential sampler's trial k depends only on trials 0..k-1
and its seed, not on the total (tests/tune/test_search.py checks this prefix property).

Then each search's choice (its best trial at each budget) is trained again, the same model, and
scored once on the test split, which no search saw: the validation accuracy a search reports is the
maximum of many noisy estimates (100 validation images), so it flatters; the test accuracy does not.

Writes compare.json (every trial's value), compare.md (the tables) and compare.png (best so far);
``--reuse`` recomputes the tables and test scores from an existing compare.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy

BOOK_SPACE = {"lr": {"type": "log", "low": 1e-6, "high": 1e-2}, "weight_decay": {"type": "log", "low": 1e-8, "high": 1e-4}}


def one_study(args: tuple) -> dict:
    """Values of one (sampler, seed) study, in trial order."""
    sampler, seed, trials, setup_overrides = args
    from .objective import Setup
    from .search import search
    start = time.perf_counter()
    study = search(BOOK_SPACE, Setup(seed=seed, **setup_overrides), trials=trials, sampler=sampler, seed=seed,
                   prune=False)
    values = [t.value for t in sorted(study.trials, key=lambda t: t.number)]
    return {"sampler": sampler, "seed": seed, "values": values, "params": [t.params for t in study.trials],
            "seconds": time.perf_counter() - start}


def best_at(values: list, budget: int) -> float:
    return float(max(values[:budget]))


def test_accuracy(args: tuple) -> dict:
    """Train the best of a run's first ``budget`` trials again (same seed, same trial number: the
    same model) and score it once on the test split, which the search never saw."""
    run, budget, overrides = args
    from .. import data
    from .objective import Objective, Setup
    values = run["values"][:budget]
    number = max(range(len(values)), key=lambda k: (values[k], -k))   # ties: the earlier trial, as best_at
    objective = Objective(Setup(seed=run["seed"], **overrides))
    trainer, history = objective.fit(run["params"][number], number)
    if history["val_accuracy"][-1] != values[number]:
        raise RuntimeError(f"compare: trial {number} of {run['sampler']} seed {run['seed']} trained again gave "
                           f"validation accuracy {history['val_accuracy'][-1]}, not {values[number]}")
    _, test = data.load(objective.setup.data)
    return {"sampler": run["sampler"], "seed": run["seed"], "budget": budget, "trial": number,
            "val": values[number], "test": trainer.evaluate(test)["accuracy"]}


def test_table(scores: list[dict], budgets: list[int]) -> str:
    """Mean test accuracy of the hyperparameters each search chose, by budget."""
    lines = ["| trials | random: chosen trial's test accuracy | TPE: chosen trial's test accuracy | TPE - random |",
             "|" + " --- |" * 4]
    for b in budgets:
        mean = {s: numpy.mean([r["test"] for r in scores if r["sampler"] == s and r["budget"] == b])
                for s in ("random", "tpe")}
        lines.append(f"| {b} | {mean['random']:.4f} | {mean['tpe']:.4f} | {mean['tpe'] - mean['random']:+.4f} |")
    return "\n".join(lines)


def table(runs: list[dict], budgets: list[int]) -> str:
    """Per budget: each sampler's mean and standard deviation of the best validation accuracy over
    seeds, the per-seed bests, and on how many seeds TPE beat / tied / lost to random."""
    seeds = sorted({r["seed"] for r in runs})
    by = {(r["sampler"], r["seed"]): r["values"] for r in runs}
    lines = ["| trials | random: mean ± std | TPE: mean ± std | TPE - random (mean) | TPE wins / ties / losses | "
             "random per seed | TPE per seed |", "|" + " --- |" * 7]
    for b in budgets:
        rnd = numpy.array([best_at(by["random", s], b) for s in seeds])
        tpe = numpy.array([best_at(by["tpe", s], b) for s in seeds])
        diff = tpe - rnd
        lines.append(f"| {b} | {rnd.mean():.4f} ± {rnd.std(ddof=1) if len(seeds) > 1 else 0:.4f} | "
                     f"{tpe.mean():.4f} ± {tpe.std(ddof=1) if len(seeds) > 1 else 0:.4f} | {diff.mean():+.4f} | "
                     f"{(diff > 0).sum()} / {(diff == 0).sum()} / {(diff < 0).sum()} | "
                     f"{', '.join(f'{v:.2f}' for v in rnd)} | {', '.join(f'{v:.2f}' for v in tpe)} |")
    return "\n".join(lines)


def plot(runs: list[dict], path: str) -> str:
    from ..train.plot import figure_module
    plt = figure_module()
    fig, ax = plt.subplots(figsize=(7, 4))
    for sampler, colour in (("random", "tab:blue"), ("tpe", "tab:orange")):
        curves = numpy.array([numpy.maximum.accumulate(r["values"]) for r in runs if r["sampler"] == sampler])
        x = numpy.arange(1, curves.shape[1] + 1)
        for c in curves:
            ax.plot(x, c, c=colour, alpha=0.25, lw=0.8)
        ax.plot(x, curves.mean(axis=0), c=colour, lw=2, label=f"{sampler} (mean of {len(curves)} seeds)")
    ax.set_xlabel("trials")
    ax.set_ylabel("best validation accuracy so far")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("book's set-up: 500 MNIST images, 20% validation, 6x100 SGD, 50 epochs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _map(function, items: list, jobs: int) -> list:
    if jobs <= 1:
        return [function(item) for item in items]
    import multiprocessing
    from .search import child_blas_threads
    with child_blas_threads(jobs), multiprocessing.get_context("spawn").Pool(jobs) as pool:
        return pool.map(function, items, chunksize=1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--budgets", type=int, nargs="+", default=[25, 50, 100])
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--jobs", type=int, default=1, help="studies run in parallel processes")
    p.add_argument("--out", default="runs/tune-compare")
    p.add_argument("--reuse", action="store_true", help="read the studies from OUT/compare.json instead of running them")
    p.add_argument("--no-test", action="store_true", help="skip training each search's choice again for its test accuracy")
    args = p.parse_args(argv)
    if max(args.budgets) > args.trials:
        raise SystemExit(f"compare: budgets {args.budgets} exceed --trials {args.trials}")
    overrides = {"epochs": args.epochs, "samples": args.samples}
    record = os.path.join(args.out, "compare.json")
    if args.reuse:
        with open(record, encoding="utf-8") as f:
            saved = json.load(f)
        runs, overrides = saved["runs"], {k: saved["setup"][k] for k in ("epochs", "samples")}
    else:
        work = [(sampler, seed, args.trials, overrides) for seed in args.seeds for sampler in ("random", "tpe")]
        runs = _map(one_study, work, args.jobs)
    scores = [] if args.no_test else _map(test_accuracy, [(r, b, overrides) for r in runs for b in args.budgets],
                                          args.jobs)
    os.makedirs(args.out, exist_ok=True)
    with open(record, "w", encoding="utf-8") as f:
        json.dump({"setup": {**overrides, "space": BOOK_SPACE}, "runs": runs, "test": scores}, f, indent=1)
    text = table(runs, args.budgets) + ("\n\n" + test_table(scores, args.budgets) if scores else "")
    with open(os.path.join(args.out, "compare.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(text)
    print("wrote", plot(runs, os.path.join(args.out, "compare.png")), "and compare.json, compare.md in", args.out)
    return 0


if __name__ == "__main__":   # gradkit's errors as one line, like every command (gradkit.cli.guarded)
    from ..cli import guarded
    raise SystemExit(guarded(main, sys.argv[1:], "python -m gradkit.tune.compare"))
