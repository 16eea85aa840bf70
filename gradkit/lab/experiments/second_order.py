"""GD, Momentum, Newton-CG and L-BFGS on logistic regression and a small network (article 000).

Full-batch training from the same initial weights: softmax regression (convex, with a small L2 term)
and a 784-20-10 tanh network. Newton's method uses the curvature (Hessian-vector products solved by
conjugate gradient) and the quasi-Newton L-BFGS estimates it from past gradients; both reach in tens of
iterations losses that gradient descent and Momentum do not reach in all of theirs. Each iteration of
theirs costs more gradient-sized passes, so the cost in passes is counted and plotted too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import nn, optim
from ...autograd.tensor import Tensor
from ...functional import cross_entropy
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    n_train: int | None = 2000
    l2: float = 1e-3                  # λ/2 ||w||² on the weights: keeps logistic regression strictly convex
    net_hidden: tuple = (20,)
    iterations: int = 100
    gd_lr: float = 0.5
    momentum_lr: float = 0.1
    cg_iters: int = 10
    # Newton-CG's δ per problem: the net's Hessian is indefinite in places, and with a small δ its
    # full Newton steps blow the loss up (measured: δ = 0.01 and 0.3 diverge there; 1.0 for some seeds)
    damping: tuple = (("logistic regression", 0.01), ("small net", 1.0))
    history: int = 20                 # L-BFGS pairs
    line_search: str | None = None    # L-BFGS: torch's default, unit steps
    methods: tuple = ("GD", "Momentum", "Newton-CG", "L-BFGS")


def _optimizer(name: str, params, config: Config, problem: str):
    if name == "GD":
        return optim.SGD(params, lr=config.gd_lr)
    if name == "Momentum":
        return optim.SGD(params, lr=config.momentum_lr, momentum=0.9)
    if name == "Newton-CG":
        return optim.NewtonCG(params, cg_iters=config.cg_iters, damping=dict(config.damping)[problem])
    if name == "L-BFGS":
        return optim.LBFGS(params, max_iter=1, history_size=config.history, line_search_fn=config.line_search)
    raise ValueError(f"second-order: unknown method {name!r}; known: GD, Momentum, Newton-CG, L-BFGS")


def descend(name: str, model, x, y, config: Config, problem: str) -> dict:
    """``config.iterations`` full-batch iterations of ``name``; the loss before each and after the last,
    and the passes spent so far (one per gradient, one per Hessian-vector product)."""
    params = list(model.parameters())
    opt = _optimizer(name, params, config, problem)
    inputs = Tensor(x)

    def objective():
        loss = cross_entropy(model(inputs), y)
        return loss + sum((p * p).sum() for p in params if p.ndim > 1) * (config.l2 / 2)

    def closure():   # the torch convention: clear, evaluate, backward (NewtonCG differentiates itself)
        opt.zero_grad()
        loss = objective()
        if name != "Newton-CG":
            loss.backward()
        return loss

    losses, passes = [], [0]
    for _ in range(config.iterations):
        if name in ("GD", "Momentum"):
            losses.append(closure().item())
            opt.step()
            passes.append(passes[-1] + 1)
        else:
            losses.append(opt.step(closure).item())
            state = opt.state[params[0]]
            used = 1 + state["cg_iterations"] if name == "Newton-CG" else state["func_evals"] - passes[-1]
            passes.append(passes[-1] + used)
        if not numpy.isfinite(losses[-1]):
            break
    losses.append(objective().item())
    return {"loss": losses, "passes": passes[:len(losses)]}


def run(config: Config, rng) -> dict:
    x, y, _, _ = common.load_flat(config.data, config.n_train)
    x = x.astype(numpy.float64)   # second-order methods resolve losses below float32's rounding
    seeds = {"logistic regression": int(rng.integers(2 ** 31)), "small net": int(rng.integers(2 ** 31))}
    problems = {}
    for problem, seed in seeds.items():
        hidden = () if problem == "logistic regression" else config.net_hidden
        arms = {}
        for name in track(config.methods, desc=problem):
            model = nn.models.mlp(x.shape[1], hidden, 10, activation="tanh", init="xavier", rng=seed)
            for p in model.parameters():
                p.data = p.data.astype(numpy.float64)
            arms[name] = descend(name, model, x, y, config, problem)
        problems[problem] = arms
    summary = {problem: {name: {"final_loss": arm["loss"][-1], "passes": arm["passes"][-1],
                                "iterations_to_gd_final": _first_below(arm["loss"], arms["GD"]["loss"][-1])}
                         for name, arm in arms.items()} for problem, arms in problems.items()}
    return {"iterations": config.iterations, "n_train": len(x), "problems": problems, "summary": summary,
            "tables": [{"title": f"{problem}: {config.iterations} full-batch iterations on {len(x)} images",
                        "columns": ["method", "final loss", "gradient + Hessian-vector passes",
                                    "iterations to reach GD's final loss"],
                        "rows": [[k, v["final_loss"], v["passes"], v["iterations_to_gd_final"]] for k, v in s.items()]}
                       for problem, s in summary.items()]}


def _first_below(losses, target):
    """The first iteration whose loss is at most ``target`` (None if never)."""
    return next((i for i, loss in enumerate(losses) if loss <= target), None)


def plot(results: dict, folder) -> list[str]:
    problems = results["problems"]
    fig, axes = plotting.figure(2 * len(problems), columns=2, panel_size=(5.5, 3.8))
    for row, (problem, arms) in enumerate(problems.items()):
        plotting.curves(axes[2 * row], {k: a["loss"] for k, a in arms.items()}, "iterations", "training loss",
                        log_y=True, title=problem)
        for name, arm in arms.items():
            axes[2 * row + 1].plot(arm["passes"], arm["loss"], label=name)
        ax = axes[2 * row + 1]
        ax.set_yscale("log"), ax.set_xlabel("gradient + Hessian-vector passes"), ax.set_ylabel("training loss")
        ax.set_title(f"{problem}, per pass", fontsize=10), ax.grid(alpha=0.3), ax.legend(fontsize=8)
    return [plotting.save(fig, folder, "loss", title="First- and second-order methods, full batch")]


def check(results: dict) -> list:
    out = []
    for problem, s in results["summary"].items():
        first = min(s["GD"]["final_loss"], s["Momentum"]["final_loss"])
        for method in ("Newton-CG", "L-BFGS") if problem == "logistic regression" else ("L-BFGS",):
            reached = s[method]["iterations_to_gd_final"]
            limit = results["iterations"] // 2
            out.append(verdicts.holds(
                f"{problem}: {method} converges in fewer iterations", reached is not None and reached <= limit
                and s[method]["final_loss"] < first,
                f"{method} reaches GD's final loss {s['GD']['final_loss']:.4g} at iteration {reached} (limit {limit}); "
                f"ends at {s[method]['final_loss']:.4g} vs the best first-order {first:.4g}",
                "Newton and quasi-Newton methods use curvature: they reach gradient descent's final loss within "
                "half its iterations and end lower than GD and Momentum"))
    lr = results["summary"]["logistic regression"]
    out.append(verdicts.less("logistic regression: L-BFGS is cheaper than GD even per gradient",
                             "L-BFGS passes to reach GD's final loss",
                             _passes_to(results["problems"]["logistic regression"], "L-BFGS", lr["GD"]["final_loss"]),
                             "GD's passes", lr["GD"]["passes"],
                             "quasi-Newton curvature comes from past gradients at no extra pass: L-BFGS needs fewer "
                             "loss-and-gradient evaluations than GD to reach GD's final loss"))
    return out


def _passes_to(arms, method, target) -> float:
    i = _first_below(arms[method]["loss"], target)
    return float(arms[method]["passes"][i]) if i is not None else float("inf")


EXPERIMENT = experiment(
    "second-order", order=18, title="GD, Momentum, Newton-CG and L-BFGS on logistic regression and a small net",
    source="article 000 (gradient descent and its variants; Newton and quasi-Newton methods)",
    config=Config(n_train=8000, iterations=200), quick=Config(n_train=800, iterations=50),
    tiny=Config(n_train=40, iterations=3, cg_iters=2, net_hidden=(4,)),
    # Newton-CG damped so hard (δ = 1e4) that its step is -g/δ: a gradient step too small to move
    broken=Config(n_train=200, iterations=30, damping=(("logistic regression", 1e4), ("small net", 1e4))),
    run=run, plot=plot, check=check)
