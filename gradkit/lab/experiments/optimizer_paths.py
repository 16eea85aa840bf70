"""Optimiser paths on f(x, y) = x^2/20 + y^2 (the book's ch. 6.1, article 002).

The function is 20 times steeper along y than along x: plain SGD zig-zags across the valley while it
crawls along it; Momentum rolls like a ball in a bowl (overshooting the minimum); AdaGrad's per-axis
step sizes shrink the steep direction's steps fastest, and on this function it ends nearest the minimum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import optim
from ...autograd.tensor import Tensor
from .. import plotting, verdicts
from ..registry import experiment


@dataclass(frozen=True)
class Config:
    start: tuple = (-7.0, 2.0)
    steps: int = 30
    # (optimizer name for gradkit.optim.create, learning rate), the book's four first, then two more
    optimizers: tuple = (("sgd", 0.95), ("momentum", 0.1), ("adagrad", 1.5), ("adam", 0.3),
                         ("rmsprop", 0.1), ("nesterov", 0.1))


def objective(p: Tensor) -> Tensor:
    """f(x, y) = x^2 / 20 + y^2."""
    return p[0] * p[0] / 20.0 + p[1] * p[1]


def descend(name: str, lr: float, start, steps: int) -> numpy.ndarray:
    """The ``steps + 1`` points an optimiser visits from ``start`` (float64)."""
    p = Tensor(numpy.array(start, dtype=numpy.float64), requires_grad=True)
    opt = optim.create(name, [p], lr=lr)
    points = [p.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        objective(p).backward()
        opt.step()
        points.append(p.data.copy())
    return numpy.array(points)


def run(config: Config, rng) -> dict:
    paths = {name: descend(name, lr, config.start, config.steps) for name, lr in config.optimizers}
    final = {name: float(objective(Tensor(pts[-1])).data) for name, pts in paths.items()}
    y_flips = {name: int(numpy.sum(numpy.diff(numpy.sign(pts[:, 1])) != 0)) for name, pts in paths.items()}
    x_flips = {name: int(numpy.sum(numpy.diff(numpy.sign(pts[:, 0])) != 0)) for name, pts in paths.items()}
    rows = [[name, lr, final[name], y_flips[name], x_flips[name]] for name, lr in config.optimizers]
    return {"steps": config.steps, "paths": {k: v.tolist() for k, v in paths.items()}, "final_value": final,
            "y_sign_changes": y_flips, "x_sign_changes": x_flips,
            "learning_rates": {name: lr for name, lr in config.optimizers},
            "tables": [{"title": f"after {config.steps} steps from {config.start}",
                        "columns": ["optimizer", "lr", "f at the end", "y sign changes", "x sign changes"],
                        "rows": rows}]}


def plot(results: dict, folder) -> list[str]:
    names = list(results["paths"])
    fig, axes = plotting.figure(len(names), columns=3, panel_size=(4.6, 3.4))
    xs, ys = numpy.meshgrid(numpy.linspace(-10, 10, 200), numpy.linspace(-5, 5, 200))
    for ax, name in zip(axes, names):
        pts = numpy.array(results["paths"][name])
        ax.contour(xs, ys, xs ** 2 / 20 + ys ** 2, levels=numpy.geomspace(0.05, 25, 12), colors="0.75", linewidths=0.6)
        ax.plot(pts[:, 0], pts[:, 1], "o-", color="tab:red", markersize=2.5, linewidth=1)
        ax.plot(0, 0, "+", color="k", markersize=10)
        ax.set_xlim(-10, 10)
        ax.set_ylim(-5, 5)
        ax.set_title(f"{name} (lr {results['learning_rates'][name]}): f = {results['final_value'][name]:.2g}")
    return [plotting.save(fig, folder, "paths", title="f(x, y) = x^2/20 + y^2, 30 steps from (-7, 2)")]


def check(results: dict) -> list:
    steps = results["steps"]
    final = {k: v for k, v in results["final_value"].items() if k in ("sgd", "momentum", "adagrad", "adam")}
    out = [verdicts.at_least("SGD zig-zags across the steep y direction", results["y_sign_changes"].get("sgd", 0),
                             0.8 * steps, "y changes sign at most steps of SGD (the book's zig-zag path)",
                             unit=" sign changes"),
           verdicts.ranking("AdaGrad ends nearest the minimum of the book's four", final,
                            "the book: 'judging by this figure, AdaGrad looks best'", lowest="adagrad")]
    if "momentum" in results["x_sign_changes"]:
        out.append(verdicts.at_least("Momentum overshoots the minimum like a rolling ball",
                                     results["x_sign_changes"]["momentum"], 1,
                                     "Momentum's path crosses x = 0 at least once", unit=" crossings"))
    return out


EXPERIMENT = experiment(
    "optimizer-paths", order=1, title="Optimiser paths on x^2/20 + y^2",
    source="article 002 (Deep Learning from Scratch ch. 6.1), figure 6-8",
    config=Config(), quick=Config(), tiny=Config(steps=4),
    broken=Config(optimizers=(("sgd", 0.95), ("momentum", 0.1), ("adagrad", 0.01), ("adam", 0.3))),
    run=run, plot=plot, check=check)
