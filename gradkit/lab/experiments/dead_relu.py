"""Dead ReLUs: biases initialised at -8 kill every gradient; LeakyReLU (slope 0.01) restores them
(articles 000, 003, 004).

A ReLU unit whose input is negative for every sample outputs 0 and passes back 0 (f' = [x > 0]); with
all biases at -8 every hidden unit is such a unit, so every weight gradient is exactly zero and no
optimiser can move the net. LeakyReLU has f' = 0.01 there: the gradient is tiny (0.01 per layer) but
never zero. Shown on the NNDL book's 2-3-3-3-3-1 net on two moons (N(0, 0.01) weights) and on a
784-100x4-10 He-initialised MNIST net trained with SGD and with Adam, whose per-parameter scaling turns
LeakyReLU's tiny gradients into full-size steps, so the leaky net climbs out while the ReLU net stays
at chance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import nn, optim
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment
from . import _gradflow

ACTIVATIONS = ("relu", "leaky_relu")


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    bias: float = -8.0
    moons_samples: int = 1000
    moons_noise: float = 0.1
    moons_hidden: tuple = (3, 3, 3, 3)
    moons_std: float = 0.01
    moons_lr: float = 0.2
    moons_iterations: int = 300           # full-batch steps
    hidden: tuple = (100,) * 4
    batch_size: int = 128
    iterations: int = 2000
    # (optimizer name, learning rate)
    optimizers: tuple = (("sgd", 0.1), ("adam", 0.01))
    record_every: int = 50


def _record(model, optimizer, x, y, iterations, batch_size, rng, every, loss_fn=None) -> dict:
    before = [p.data.copy() for p in model.parameters()]
    r = _gradflow.train_recording(model, optimizer, x, y, iterations, batch_size, rng, every=every, loss_fn=loss_fn)
    hidden = list(model.parameters())[:-2]        # all but the output layer's weight and bias
    moved = [float(numpy.abs(p.data - b).max()) for p, b in zip(hidden, before)]
    norms = numpy.array(r["layer_norms"])
    return {"loss": r["loss"], "steps": r["steps"], "layer_norms": r["layer_norms"],
            "max_grad_norm": float(norms.max()), "min_grad_norm": float(norms.min()),
            "hidden_moved": max(moved)}


def run(config: Config, rng) -> dict:
    moons_seed, model_seed, batch_seed = (int(s) for s in rng.integers(2 ** 31, size=3))
    x, y = _gradflow.two_moons(config.moons_samples, config.moons_noise, numpy.random.default_rng(moons_seed))
    moons = {}
    for act in ACTIVATIONS:
        model = nn.models.mlp(2, config.moons_hidden, 1, activation=act, init=nn.init.normal(config.moons_std),
                              rng=model_seed)
        _gradflow.set_biases(model, config.bias)
        opt = optim.create("sgd", model.parameters(), lr=config.moons_lr)
        moons[act] = _record(model, opt, x, y, config.moons_iterations, len(x), None,
                             max(1, config.moons_iterations // 20), loss_fn=_gradflow.bce_logits)
        moons[act]["accuracy"] = float(((model(x).data > 0) == (y > 0.5)).mean())
    x, y, x_test, y_test = common.load_flat(config.data)
    mnist = {}
    for (name, lr) in track(config.optimizers, desc="optimizers"):
        for act in ACTIVATIONS:
            model = nn.models.mlp(x.shape[1], config.hidden, 10, activation=act, init="he", rng=model_seed)
            _gradflow.set_biases(model, config.bias)
            opt = optim.create(name, model.parameters(), lr=lr)
            r = _record(model, opt, x, y, config.iterations, config.batch_size, numpy.random.default_rng(batch_seed),
                        config.record_every)
            r["test_accuracy"] = common.accuracy(model, x_test, y_test)
            mnist[f"{act}, {name} {lr:g}"] = dict(r, activation=act, optimizer=name)
    chance = float(numpy.bincount(y_test).max() / len(y_test))
    rows = [["two moons", act, "sgd", r["max_grad_norm"], r["min_grad_norm"], r["hidden_moved"], r["accuracy"]]
            for act, r in moons.items()]
    rows += [["MNIST", r["activation"], name.split(", ")[1], r["max_grad_norm"], r["min_grad_norm"], r["hidden_moved"],
              r["test_accuracy"]] for name, r in mnist.items()]
    return {"moons": moons, "mnist": mnist, "chance": chance, "bias": config.bias,
            "tables": [{"title": f"all biases {config.bias:g}: weight-gradient norms over every layer and recorded "
                                 f"step, largest change of a hidden parameter, accuracy (test set for MNIST; chance "
                                 f"= {chance:.3f})",
                        "columns": ["data", "activation", "optimizer", "largest ||dL/dW||", "smallest ||dL/dW||",
                                    "hidden parameters moved by", "accuracy"],
                        "rows": rows}]}


def plot(results: dict, folder) -> list[str]:
    panels = [("two moons, " + act, r) for act, r in results["moons"].items()]
    panels += [("MNIST, " + name, r) for name, r in results["mnist"].items() if r["optimizer"] == "sgd"]
    fig, axes = plotting.figure(len(panels) + 1, columns=3, panel_size=(5, 3.6))
    for ax, (title, r) in zip(axes, panels):
        count = len(r["layer_norms"][0])
        # a norm of exactly 0 cannot sit on a log axis: draw it at the bottom edge and say so
        floor = 1e-20
        for i in range(count):
            ax.plot(r["steps"], [max(n[i], floor) for n in r["layer_norms"]], label=f"layer {i + 1}")
        ax.set(yscale="log", ylim=(floor / 3, 10), xlabel="iteration",
               ylabel="||dL/dW|| (exact 0 drawn at 1e-20)", title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    plotting.curves(axes[-1], {name: common.smooth(r["loss"], 20) for name, r in results["mnist"].items()},
                    "iteration", "training loss (smoothed)", title="MNIST training loss")
    return [plotting.save(fig, folder, "gradients", title=f"All biases initialised at {results['bias']:g}: "
                                                          "ReLU against LeakyReLU (slope 0.01)")]


def check(results: dict) -> list:
    out = []
    relu = [("two moons", results["moons"]["relu"])] + [(name, r) for name, r in results["mnist"].items()
                                                          if r["activation"] == "relu"]
    leaky = [("two moons", results["moons"]["leaky_relu"])] + [(name, r) for name, r in results["mnist"].items()
                                                                if r["activation"] == "leaky_relu"]
    out.append(verdicts.at_most(f"ReLU with bias {results['bias']:g}: every weight gradient is exactly zero",
                                max(r["max_grad_norm"] for _, r in relu), 0.0,
                                "all units are dead, f' = 0 everywhere, so ||dL/dW|| = 0 in every layer at every "
                                "step (article 004: the 'Dead ReLU Problem')"))
    out.append(verdicts.at_most(f"ReLU with bias {results['bias']:g}: the hidden layers never move", max(r["hidden_moved"] for _, r in relu),
                                0.0, "no optimiser changes a hidden weight or bias: the neurons 'may never be "
                                     "activated again' (article 000)"))
    out.append(verdicts.at_least("LeakyReLU: every layer gets a gradient", min(r["min_grad_norm"] for _, r in leaky),
                                 1e-30, "||dL/dW|| > 0 in every layer at every step: 'the derivative is never zero' "
                                        "(article 004)"))
    adam = [r for name, r in results["mnist"].items() if r["optimizer"] == "adam"]
    for r in adam:
        key = "ReLU stays at chance" if r["activation"] == "relu" else "LeakyReLU learns (slowly)"
        if r["activation"] == "relu":
            out.append(verdicts.at_most(f"MNIST with Adam: {key}", r["test_accuracy"], results["chance"] + 0.02,
                                        "test accuracy within 2 points of the largest class's share"))
        else:
            out.append(verdicts.at_least(f"MNIST with Adam: {key}", r["test_accuracy"], 0.3,
                                         "test accuracy above 30%, far above chance: LeakyReLU 'allows gradient-based "
                                         "learning (though slowly)' (article 004)"))
    return out


EXPERIMENT = experiment(
    "dead-relu", order=11, title="Dead ReLUs: bias -8 kills every gradient, LeakyReLU restores them",
    source="article 004 (ReLU / LeakyReLU), article 000 (ReLU death, Leaky and Parametric ReLU), article 003",
    config=Config(), quick=Config(iterations=300, moons_iterations=100),
    tiny=Config(iterations=3, hidden=(8, 8), batch_size=16, record_every=1, moons_samples=20, moons_iterations=3),
    # broken: biases at 0 instead of -8, so the ReLU units are alive and their gradients are not zero
    broken=Config(bias=0.0, iterations=40, moons_iterations=20),
    run=run, plot=plot, check=check)
