"""Activation functions compared on the same deep net (articles 000, 003, 004).

A 784-100x8-10 MLP on MNIST, SGD with momentum 0.9 (lr 0.01), the same mini-batches for every
activation; Xavier weights for the saturating sigmoid and tanh, He weights for the ReLU family
(ReLU, LeakyReLU 0.01, PReLU, ELU, softplus), LeCun weights for maxout (2 pieces: each hidden layer
is a Linear to 200 units, max over pairs back to 100). Measured: the first-to-last gradient-norm ratio at the start
(how much gradient reaches the input layer) and the training loss after the budget. Article 003's
advice: "use ReLU; try Leaky ReLU / Maxout; try tanh but do not expect much; do not use sigmoid".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy

from ... import nn, optim
from ...nn.layers import Linear, Sequential
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment
from . import _gradflow

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "softplus", "maxout")
SATURATING = ("sigmoid", "tanh")
RELU_FAMILY = ("relu", "leaky_relu", "prelu", "elu", "maxout")


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    depth: int = 8
    width: int = 100
    maxout_pieces: int = 2
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 128
    iterations: int = 2000
    activations: tuple = ACTIVATIONS


def maxout_mlp(in_features: int, depth: int, width: int, pieces: int, out_features: int, rng):
    """``depth`` hidden layers Linear(width * pieces) -> Maxout(pieces), then the output Linear.

    LeCun weights (variance 1 / fan_in): the max of ``pieces`` such units keeps E[h^2] from layer to layer
    (E[max(z_1, z_2)^2] = E[z^2] for a symmetric pair), where He's doubled variance would grow 2x a layer."""
    model, features = Sequential(), in_features
    for _ in range(depth):
        model.append(Linear(features, width * pieces, init="lecun", rng=rng))
        model.append(nn.Maxout(pieces))
        features = width
    model.append(Linear(features, out_features, init="lecun", rng=rng))
    return model


def build(activation: str, config: Config, in_features: int, seed: int):
    rng = numpy.random.default_rng(seed)
    if activation == "maxout":
        return maxout_mlp(in_features, config.depth, config.width, config.maxout_pieces, 10, rng)
    init = "xavier" if activation in SATURATING else "he"
    return nn.models.mlp(in_features, [config.width] * config.depth, 10, activation=activation, init=init, rng=rng)


def run(config: Config, rng) -> dict:
    x, y, _, _ = common.load_flat(config.data)
    model_seed, batch_seed, probe_seed = (int(s) for s in rng.integers(2 ** 31, size=3))
    probe = numpy.random.default_rng(probe_seed).choice(len(x), 512, replace=False)
    arms = {}
    for act in track(config.activations, desc="activations"):
        model = build(act, config, x.shape[1], model_seed)
        norms = _gradflow.layer_grad_norms(model, x[probe], y[probe])
        opt = optim.create("momentum", model.parameters(), lr=config.lr, momentum=config.momentum)
        losses = common.train_iterations(model, opt, x, y, config.iterations, config.batch_size,
                                         numpy.random.default_rng(batch_seed))
        arms[act] = {"layer_norms": norms, "ratio": norms[0] / norms[-1], "loss": common.smooth(losses, 25),
                     "final_loss": common.tail_mean(losses)}
    return {"arms": arms, "depth": config.depth,
            "tables": [{"title": f"784-{config.width}x{config.depth}-10, momentum SGD lr {config.lr:g}, "
                                 f"{config.iterations} iterations",
                        "columns": ["activation", "||dW_1|| / ||dW_out|| at the start", "final training loss"],
                        "rows": [[a, r["ratio"], r["final_loss"]] for a, r in arms.items()]}]}


def plot(results: dict, folder) -> list[str]:
    arms = results["arms"]
    fig, axes = plotting.figure(2, panel_size=(6, 4.2))
    for act, r in arms.items():
        axes[0].plot(range(1, len(r["layer_norms"]) + 1), r["layer_norms"], marker=".", label=act)
    axes[0].set(yscale="log", xlabel="layer (1 = input side)", ylabel="||dL/dW|| at the start",
                title="gradient reaching each layer")
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    plotting.curves(axes[1], {a: r["loss"] for a, r in arms.items()}, "iteration", "training loss (smoothed)",
                    title="training loss")
    axes[1].set_ylim(0, 2.5)
    return [plotting.save(fig, folder, "activations",
                          title=f"Activation functions on the same {results['depth']}-hidden-layer MNIST net")]


def check(results: dict) -> list:
    arms = results["arms"]
    final = {a: r["final_loss"] for a, r in arms.items()}
    out = [verdicts.ranking("sigmoid trains worst", final, "sigmoid has the highest final training loss: 'do not use "
                            "sigmoid' (article 003), its gradient vanishes (article 004)", highest="sigmoid")]
    if "sigmoid" in arms:
        out.append(verdicts.ranking("sigmoid passes the least gradient to the first layer",
                                    {a: r["ratio"] for a, r in arms.items()},
                                    "sigmoid's first-to-last gradient ratio is the smallest (sigma' <= 1/4, "
                                    "article 004)", lowest="sigmoid"))
    if "tanh" in final and "sigmoid" in final:
        out.append(verdicts.less("tanh beats sigmoid", "tanh", final["tanh"], "sigmoid", final["sigmoid"],
                                 "'in practice tanh is better than sigmoid' (article 004: zero-centred)"))
    family = [a for a in RELU_FAMILY if a in final]
    if family and "tanh" in final:
        worst = max(family, key=lambda a: final[a] if math.isfinite(final[a]) else math.inf)  # NaN is worst
        out.append(verdicts.less("every ReLU-family unit beats tanh", f"worst of {', '.join(family)} ({worst})",
                                 final[worst], "tanh", final["tanh"],
                                 "'use ReLU; try Leaky ReLU / Maxout; try tanh but do not expect much' (article 003)"))
    return out


EXPERIMENT = experiment(
    "activations", order=15, title="Activation functions: sigmoid, tanh, ReLU, LeakyReLU, PReLU, ELU, softplus, maxout",
    source="article 003 (activation advice), article 004 (sigmoid, tanh, ReLU, LeakyReLU), article 000 (2.1.1)",
    config=Config(), quick=Config(iterations=150),
    tiny=Config(depth=2, width=8, iterations=3, batch_size=16),
    # broken: lr 0.1 with momentum 0.9 is too large a step for unbounded units; bounded tanh survives it
    broken=Config(lr=0.1, iterations=40, activations=("sigmoid", "tanh", "relu")),
    run=run, plot=plot, check=check)
