"""Activation histograms of a deep net at initialisation (the book's ch. 6.2.2-6.2.3, article 002).

A 1000x100 standard-normal input goes through 5 layers of 100 units without bias. With sigmoid and
weights of std 1 the outputs pile up at 0 and 1 (saturated: vanishing gradients); with std 0.01 they
collapse around 0.5 (every unit says the same: limited expressive power); Xavier's std 1/sqrt(n)
keeps them spread, and tanh centres them on 0. With ReLU, std 0.01 makes the outputs vanish layer
after layer, Xavier lets them shrink with depth, and He's sqrt(2/n) keeps their spread.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy

from ... import nn
from ...autograd.mode import no_grad
from ...autograd.tensor import Tensor
from .. import plotting, verdicts
from ..registry import experiment
from ._chapter6 import INITIALISERS

# the interval of each activation's histogram: the book's (0, 1), and tanh's whole range
RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, 1.0)}
# within this of an asymptote counts as saturated (for tanh, twice it: tanh(x) = 2 sigmoid(2x) - 1)
NEAR = 0.01


@dataclass(frozen=True)
class Config:
    samples: int = 1000
    width: int = 100
    layers: int = 5
    bins: int = 30
    # (label, activation, initialiser: "std" (with the std), "xavier" or "he", std)
    cases: tuple = (("sigmoid, std 1", "sigmoid", "std", 1.0), ("sigmoid, std 0.01", "sigmoid", "std", 0.01),
                    ("sigmoid, Xavier", "sigmoid", "xavier", None), ("tanh, Xavier", "tanh", "xavier", None),
                    ("ReLU, std 0.01", "relu", "std", 0.01), ("ReLU, Xavier", "relu", "xavier", None),
                    ("ReLU, He", "relu", "he", None))


def saturation(values: numpy.ndarray, activation: str) -> float:
    """Share of outputs within NEAR of the asymptotes: sigmoid's 0 and 1, tanh's -1 and 1 (ReLU: 0)."""
    if activation == "sigmoid":
        return float(numpy.mean((values <= NEAR) | (values >= 1 - NEAR)))
    if activation == "tanh":
        return float(numpy.mean(numpy.abs(values) >= 1 - 2 * NEAR))
    return 0.0


def layer_outputs(x: numpy.ndarray, config: Config, activation: str, init, rng) -> list[numpy.ndarray]:
    """The output of each of ``config.layers`` Linear (no bias) -> activation layers, input first in."""
    outputs, h = [], Tensor(x)
    with no_grad():
        for _ in range(config.layers):
            layer = nn.Sequential(nn.Linear(config.width, config.width, bias=False, init=init, rng=rng),
                                  nn.activations.get(activation))
            h = layer(h)
            outputs.append(h.data)
    return outputs


def run(config: Config, rng) -> dict:
    x = rng.standard_normal((config.samples, config.width)).astype(numpy.float32)
    seeds = rng.integers(2 ** 31, size=len(config.cases))
    cases = {}
    for (label, activation, init, std), seed in zip(config.cases, seeds):
        outputs = layer_outputs(x, config, activation, INITIALISERS[init](std), numpy.random.default_rng(int(seed)))
        low, high = RANGES[activation]
        spread = [float(a.std()) for a in outputs]
        cases[label] = {
            "activation": activation, "init": init if std is None else f"std {std}", "range": [low, high],
            "histograms": [numpy.histogram(a, config.bins, range=(low, high))[0].tolist() for a in outputs],
            "saturation": [saturation(a, activation) for a in outputs],
            "zeros": [float(numpy.mean(a == 0)) for a in outputs],
            "mean": [float(a.mean()) for a in outputs], "spread": spread,
            "decay": spread[-1] / spread[0] if spread[0] > 0 else float("nan"),
        }
    rows = [[label, c["saturation"][0], c["saturation"][-1], c["mean"][-1], c["spread"][0],
             c["spread"][-1], c["decay"]] for label, c in cases.items()]
    return {"layers": config.layers, "values_per_layer": config.samples * config.width, "cases": cases,
            "tables": [{"title": f"outputs of layer 1 and layer {config.layers} ({config.samples} x {config.width} "
                                 f"N(0, 1) input, no bias); saturated: within {NEAR} of sigmoid's 0 or 1 "
                                 f"(tanh: {2 * NEAR} of -1 or 1); spread: standard deviation",
                        "columns": ["activation, init", "saturated, layer 1", "saturated, last",
                                    "mean, last", "spread, layer 1", "spread, last", "spread last / first"],
                        "rows": rows}]}


def plot(results: dict, folder) -> list[str]:
    cases, layers = results["cases"], results["layers"]
    fig, axes = plotting.figure(len(cases) * layers, columns=layers, panel_size=(2.3, 1.7))
    for row, (label, case) in enumerate(cases.items()):
        low, high = case["range"]
        for layer, counts in enumerate(case["histograms"]):
            ax = axes[row * layers + layer]
            edges = numpy.linspace(low, high, len(counts) + 1)
            ax.bar(edges[:-1], counts, width=edges[1] - edges[0], align="edge", color="tab:blue")
            ax.set_xlim(low, high)
            if case["activation"] == "relu":  # the book's cut: the bin at 0 holds half the values
                ax.set_ylim(0, 0.07 * results["values_per_layer"])
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
            ax.set_title(f"{layer + 1}-layer" + (f"  sat {case['saturation'][layer]:.0%}"
                                                  if case["activation"] != "relu" else ""), fontsize=8)
            if layer == 0:
                ax.set_ylabel(label, fontsize=8)
    paths = [plotting.save(fig, folder, "histograms", title="Activations per layer at initialisation")]
    fig, (spread_ax, saturation_ax) = plotting.figure(2, panel_size=(6, 4.2))
    depth = range(1, layers + 1)
    plotting.curves(spread_ax, {k: c["spread"] for k, c in cases.items()}, "layer", "spread (std of the outputs)",
                    x=depth, log_y=True, title="spread with depth")
    spread_ax.set_xticks(depth)
    saturation_ax.set_xticks(depth)
    plotting.curves(saturation_ax, {k: c["saturation"] for k, c in cases.items() if c["activation"] != "relu"},
                    "layer", "share saturated", x=depth, title="outputs near the asymptotes")
    paths.append(plotting.save(fig, folder, "spread", title="Spread and saturation with depth"))
    return paths


def _case(results, label: str) -> dict:
    """The measurements of the case called ``label`` (NaN where the config has no such case)."""
    missing = {"saturation": [math.nan], "spread": [math.nan], "mean": [math.nan], "decay": math.nan}
    return results["cases"].get(label, missing)


def check(results: dict) -> list:
    std1, std001 = _case(results, "sigmoid, std 1"), _case(results, "sigmoid, std 0.01")
    xavier, tanh = _case(results, "sigmoid, Xavier"), _case(results, "tanh, Xavier")
    relu = {init: _case(results, f"ReLU, {init}")["decay"] for init in ("std 0.01", "Xavier", "He")}
    return [
        verdicts.at_least("sigmoid with std 1 saturates every layer (least saturated layer's share)",
                          min(std1["saturation"]), 0.3,
                          "a U-shaped histogram: a large share of outputs at 0 and 1 in every layer (figure 6-10)"),
        verdicts.at_most("sigmoid with std 0.01 collapses around 0.5 (largest spread of any layer)",
                         max(std001["spread"]), 0.05,
                         "all outputs near 0.5 in every layer: the units all say the same (figure 6-11)"),
        verdicts.holds("Xavier keeps sigmoid's outputs spread without saturation",
                       max(xavier["saturation"]) <= 0.01 and xavier["spread"][-1] >= 5 * std001["spread"][-1],
                       f"saturated at most {max(xavier['saturation']):.3g}; last-layer spread "
                       f"{xavier['spread'][-1]:.3g} against {std001['spread'][-1]:.3g} for std 0.01",
                       "at most 1% saturated and at least 5x the spread of std 0.01 in the last layer (figure 6-13)"),
        verdicts.holds("tanh with Xavier centres the outputs on 0", abs(tanh["mean"][-1]) <= 0.05
                       and tanh["spread"][-1] >= 0.2 and max(tanh["saturation"]) <= 0.05,
                       f"last-layer mean {tanh['mean'][-1]:.3g}, spread {tanh['spread'][-1]:.3g}; saturated "
                       f"at most {max(tanh['saturation']):.3g}",
                       "a bell around 0 (|mean| <= 0.05, spread >= 0.2, at most 5% saturated) in every layer"),
        verdicts.at_most("ReLU with std 0.01: the outputs vanish with depth (spread last / first)",
                         relu["std 0.01"], 1e-3,
                         "the spread falls by orders of magnitude from layer to layer (figure 6-14, top)"),
        verdicts.holds("ReLU with Xavier: the spread shrinks with depth", 1e-2 <= relu["Xavier"] <= 0.6,
                       f"spread last / first = {relu['Xavier']:.3g}",
                       "between 0.01 and 0.6: it leans towards vanishing (figure 6-14, middle)"),
        verdicts.holds("ReLU with He keeps the spread", 0.5 <= relu["He"] <= 2.0,
                       f"spread last / first = {relu['He']:.3g}", "between 0.5 and 2 (figure 6-14, bottom)"),
    ]


EXPERIMENT = experiment(
    "init-histograms", order=3, title="Activation histograms at initialisation: std 1, 0.01, Xavier, He",
    source="article 002 (Deep Learning from Scratch ch. 6.2.2-6.2.3), figures 6-10 to 6-14; article 000 sec. 2.1.2",
    config=Config(), quick=Config(samples=200), tiny=Config(samples=20, width=10, layers=2, bins=5),
    broken=Config(samples=200, cases=Config.cases[:-1] + (("ReLU, He", "relu", "xavier", None),)),
    run=run, plot=plot, check=check)
