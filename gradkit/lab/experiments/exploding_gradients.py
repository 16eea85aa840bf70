"""Exploding gradients: too-large initial weights or learning rate, and clipping by norm (article 001).

A 784-100x6-10 ReLU net on MNIST, trained with SGD twice from the same weights on the same batches:
once plainly, once with the joint gradient norm clipped to 5 before each step. Two causes from article
001's table: weights drawn from N(0, 0.3^2) (about twice He's scale, so each layer multiplies the
signal's variance by 4.5) with lr 0.1, and He weights with lr 3.0. Without clipping the gradient norm
spikes by orders of magnitude and the loss becomes NaN within a few steps; with clipping every loss
stays finite. Clipping bounds the step, it does not repair the learning rate: at lr 3.0 the clipped
net survives but stops learning (loss near ln 10).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy

from ... import nn, optim
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment
from . import _gradflow


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    hidden: tuple = (100,) * 6
    batch_size: int = 128
    iterations: int = 2000
    clip_norm: float = 5.0
    # (name, weight std (None: He), learning rate); the first must learn once clipped
    scenarios: tuple = (("init N(0, 0.3^2), lr 0.1", 0.3, 0.1), ("He init, lr 3.0", None, 3.0))


def run(config: Config, rng) -> dict:
    x, y, _, _ = common.load_flat(config.data)
    out = {}
    for name, std, lr in track(config.scenarios, desc="scenarios"):
        model_seed, batch_seed = (int(s) for s in rng.integers(2 ** 31, size=2))
        arms = {}
        for label, clip in (("no clipping", None), (f"clip norm {config.clip_norm:g}", config.clip_norm)):
            model = nn.models.mlp(x.shape[1], config.hidden, 10, activation="relu",
                                  init=nn.init.normal(std) if std is not None else "he", rng=model_seed)
            opt = optim.create("sgd", model.parameters(), lr=lr)
            record = _gradflow.train_recording(model, opt, x, y, config.iterations, config.batch_size,
                                               numpy.random.default_rng(batch_seed), every=config.iterations,
                                               clip_grad_norm=clip)
            losses, norms = record["loss"], record["total_norm"]
            finite_norms = [n for n in norms if math.isfinite(n)]
            arms[label] = {"loss": losses, "grad_norm": norms, "steps_run": len(losses),
                           "diverged": not all(math.isfinite(v) for v in losses),
                           "first_grad_norm": norms[0], "max_grad_norm": max(finite_norms, default=float("nan")),
                           "first_loss": losses[0], "final_loss": common.tail_mean(losses)}
        out[name] = arms
    rows = [[name, label, a["first_grad_norm"], a["max_grad_norm"], a["steps_run"], "NaN" if a["diverged"] else
             a["final_loss"]] for name, arms in out.items() for label, a in arms.items()]
    return {"scenarios": out, "clip_norm": config.clip_norm, "iterations": config.iterations,
            "tables": [{"title": f"784-{'-'.join(map(str, config.hidden))}-10 ReLU, SGD, batch {config.batch_size}, "
                                 f"{config.iterations} iterations (training stops at the first NaN loss)",
                        "columns": ["scenario", "arm", "grad norm at step 1", "largest finite grad norm",
                                    "steps run", "final loss"],
                        "rows": rows}]}


def plot(results: dict, folder) -> list[str]:
    scenarios = results["scenarios"]
    fig, axes = plotting.figure(2 * len(scenarios), columns=2, panel_size=(6, 3.6))
    for row, (name, arms) in enumerate(scenarios.items()):
        plotting.curves(axes[2 * row], {k: a["grad_norm"] for k, a in arms.items()}, "iteration",
                        "gradient norm (before clipping)", log_y=True, title=f"{name}: gradient norm")
        axes[2 * row].axhline(results["clip_norm"], color="grey", linestyle=":", linewidth=1)
        plotting.curves(axes[2 * row + 1], {k: common.smooth(a["loss"], 10) for k, a in arms.items()}, "iteration",
                        "training loss (smoothed)", log_y=True, title=f"{name}: loss (line ends at NaN)")
    return [plotting.save(fig, folder, "exploding", title="Exploding gradients and clipping by norm on MNIST")]


def check(results: dict) -> list:
    out = []
    clip_label = f"clip norm {results['clip_norm']:g}"
    for index, (name, arms) in enumerate(results["scenarios"].items()):
        plain, clipped = arms["no clipping"], arms[clip_label]
        out.append(verdicts.holds(f"{name}: without clipping the loss becomes NaN", plain["diverged"],
                                  f"{'NaN' if plain['diverged'] else 'finite'} after {plain['steps_run']} steps",
                                  "parameters and loss become NaN or infinite (article 001: 参数变为 NaN 或无穷大)"))
        out.append(verdicts.at_least(f"{name}: the gradient norm spikes before it dies",
                                     plain["max_grad_norm"] / plain["first_grad_norm"], 100.0,
                                     "the gradient norm grows by more than 100x over its first value "
                                     "(article 001: 梯度逐层传递时变得越来越大,导致梯度发散)", unit="x"))
        out.append(verdicts.holds(f"{name}: clipping by norm {results['clip_norm']:g} keeps training alive",
                                  not clipped["diverged"],
                                  f"{'NaN' if clipped['diverged'] else 'finite'} over {clipped['steps_run']} steps",
                                  "with gradient clipping (article 001's first remedy) every loss stays finite"))
        if index == 0:
            out.append(verdicts.less(f"{name}: with clipping the net learns", "final loss", clipped["final_loss"],
                                     "ln 10", math.log(10),
                                     "the clipped run's final loss falls below chance level ln 10 = 2.30"))
    return out


EXPERIMENT = experiment(
    "exploding-gradients", order=10, title="Exploding gradients: too-large init or learning rate, and clipping",
    source="article 001 (causes and remedies of exploding gradients), article 000 (vanishing and exploding)",
    config=Config(), quick=Config(iterations=300),
    tiny=Config(iterations=3, hidden=(8, 8), batch_size=16),
    # broken: a clipping threshold so high that it never acts, so the "clipped" runs die too
    broken=Config(iterations=100, clip_norm=1e12),
    run=run, plot=plot, check=check)
