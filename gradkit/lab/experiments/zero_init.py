"""Zero (or any constant) initialisation: hidden units stay identical and the net barely learns
(article 000, weight initialisation).

With all weights equal, every unit of a hidden layer computes the same output and receives the same
gradient, so the update keeps them equal forever: "the symmetric-weights problem" of article 000. A
784-50-50-10 MLP on MNIST with sigmoid, tanh and ReLU, trained with SGD from all-zero weights, from
all weights 0.05, and from random (Xavier / He) weights on the same batches. Measured: how different
the hidden units' activations are on the test set, and test accuracy. With tanh and ReLU the zero net
gets no gradient at all (tanh(0) = relu(0) = 0) and stays at chance; with sigmoid the net is in effect
one unit wide and learns a little.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import nn, optim
from ...autograd.mode import no_grad
from ...nn.layers import Linear
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment

RANDOM = {"sigmoid": "xavier", "tanh": "xavier", "relu": "he"}


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    hidden: tuple = (50, 50)
    activations: tuple = ("sigmoid", "tanh", "relu")
    # (label, gradkit.nn.init factory, its argument): the symmetric initialisations
    symmetric: tuple = (("zeros", "constant", 0.0), ("all 0.05", "constant", 0.05))
    lr: float = 0.5
    batch_size: int = 100
    iterations: int = 3000
    # the symmetry is exact in exact arithmetic; in float32 the BLAS kernels round different columns
    # differently (~1e-8) and training near a symmetric saddle amplifies that, so in the sigmoid net (the
    # only one with a gradient) units drift apart after a few thousand steps (measured: relative spread 0.9
    # after 3000). The claim is checked at this step, and at the end for tanh and ReLU.
    check_at: int = 400


def unit_spread(model, x) -> list[float]:
    """Per hidden layer: max over samples and units of |h_j - h_1|, relative to max |h| (0: identical units).

    The layers run on a float64 copy of x, so the measurement adds no rounding of its own: a float32
    product of identical columns can differ from column to column by BLAS's blocking (OpenBLAS 0.3.31
    gave a spread of 1.8e-5 for bit-identical weights), and that is not a difference between units."""
    out = []
    with no_grad():
        h = x.astype("float64") if hasattr(x, "astype") else x
        layers = list(model.children())
        for layer, following in zip(layers, layers[1:] + [None]):
            h = layer(h)
            # an activation's output, i.e. a hidden layer's (a Linear feeds every other module)
            if not isinstance(layer, Linear) and following is not None:
                a = h.data
                out.append(float(numpy.abs(a - a[:, :1]).max() / max(float(numpy.abs(a).max()), 1e-30)))
    return out


def run(config: Config, rng) -> dict:
    x, y, x_test, y_test = common.load_flat(config.data)
    model_seed, batch_seed = (int(s) for s in rng.integers(2 ** 31, size=2))
    arms = {}
    for act in track(config.activations, desc="activations"):
        inits = [(label, getattr(nn.init, factory)(arg), True, factory == "constant" and arg == 0)
                 for label, factory, arg in config.symmetric]
        inits.append((f"random ({RANDOM[act]})", RANDOM[act], False, False))
        for label, init, symmetric, zeros in inits:
            model = nn.models.mlp(x.shape[1], config.hidden, 10, activation=act, init=init, rng=model_seed)
            opt = optim.create("sgd", model.parameters(), lr=config.lr)
            early = []
            check_at = min(config.check_at, config.iterations)
            record = lambda step, logs: early.append(unit_spread(model, x_test[:500])) if step + 1 == check_at else None
            losses = common.train_iterations(model, opt, x, y, config.iterations, config.batch_size,
                                             numpy.random.default_rng(batch_seed), on_step=record)
            arms[f"{act}, {label}"] = {"activation": act, "init": label, "symmetric": symmetric, "zeros": zeros, "loss": losses,
                                       "final_loss": common.tail_mean(losses),
                                       "spread": unit_spread(model, x_test[:500]),
                                       "early_spread": early[0] if early else [float("nan")], "check_at": check_at,
                                       "test_accuracy": common.accuracy(model, x_test, y_test)}
    chance = float(numpy.bincount(y_test).max() / len(y_test))
    return {"arms": arms, "chance": chance,
            "tables": [{"title": f"784-{'-'.join(map(str, config.hidden))}-10, SGD lr {config.lr:g}, batch "
                                 f"{config.batch_size}, {config.iterations} iterations (chance = {chance:.3f})",
                        "columns": ["activation", "init", f"hidden-unit spread after {min(config.check_at, config.iterations)} steps",
                                    "hidden-unit spread at the end", "final loss",
                                    "test accuracy"],
                        "rows": [[a["activation"], a["init"], a["early_spread"], a["spread"], a["final_loss"], a["test_accuracy"]]
                                 for a in arms.values()]}]}


def plot(results: dict, folder) -> list[str]:
    arms = results["arms"]
    activations = list(dict.fromkeys(a["activation"] for a in arms.values()))
    fig, axes = plotting.figure(len(activations) + 1, columns=4, panel_size=(4.4, 3.6))
    for ax, act in zip(axes, activations):
        plotting.curves(ax, {a["init"]: common.smooth(a["loss"], 50) for a in arms.values() if a["activation"] == act},
                        "iteration", "training loss (smoothed)", title=act)
    ax = axes[-1]
    names = list(arms)
    ax.barh(range(len(names)), [arms[n]["test_accuracy"] for n in names],
            color=["tab:red" if arms[n]["symmetric"] else "tab:green" for n in names])
    ax.axvline(results["chance"], color="grey", linestyle=":", label="chance")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set(xlabel="test accuracy", title="red: symmetric init")
    ax.legend(fontsize=8)
    return [plotting.save(fig, folder, "zero-init", title="All weights equal against random initialisation, MNIST")]


def check(results: dict) -> list:
    arms, chance = results["arms"], results["chance"]
    symmetric = {n: a for n, a in arms.items() if a["symmetric"]}
    random = {a["activation"]: a for a in arms.values() if not a["symmetric"]}
    worst = max(symmetric, key=lambda n: max(symmetric[n]["early_spread"]))
    step = symmetric[worst]["check_at"]
    out = [verdicts.at_most(f"equal initial weights: hidden units are still identical after {step} steps",
                            max(symmetric[worst]["early_spread"]), 1e-4,
                            "every unit of a hidden layer outputs the same value as the first (relative difference "
                            "below 1e-4, four orders of magnitude under random init's spread of 0.1 or more; "
                            "float32 rounding of the products differs from unit to unit by the BLAS build and "
                            "training amplifies it): 'all neurons output the same value ... the updates are the "
                            f"same too' (article 000); largest: {worst}")]
    # only zeros with f(0) = 0 leaves the hidden weights without any gradient; all 0.05 gives tanh and ReLU
    # equal but non-zero gradients, which rounding can tell apart, as for sigmoid
    flat = {n: a for n, a in symmetric.items() if a["activation"] != "sigmoid" and a.get("zeros")}
    if flat:
        worst = max(flat, key=lambda n: max(flat[n]["spread"]))
        out.append(verdicts.at_most("tanh and ReLU with zero weights: units identical to the end",
                                    max(flat[worst]["spread"]), 1e-5,
                                    "f(0) = 0 gives the hidden weights no gradient at all, so nothing can break the "
                                    f"symmetry (largest: {worst})"))
    out.append(verdicts.at_least("random initialisation breaks the symmetry", min(min(a["spread"]) for a in
                                                                                 random.values()), 0.1,
                                 "with random weights hidden units differ (relative spread above 0.1)"))
    for name, a in symmetric.items():
        ref = random[a["activation"]]["test_accuracy"]
        out.append(verdicts.at_most(f"{name}: learns far less than random init", a["test_accuracy"], ref / 2,
                                    "test accuracy at most half of the randomly initialised net's (article 000: "
                                    "'bad for learning')"))
        if a["activation"] != "sigmoid":
            out.append(verdicts.at_most(f"{name}: accuracy stays at chance", a["test_accuracy"], chance + 0.02,
                                        "f(0) = 0 with zeros leaves every gradient but the output bias's at 0, and all "
                                        "0.05 moves every unit alike: test accuracy within 2 points of the largest "
                                        "class's share"))
    return out


EXPERIMENT = experiment(
    "zero-init", order=12, title="Zero initialisation: identical hidden units, no learning",
    source="article 000 (2.1.2 weight initialisation: zero initialisation and the symmetric-weights problem)",
    config=Config(), quick=Config(iterations=400),
    tiny=Config(iterations=3, hidden=(6, 6), batch_size=16, activations=("sigmoid", "relu")),
    # broken: the "symmetric" arm drawn from N(0, 0.01): nothing is equal, the units differ
    broken=Config(iterations=150, activations=("tanh",), symmetric=(("N(0, 0.01)", "normal", 0.01),)),
    run=run, plot=plot, check=check)
