"""TPE against random search on the book's set-up, at equal budgets, over several seeds.

    python -m gradkit.tune.compare --seeds 0 1 2 3 4 --trials 100 --budgets 25 50 100 --out runs/tune-compare

The book's set-up (chapter 6.5): 500 MNIST training images, 20% of them held out for validation,
a 6x100 ReLU network, SGD, 50 epochs, lr 10^U(-6,-2), weight decay 10^U(-8,-4); no pruning. Seed s
fixes the 500 images, the split and every trial's initialisation and shuffling, identically for
both samplers, so each seed is a paired comparison.

One study of ``max(budgets)`` trials per (sampler, seed); the best of its first b trials is the
result of a b-trial search, because a sequential sampler's trial k depends only on trials 0..k-1
and its seed, not on the total (tests/tune/test_search.py checks this prefix property).

Writes compare.json (every trial's value), compare.md (the table) and compare.png (best so far).
"""
from __future__ import annotations

import argparse
import json
import os
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--budgets", type=int, nargs="+", default=[25, 50, 100])
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--jobs", type=int, default=1, help="studies run in parallel processes")
    p.add_argument("--out", default="runs/tune-compare")
    args = p.parse_args(argv)
    if max(args.budgets) > args.trials:
        raise SystemExit(f"compare: budgets {args.budgets} exceed --trials {args.trials}")
    overrides = {"epochs": args.epochs, "samples": args.samples}
    work = [(sampler, seed, args.trials, overrides) for seed in args.seeds for sampler in ("random", "tpe")]
    if args.jobs > 1:
        import multiprocessing
        from .search import child_blas_threads
        with child_blas_threads(args.jobs), multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            runs = pool.map(one_study, work, chunksize=1)
    else:
        runs = [one_study(w) for w in work]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "compare.json"), "w", encoding="utf-8") as f:
        json.dump({"setup": {**overrides, "space": BOOK_SPACE}, "runs": runs}, f, indent=1)
    text = table(runs, args.budgets)
    with open(os.path.join(args.out, "compare.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(text)
    print("wrote", plot(runs, os.path.join(args.out, "compare.png")), "and compare.json, compare.md in", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
