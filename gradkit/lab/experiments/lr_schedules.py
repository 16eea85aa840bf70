"""Learning-rate schedules: constant, step, exponential, cosine, and warm-up then cosine (article 004).

Mini-batch SGD on a 784-100-10 ReLU network, the same initial weights and mini-batches for every
schedule, the lr updated every iteration. Mini-batches bring noise that does not vanish at a minimum, so
with a constant lr the weights keep jittering around it; every schedule that decays the lr ends at a
lower training loss, and the weights move less over the last iterations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import nn, optim
from ...optim import schedule
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    hidden: tuple = (100,)
    lr: float = 0.5
    batch_size: int = 8               # small batches: their gradient noise is what decay damps
    iterations: int = 5000
    schedules: tuple = ("constant", "step", "exponential", "cosine", "warmup + cosine")
    step_every: float = 0.25          # StepLR: ×gamma every this share of the run
    gamma: float = 0.3                # StepLR's factor
    final_factor: float = 0.03       # ExponentialLR: gamma chosen so the last lr is base × this
    warmup: float = 0.05              # share of the run the linear warm-up lasts, from lr/10
    checkpoints: int = 25             # whole-training-set loss this many times along the run


def scheduler(name: str, opt, config: Config):
    """The gradkit.optim.schedule scheduler called ``name``, stepped once per iteration."""
    total = config.iterations
    if name == "constant":
        return None
    if name == "step":
        return schedule.StepLR(opt, step_size=max(1, int(total * config.step_every)), gamma=config.gamma)
    if name == "exponential":
        return schedule.ExponentialLR(opt, gamma=config.final_factor ** (1.0 / total))
    if name == "cosine":
        return schedule.CosineAnnealingLR(opt, T_max=total)
    if name == "warmup + cosine":
        ramp = max(1, int(total * config.warmup))
        return schedule.SequentialLR(opt, [schedule.LinearLR(opt, start_factor=0.1, total_iters=ramp),
                                           schedule.CosineAnnealingLR(opt, T_max=max(1, total - ramp))],
                                     milestones=[ramp])
    raise ValueError(f"lr-schedules: unknown schedule {name!r}; known: constant, step, exponential, cosine, "
                     "warmup + cosine")


def _flat_weights(model) -> numpy.ndarray:
    return numpy.concatenate([p.data.ravel().astype(numpy.float64) for p in model.parameters()])


def run(config: Config, rng) -> dict:
    x, y, xt, yt = common.load_flat(config.data)
    model_seed, batch_seed = (int(s) for s in rng.integers(2 ** 31, size=2))
    every = max(1, config.iterations // config.checkpoints)
    late = config.iterations - max(1, config.iterations // 10)   # the last 10% of the run
    arms = {}
    for name in track(config.schedules, desc="schedules"):
        model = nn.models.mlp(x.shape[1], config.hidden, 10, activation="relu", init="he", rng=model_seed)
        opt = optim.create("sgd", model.parameters(), lr=config.lr)
        sched = scheduler(name, opt, config)
        arm = {"lr": [], "checkpoints": [0], "full_loss": [common.mean_loss(model, x, y)]}

        def on_step(step, logs):
            arm["lr"].append(opt.param_groups[0]["lr"])
            if sched is not None:
                sched.step()
            if step + 1 == late:
                arm["late_weights"] = _flat_weights(model)
            if (step + 1) % every == 0 or step + 1 == config.iterations:
                arm["checkpoints"].append(step + 1)
                arm["full_loss"].append(common.mean_loss(model, x, y))

        arm["step_loss"] = common.train_iterations(model, opt, x, y, config.iterations, config.batch_size,
                                                   numpy.random.default_rng(batch_seed), on_step=on_step)
        finished = len(arm["step_loss"]) == config.iterations
        arm["final_loss"] = arm["full_loss"][-1] if finished else float("nan")
        # how far the weights still wander over the last 10% of the run: jitter a decayed lr damps
        arm["late_movement"] = (float(numpy.linalg.norm(_flat_weights(model) - arm.pop("late_weights")))
                                if finished else float("nan"))
        arm["test_accuracy"] = common.accuracy(model, xt, yt)
        arms[name] = arm
    return {"iterations": config.iterations, "lr": config.lr, "batch_size": config.batch_size, "arms": arms,
            "tables": [{"title": f"SGD lr {config.lr}, batch {config.batch_size}, {config.iterations} iterations",
                        "columns": ["schedule", "last lr", "training loss (whole set) at the end",
                                    "weight movement over the last 10%", "test accuracy"],
                        "rows": [[k, a["lr"][-1] if a["lr"] else None, a["final_loss"], a["late_movement"],
                                  a["test_accuracy"]] for k, a in arms.items()]}]}


def plot(results: dict, folder) -> list[str]:
    arms = results["arms"]
    fig, axes = plotting.figure(3, panel_size=(5, 4))
    plotting.curves(axes[0], {k: a["lr"] for k, a in arms.items()}, "iterations", "learning rate", title="schedules")
    for name, a in arms.items():
        axes[1].plot(a["checkpoints"], a["full_loss"], label=name)
    axes[1].set_xlabel("iterations"), axes[1].set_ylabel("training loss (whole set)"), axes[1].set_yscale("log")
    axes[1].grid(alpha=0.3), axes[1].legend(fontsize=8)
    tail = max(1, len(next(iter(arms.values()))["checkpoints"]) // 2)
    for name, a in arms.items():
        axes[2].plot(a["checkpoints"][tail:], a["full_loss"][tail:], "o-", markersize=3, label=name)
    axes[2].set_xlabel("iterations"), axes[2].set_ylabel("training loss (whole set)"), axes[2].grid(alpha=0.3)
    axes[2].set_title("second half, zoomed", fontsize=10), axes[2].legend(fontsize=8)
    return [plotting.save(fig, folder, "schedules", title=f"Learning-rate schedules: SGD lr {results['lr']}, "
                                                           f"batch {results['batch_size']}")]


def check(results: dict) -> list:
    arms = results["arms"]
    constant = arms["constant"]
    decayed = {k: a for k, a in arms.items() if k != "constant"}
    loss = ", ".join(f"{k} {a['final_loss']:.4g}" for k, a in arms.items())
    movement = ", ".join(f"{k} {a['late_movement']:.3g}" for k, a in arms.items())
    return [
        verdicts.holds("every decaying schedule ends below the constant lr",
                       all(a["final_loss"] < constant["final_loss"] for a in decayed.values()), loss,
                       "'in practice we lower the learning rate as training goes on': the mini-batch noise "
                       "does not vanish at the minimum, so each decayed schedule reaches a lower training loss"),
        verdicts.holds("a constant lr keeps oscillating", all(a["late_movement"] < constant["late_movement"] / 2
                                                              for a in decayed.values()), movement,
                       "'the noise may make it oscillate back and forth': over the last 10% of the run the "
                       "weights under a constant lr move more than twice as far as under any decayed one"),
    ]


EXPERIMENT = experiment(
    "lr-schedules", order=17, title="Learning-rate schedules: constant, step, exponential, cosine, warm-up",
    source="article 004 (optimisation algorithms: learning-rate decay)",
    config=Config(), quick=Config(iterations=800, checkpoints=16),
    tiny=Config(iterations=20, hidden=(8,), checkpoints=4),
    # decay far too early: the lr collapses within a few steps and training stalls before it starts
    broken=Config(iterations=120, hidden=(50,), checkpoints=4, step_every=0.01, gamma=0.01, final_factor=1e-30, warmup=0.9),
    run=run, plot=plot, check=check)
