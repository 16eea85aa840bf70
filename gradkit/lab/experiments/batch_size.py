"""Batch size 1, 32, 128 and the full training set (article 001, mini-batch gradient descent).

One 784-50-10 ReLU network (the book's TwoLayerNet size), the same initial weights and learning rate for
every batch size. Batch 1 (SGD) has the noisiest gradient and the most jagged loss; the full batch has
no gradient noise and a smooth, stable descent, but each of its steps reads the whole training set, so
per example read it is the slowest. The gradient noise E||g_B - g||^2 falls as 1/B.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy

from ... import nn, optim
from ...autograd import grad
from ...autograd.tensor import Tensor
from ...functional import cross_entropy
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    n_train: int | None = None        # None: the whole training set
    hidden: tuple = (50,)
    lr: float = 0.1
    batch_sizes: tuple = (1, 32, 128, "full")
    iterations: int = 2000
    eval_every: int = 50              # full training loss every this many iterations
    noise_draws: int = 200            # mini-batches drawn per batch size to measure the gradient noise
    wall_clock: bool = True           # record seconds per arm (off in the tiny run: times are not repeatable)


def _size(batch, n: int) -> int:
    return n if batch == "full" else int(batch)


def _label(batch) -> str:
    return "full batch" if batch == "full" else f"batch {batch}"


def flat_gradient(model, x, y) -> numpy.ndarray:
    """∇ of the mean cross-entropy over ``(x, y)`` as one float64 vector."""
    params = model.parameters()
    loss = cross_entropy(model(Tensor(x)), y)
    return numpy.concatenate([g.data.astype(numpy.float64).ravel() for g in grad(loss, params)])


def gradient_noise(model, x, y, batch: int, draws: int, rng) -> float:
    """E||g_B - g||^2: mean squared distance of mini-batch gradients (drawn with replacement, as the
    training loop draws them) from the full-batch gradient g; the variance of one sample over B."""
    full = flat_gradient(model, x, y)
    if batch >= len(x):
        return float(numpy.sum((flat_gradient(model, x, y) - full) ** 2))
    return float(numpy.mean([numpy.sum((flat_gradient(model, x[i], y[i]) - full) ** 2)
                             for i in (rng.choice(len(x), batch) for _ in range(draws))]))


def _train(config, model, x, y, batch: int, rng) -> dict:
    opt = optim.create("sgd", model.parameters(), lr=config.lr)
    record = {"checkpoints": [0], "full_loss": [common.mean_loss(model, x, y)], "seconds": [0.0]}
    epoch = common.iterations_per_epoch(len(x), batch)
    clock = {"train": 0.0, "last": time.perf_counter()}

    def on_step(step, logs):
        clock["train"] += time.perf_counter() - clock["last"]
        done = step + 1
        if done % config.eval_every == 0 or done == epoch or done == config.iterations:
            record["checkpoints"].append(done)
            record["full_loss"].append(common.mean_loss(model, x, y))
            record["seconds"].append(clock["train"])
        clock["last"] = time.perf_counter()   # evaluation time is not training time

    record["step_loss"] = common.train_iterations(model, opt, x, y, config.iterations, batch, rng, on_step=on_step)
    if not config.wall_clock:
        del record["seconds"]
    return record


def run(config: Config, rng) -> dict:
    x, y, _, _ = common.load_flat(config.data, config.n_train)
    n = len(x)
    model_seed, batch_seed, noise_seed = (int(s) for s in rng.integers(2 ** 31, size=3))
    arms, noise = {}, {}
    for batch in track(config.batch_sizes, desc="batch sizes"):
        size = _size(batch, n)
        model = nn.models.mlp(x.shape[1], config.hidden, 10, activation="relu", init="he", rng=model_seed)
        # the noise is measured at the shared initial weights, before this arm trains
        noise[_label(batch)] = gradient_noise(model, x, y, size, config.noise_draws, numpy.random.default_rng(noise_seed))
        arms[_label(batch)] = dict(_train(config, model, x, y, size, numpy.random.default_rng(batch_seed)),
                                   batch=size, epoch_iteration=common.iterations_per_epoch(n, size))
    for arm in arms.values():
        steps = numpy.diff(arm["step_loss"])
        arm["share_of_rises"] = float(numpy.mean(steps > 0)) if len(steps) else float("nan")
        arm["final_loss"] = arm["full_loss"][-1] if len(arm["step_loss"]) == config.iterations else float("nan")
        at_epoch = [l for c, l in zip(arm["checkpoints"], arm["full_loss"]) if c == arm["epoch_iteration"]]
        arm["loss_after_one_epoch"] = at_epoch[0] if at_epoch else None
    rows = [[label, arm["batch"], noise[label], arm["share_of_rises"], arm["final_loss"], arm["loss_after_one_epoch"]]
            + ([arm["seconds"][-1] / max(len(arm["step_loss"]), 1) * 1000] if config.wall_clock else [])
            for label, arm in arms.items()]
    columns = ["arm", "B", "gradient noise E||g_B - g||^2 at init", "share of steps whose loss rose",
               f"training loss after {config.iterations} iterations", f"training loss after one epoch ({n} examples)"]
    return {"n_train": n, "iterations": config.iterations, "arms": arms, "noise": noise,
            "tables": [{"title": "batch sizes compared (same initial weights, same learning rate "
                                 f"{config.lr})", "rows": rows,
                        "columns": columns + (["ms per iteration (this run)"] if config.wall_clock else [])}]}


def plot(results: dict, folder) -> list[str]:
    arms = results["arms"]
    timed = all("seconds" in a for a in arms.values())
    fig, axes = plotting.figure(4 if timed else 3, columns=2, panel_size=(6, 4))
    for label, arm in arms.items():
        axes[0].plot(arm["checkpoints"], arm["full_loss"], label=label)
        read = [(c * arm["batch"], l) for c, l in zip(arm["checkpoints"], arm["full_loss"]) if c > 0]  # log axis
        axes[1].plot([r for r, _ in read], [l for _, l in read], label=label)
        axes[2].plot(common.smooth(arm["step_loss"], 1), label=label, linewidth=0.6, alpha=0.8)
        if timed:
            axes[3].plot(arm["seconds"], arm["full_loss"], label=label)
    labels = (("iterations", "training loss (whole set)"), ("examples read (iterations x B)", "training loss (whole set)"),
              ("iterations", "loss of the step's mini-batch"), ("training seconds (this run)", "training loss (whole set)"))
    for ax, (xlabel, ylabel) in zip(axes, labels):
        ax.set_xlabel(xlabel), ax.set_ylabel(ylabel), ax.grid(alpha=0.3), ax.legend(fontsize=8)
        ax.set_ylim(0, 2.6)
    axes[1].set_xscale("log")
    first = plotting.save(fig, folder, "loss", title="Batch size: loss per iteration, per example read, per step, per second")
    fig, (ax,) = plotting.figure(1, panel_size=(6, 4))
    sizes = {label: arm["batch"] for label, arm in arms.items()}
    noisy = {k: v for k, v in results["noise"].items() if v > 0}
    ax.loglog([sizes[k] for k in noisy], list(noisy.values()), "o-", label="measured E||g_B - g||^2")
    if noisy:
        k0 = min(noisy, key=sizes.get)
        b = numpy.array(sorted(sizes[k] for k in noisy), dtype=float)
        ax.loglog(b, noisy[k0] * sizes[k0] / b, "--", label="1/B law from the smallest B")
    ax.set_xlabel("batch size B"), ax.set_ylabel("gradient noise at the initial weights"), ax.legend(), ax.grid(alpha=0.3)
    return [first, plotting.save(fig, folder, "noise", title="Mini-batch gradient noise (full batch: exactly 0)")]


def check(results: dict) -> list:
    arms, noise = results["arms"], results["noise"]
    first, last = min(arms, key=lambda k: arms[k]["batch"]), max(arms, key=lambda k: arms[k]["batch"])
    sizes = sorted(noise, key=lambda k: arms[k]["batch"])
    values = [noise[k] for k in sizes]
    ratio = noise[first] / noise[sizes[-2]] if len(sizes) > 2 and noise[sizes[-2]] > 0 else float("nan")
    expected_ratio = arms[sizes[-2]]["batch"] / arms[first]["batch"] if len(sizes) > 2 else float("nan")
    epoch = {k: a["loss_after_one_epoch"] for k, a in arms.items() if a["loss_after_one_epoch"] is not None}
    return [
        verdicts.holds("gradient noise falls with the batch size and is zero for the full batch",
                       all(a > b for a, b in zip(values, values[1:])) and noise[last] == 0.0,
                       ", ".join(f"{k} {v:.4g}" for k, v in zip(sizes, values)),
                       "batch 1: 'gradient noise large, unstable'; mini-batch: 'less noise'; full batch: "
                       "'no gradient noise, most stable' (article 001's table)"),
        verdicts.holds("the noise falls as 1/B", expected_ratio / 2 <= ratio <= expected_ratio * 2,
                       f"noise({first}) / noise({sizes[-2]}) = {ratio:.4g}, 1/B predicts {expected_ratio:.4g}",
                       "averaging B independent per-example gradients divides the variance by B (within a factor 2)"),
        verdicts.at_most("the full batch descends stably", arms[last]["share_of_rises"], 0.05,
                         "full batch: 'every update accurate, convergence stable'; its loss rises on at most 5% of steps"),
        verdicts.at_least("batch 1 oscillates", arms[first]["share_of_rises"], 0.25,
                          "batch 1: 'frequent updates but obvious oscillation'; its step loss rises on >= 25% of steps"),
        verdicts.ranking("per iteration, batch 1 is furthest from converging",
                         {k: a["final_loss"] for k, a in arms.items()},
                         "batch 1 'may need more iterations to converge': the highest training loss after "
                         "the same number of iterations", highest=first),
        verdicts.ranking("per example read, the full batch is slowest", epoch,
                         "full batch: 'lowest efficiency, must read the whole training set' per update: the highest "
                         "loss after one epoch of examples (among the arms that ran an epoch)", highest=last),
    ]


EXPERIMENT = experiment(
    "batch-size", order=14, title="Batch size 1 vs 32 vs 128 vs full batch",
    source="article 001 (mini-batch gradient descent, the table comparing batch_size = 1, mini-batch, full)",
    config=Config(), quick=Config(n_train=4000, iterations=150, eval_every=10, noise_draws=100),
    tiny=Config(n_train=200, iterations=8, eval_every=4, noise_draws=4, wall_clock=False),
    # a learning rate far past the full batch's stability limit: its loss no longer falls steadily
    broken=Config(n_train=2000, lr=3.0, iterations=20, eval_every=5, noise_draws=20),
    run=run, plot=plot, check=check)
