"""Depth: plain against highway against residual networks, training loss after a fixed budget
(article 003: Highway networks, ResNet).

Article 003 shows the Highway paper's figure: without highway layers "as depth grows, the training
error rises instead"; with them the rise is mitigated; ResNet's identity shortcuts serve the same
purpose. Here: MNIST nets of 5 to 50 hidden layers of width 50, ReLU, He init, SGD with momentum 0.9
(lr 0.01), the same mini-batches for every net; plain (``deep_plain``), highway (``deep_highway``,
gate bias -5 so that a 50-layer stack starts by carrying its input) and residual (``deep_residual``
with batch norm, as ResNet). Measured: mean training loss over the last 20% of the budget.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy

from ... import nn, optim
from .. import common, plotting, verdicts
from ..progress import track
from ..registry import experiment

KINDS = ("plain", "highway", "residual")


@dataclass(frozen=True)
class Config:
    data: str = "mnist-10k"
    depths: tuple = (5, 10, 20, 30, 50)
    width: int = 50
    lr: float = 0.01
    momentum: float = 0.9
    batch_size: int = 128
    iterations: int = 600
    gate_bias: float = -5.0
    residual_batch_norm: bool = True


def build(kind: str, depth: int, config: Config, in_features: int, seed: int):
    if kind == "plain":
        return nn.models.deep_plain(depth, config.width, in_features, rng=seed)
    if kind == "highway":
        return nn.models.deep_highway(depth, config.width, in_features, gate_bias=config.gate_bias, rng=seed)
    if kind == "residual":
        return nn.models.deep_residual(depth, config.width, in_features, batch_norm=config.residual_batch_norm, rng=seed)
    raise ValueError(f"depth: unknown network kind {kind!r}; expected one of {', '.join(KINDS)}")


def run(config: Config, rng) -> dict:
    x, y, _, _ = common.load_flat(config.data)
    model_seed, batch_seed = (int(s) for s in rng.integers(2 ** 31, size=2))
    losses, final = {k: {} for k in KINDS}, {k: {} for k in KINDS}
    for depth in track(config.depths, desc="depths"):
        for kind in KINDS:
            model = build(kind, depth, config, x.shape[1], model_seed)
            opt = optim.create("momentum", model.parameters(), lr=config.lr, momentum=config.momentum)
            curve = common.train_iterations(model, opt, x, y, config.iterations, config.batch_size,
                                            numpy.random.default_rng(batch_seed))
            losses[kind][str(depth)] = common.smooth(curve, 20)
            final[kind][str(depth)] = common.tail_mean(curve, 0.2)
    return {"depths": list(config.depths), "final_loss": final, "smoothed": losses,
            "tables": [{"title": f"training loss (mean of the last 20%) after {config.iterations} iterations, "
                                 f"width {config.width}, momentum SGD lr {config.lr:g}",
                        "columns": ["hidden layers"] + list(KINDS),
                        "rows": [[d] + [final[k][str(d)] for k in KINDS] for d in config.depths]}]}


def plot(results: dict, folder) -> list[str]:
    depths, final = results["depths"], results["final_loss"]
    fig, axes = plotting.figure(1 + len(KINDS), columns=4, panel_size=(4.4, 3.6))
    plotting.curves(axes[0], {k: [final[k][str(d)] for d in depths] for k in KINDS}, "hidden layers",
                    "final training loss", x=depths, title="loss after the budget against depth")
    for kind, ax in zip(KINDS, axes[1:]):
        plotting.curves(ax, {f"{d} layers": results["smoothed"][kind][str(d)] for d in depths}, "iteration",
                        "training loss (smoothed)", title=kind)
        ax.set_ylim(0, 2.6)
    return [plotting.save(fig, folder, "depth", title="Plain, highway and residual nets of growing depth on MNIST")]


def check(results: dict) -> list:
    depths, final = results["depths"], results["final_loss"]
    shallow, deep = str(min(depths)), str(max(depths))
    rise = {k: final[k][deep] - final[k][shallow] for k in KINDS}
    out = [verdicts.at_least(f"plain nets: training loss rises with depth ({shallow} -> {deep} layers)",
                             final["plain"][deep] / final["plain"][shallow], 2.0,
                             "the deepest plain net's training loss is at least twice the shallowest's: 'as depth "
                             "grows, the training error rises instead' (article 003, the Highway figure)", unit="x")]
    for kind in ("highway", "residual"):
        out.append(verdicts.less(f"{kind}: deep nets train better than plain ones", f"{kind} at {deep}",
                                 final[kind][deep], f"plain at {deep}", final["plain"][deep],
                                 f"at {deep} layers the {kind} net's training loss is below the plain net's"))
        out.append(verdicts.less(f"{kind}: depth hurts less than in plain nets", f"{kind} rise", rise[kind],
                                 "plain rise", rise["plain"],
                                 f"loss({deep}) - loss({shallow}) is smaller for {kind} than for plain: the "
                                 "degradation is mitigated (article 003)"))
    return out


EXPERIMENT = experiment(
    "depth", order=13, title="Depth: plain, highway and residual networks from 5 to 50 layers",
    source="article 003 (Highway networks, Residual Network)",
    config=Config(), quick=Config(depths=(5, 30), iterations=150),
    tiny=Config(depths=(1, 3), width=8, iterations=3, batch_size=16),
    # broken: highway gates that start open (bias +5: y ~ H(x), a plain layer) and residual blocks without
    # batch norm (He-initialised identity sums double the variance per block): the skip nets lose what
    # makes them trainable, and they no longer beat the plain net
    broken=Config(depths=(2, 20), iterations=30, gate_bias=5.0, residual_batch_norm=False),
    run=run, plot=plot, check=check)
