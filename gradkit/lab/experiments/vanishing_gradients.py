"""Vanishing gradients in deep sigmoid networks, and three remedies (articles 001 and 003, 004).

The gradient reaching layer l is a product of one factor per layer above it; a sigmoid contributes
sigma' <= 1/4 each time, so the first layers of a deep sigmoid net get almost no gradient and do not
learn. Measured: per-layer weight-gradient norms ||dL/dW_l|| at the start and during training, on the
NNDL book's 2-3-3-3-3-1 sigmoid net (N(0, 0.01) weights, bias 1) on two moons against the same net
with ReLU, and on a deep MNIST MLP: sigmoid + Xavier against ReLU + He, sigmoid + batch norm and
sigmoid with identity skip connections.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import nn, optim
from ...nn.blocks import Residual
from ...nn.layers import Linear, Sequential
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment
from . import _gradflow

ARMS = ("sigmoid", "relu + He", "sigmoid + BN", "sigmoid + residual")


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    # two moons, the NNDL book's 5-layer net
    moons_samples: int = 1000
    moons_noise: float = 0.1
    moons_hidden: tuple = (3, 3, 3, 3)
    moons_std: float = 0.01
    moons_bias: float = 1.0
    moons_lr: float = 0.2
    moons_iterations: int = 500          # full-batch gradient steps
    # the deep MNIST MLP: depth hidden layers of width (odd depth: 1 + 2 per residual block)
    depth: int = 21
    width: int = 100
    lr: float = 0.1
    batch_size: int = 128
    iterations: int = 1500
    record_every: int = 50
    arms: tuple = ARMS


def moons_net(config: Config, activation: str, seed: int):
    """The book's MLP: Linear layers with N(0, std^2) weights and constant biases."""
    model = nn.models.mlp(2, config.moons_hidden, 1, activation=activation, init=nn.init.normal(config.moons_std),
                          rng=seed)
    return _gradflow.set_biases(model, config.moons_bias)


def sigmoid_residual(depth: int, width: int, in_features: int, out_features: int, rng):
    """Linear -> sigmoid, then blocks x + W_2 sigmoid(W_1 x + b_1) + b_2 (identity skip, nothing squashes
    the sum, so dy/dx = I + ...), then the output Linear; Xavier weights."""
    model = Sequential(Linear(in_features, width, init="xavier", rng=rng), nn.Sigmoid())
    for _ in range((depth - 1) // 2):
        body = Sequential(Linear(width, width, init="xavier", rng=rng), nn.Sigmoid(),
                          Linear(width, width, init="xavier", rng=rng))
        model.append(Residual(body, activation="identity"))
    model.append(Linear(width, out_features, init="xavier", rng=rng))
    return model


def mnist_net(arm: str, config: Config, in_features: int, seed: int):
    rng = numpy.random.default_rng(seed)
    if arm == "sigmoid":
        return nn.models.deep_plain(config.depth, config.width, in_features, activation="sigmoid", init="xavier", rng=rng)
    if arm == "relu + He":
        return nn.models.deep_plain(config.depth, config.width, in_features, activation="relu", init="he", rng=rng)
    if arm == "sigmoid + BN":
        return nn.models.deep_plain(config.depth, config.width, in_features, activation="sigmoid", init="xavier",
                                    batch_norm=True, rng=rng)
    if arm == "sigmoid + residual":
        return sigmoid_residual(config.depth, config.width, in_features, 10, rng)
    raise ValueError(f"vanishing-gradients: unknown arm {arm!r}; expected one of {', '.join(ARMS)}")


def run(config: Config, rng) -> dict:
    if config.depth < 3 or config.depth % 2 == 0:
        raise ValueError(f"vanishing-gradients: depth must be odd and >= 3 (1 + 2 per residual block), got {config.depth}")
    moons_seed, model_seed, batch_seed = (int(s) for s in rng.integers(2 ** 31, size=3))
    x, y = _gradflow.two_moons(config.moons_samples, config.moons_noise, numpy.random.default_rng(moons_seed))
    moons = {}
    for activation in ("sigmoid", "relu"):
        model = moons_net(config, activation, model_seed)
        opt = optim.create("sgd", model.parameters(), lr=config.moons_lr)
        moons[activation] = _gradflow.train_recording(model, opt, x, y, config.moons_iterations, len(x), rng=None,
                                                      every=max(1, config.moons_iterations // 20),
                                                      loss_fn=_gradflow.bce_logits)
    x, y, _, _ = common.load_flat(config.data)
    mnist = {}
    for arm in track(config.arms, desc="arms"):
        model = mnist_net(arm, config, x.shape[1], model_seed)
        opt = optim.create("sgd", model.parameters(), lr=config.lr)
        mnist[arm] = _gradflow.train_recording(model, opt, x, y, config.iterations, config.batch_size,
                                               numpy.random.default_rng(batch_seed), every=config.record_every)
    ratio = lambda norms: norms[0] / norms[-1] if norms[-1] > 0 else float("nan")
    summary = {arm: {"ratio_start": ratio(r["layer_norms"][0]), "ratio_end": ratio(r["layer_norms"][-1]),
                     "first_start": r["layer_norms"][0][0], "last_start": r["layer_norms"][0][-1],
                     "final_loss": common.tail_mean(r["loss"])} for arm, r in mnist.items()}
    moons_ratio = {act: ratio(r["layer_norms"][0]) for act, r in moons.items()}
    return {"moons": moons, "mnist": mnist, "summary": summary, "moons_ratio": moons_ratio,
            "moons_layers": len(config.moons_hidden), "depth": config.depth,
            "tables": [
                {"title": "two moons, 2-3-3-3-3-1, N(0, 0.01) weights, bias 1: per-layer ||dL/dW|| at the start",
                 "columns": ["activation"] + [f"layer {i + 1}" for i in range(len(config.moons_hidden) + 1)]
                            + ["first / last"],
                 "rows": [[act] + r["layer_norms"][0] + [moons_ratio[act]] for act, r in moons.items()]},
                {"title": f"MNIST, {config.depth} hidden layers of {config.width}: first-layer / last-layer gradient "
                          f"norm, and training loss after {config.iterations} iterations",
                 "columns": ["net", "||dW_1|| start", "||dW_out|| start", "ratio at start", "ratio at end",
                             "final loss"],
                 "rows": [[arm, s["first_start"], s["last_start"], s["ratio_start"], s["ratio_end"], s["final_loss"]]
                          for arm, s in summary.items()]}]}


def plot(results: dict, folder) -> list[str]:
    moons = results["moons"]
    fig, axes = plotting.figure(3, panel_size=(5, 3.8))
    layers = range(1, len(next(iter(moons.values()))["layer_norms"][0]) + 1)
    for act, r in moons.items():
        axes[0].plot(layers, r["layer_norms"][0], marker="o", label=f"{act}, start")
        axes[0].plot(layers, r["layer_norms"][-1], marker="x", linestyle="--", label=f"{act}, end")
    axes[0].set(yscale="log", xlabel="layer (1 = input side)", ylabel="||dL/dW||", title="per-layer gradient norm")
    axes[0].legend(fontsize=8)
    for ax, act in zip(axes[1:], moons):
        r = moons[act]
        per_layer = {f"layer {i + 1}": [n[i] for n in r["layer_norms"]] for i in range(len(layers))}
        plotting.curves(ax, per_layer, "iteration", "||dL/dW||", x=r["steps"], log_y=True,
                        title=f"{act}: gradient norms during training")
    paths = [plotting.save(fig, folder, "moons", title="Two moons, 2-3-3-3-3-1 net, N(0, 0.01) weights, bias 1")]

    mnist = results["mnist"]
    fig, axes = plotting.figure(len(mnist) + 1, columns=3, panel_size=(5, 3.8))
    for ax, (arm, r) in zip(axes, mnist.items()):
        count = len(r["layer_norms"][0])
        for index in sorted({0, len(r["steps"]) // 2, len(r["steps"]) - 1}):
            ax.plot(range(1, count + 1), r["layer_norms"][index], marker=".", label=f"iteration {r['steps'][index]}")
        ax.set(yscale="log", xlabel="layer (1 = input side)", ylabel="||dL/dW||", title=arm)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    plotting.curves(axes[-1], {arm: common.smooth(r["loss"], 20) for arm, r in mnist.items()}, "iteration",
                    "training loss (smoothed)", title="training loss")
    paths.append(plotting.save(fig, folder, "mnist",
                               title=f"MNIST, {results['depth']} hidden layers: per-layer gradient norms"))
    return paths


def check(results: dict) -> list:
    s, m = results["summary"], results["moons_ratio"]
    layers = results["moons_layers"]
    out = [verdicts.less(
        "two moons: sigmoid's gradient shrinks toward the input far more than ReLU's",
        "sigmoid first/last ratio", m["sigmoid"], f"ReLU ratio / 4^{layers}", m["relu"] / 4 ** layers,
        f"each sigmoid layer multiplies the backward signal by sigma' <= 1/4 (articles 003, 004); over "
        f"{layers} hidden layers the sigmoid net's first-to-last gradient ratio is at least 4^{layers} times "
        "smaller than the same net's with ReLU")]
    if "sigmoid" in s:
        out.append(verdicts.at_most("MNIST: the deep sigmoid net's first layer gets almost no gradient",
                                    s["sigmoid"]["ratio_start"], 1e-3,
                                    "||dL/dW_1|| / ||dL/dW_out|| below 1/1000: the gradient has vanished before "
                                    "reaching the shallow layers (article 003)"))
        out.append(verdicts.at_least("MNIST: the deep sigmoid net does not learn", s["sigmoid"]["final_loss"], 2.0,
                                     "training loss stays near ln 10 = 2.30 (article 001: training stalls)"))
    for arm in results["mnist"]:
        if arm == "sigmoid":
            continue
        low = min(s[arm]["ratio_start"], s[arm]["ratio_end"])
        out.append(verdicts.at_least(f"MNIST: {arm} keeps the gradient at the first layer", low, 0.1,
                                     "first/last gradient-norm ratio at least 1/10 at the start and at the end "
                                     "(article 001's remedies: ReLU, initialisation, BN, ResNet)"))
        out.append(verdicts.at_most(f"MNIST: {arm} learns", s[arm]["final_loss"], 1.0,
                                    "training loss below 1.0 after the budget, where plain sigmoid stays near 2.3"))
    return out


EXPERIMENT = experiment(
    "vanishing-gradients", order=9, title="Vanishing gradients: deep sigmoid nets, ReLU, batch norm, residuals",
    source="article 001 (causes and remedies table), article 003 (vanishing gradients, BN, Highway/ResNet), "
           "article 004 (sigmoid's derivative)",
    config=Config(), quick=Config(depth=11, iterations=250, moons_iterations=300),
    tiny=Config(depth=3, width=8, iterations=3, record_every=1, moons_samples=20, moons_iterations=3),
    # broken: learning rate 0, so even the batch-norm net cannot learn and its "learns" claim must fail
    broken=Config(depth=11, iterations=60, moons_iterations=20, arms=("sigmoid", "sigmoid + BN"), lr=0.0),
    run=run, plot=plot, check=check)
