"""The scenario zoo: broken training set-ups, each with the finding it should give, and healthy twins.

Every scenario is a frozen ``Setup`` (see ``setups.py``) under a name, so anyone can build it, run
it, or change one field of it (the lab's experiments, the tests, ``gradkit doctor --model NAME``):

    >>> from gradkit.doctor import scenarios
    >>> s = scenarios.get("deep-sigmoid")           # a Scenario: .setup, .expected, .twin, .story
    >>> run = build(s.setup)                          # model, optimizer, train, val, loss_fn
    >>> scenarios.get("deep-sigmoid:depth=15,activation=tanh")   # a variant, field by field

``expected`` is the finding the doctor must name (None for a healthy set-up); ``twin`` names the
healthy set-up that differs from the broken one by the cause only.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .setups import Setup


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: Setup
    expected: str | None
    story: str
    twin: str | None = None


def _s(name, expected, story, twin=None, **fields) -> Scenario:
    return Scenario(name, Setup(**fields), expected, story, twin)


ZOO = {s.name: s for s in (
    # ---------------------------------------------------------------- healthy set-ups (the twins)
    _s("healthy-relu", None, "ReLU, He init, Adam: the reference that trains.", depth=3),
    _s("healthy-deep-relu", None, "Eight ReLU layers with He init train with SGD.", depth=8, optimizer="sgd", lr=0.05),
    _s("healthy-tanh", None, "tanh with Xavier init.", depth=3, activation="tanh", init="xavier"),
    _s("healthy-sigmoid", None, "A shallow sigmoid net with Xavier init trains.", depth=2, activation="sigmoid",
       init="xavier"),
    _s("healthy-moons", None, "Two moons, ReLU, He init.", data="moons", depth=3, lr=3e-3),
    _s("healthy-sgd", None, "ReLU, He init, SGD with momentum on standardised inputs.", depth=3, optimizer="momentum",
       lr=0.01),
    _s("healthy-big-data", None, "Enough data for the model: no over-fitting.", depth=2, width=128, n_train=4096,
       steps=300),
    # ---------------------------------------------------------------- broken set-ups
    _s("deep-sigmoid", "vanishing_gradients", "Eight sigmoid layers: each multiplies the gradient by at most 1/4.",
       "healthy-deep-relu", depth=8, activation="sigmoid", init="xavier", optimizer="sgd", lr=0.05),
    _s("deep-tanh-small-init", "vanishing_gradients", "tanh with weights of std 0.05: signals and gradients shrink.",
       "healthy-tanh", depth=8, activation="tanh", init="normal:0.05"),
    _s("relu-std-0.01", "vanishing_gradients", "The book's ReLU net with std 0.01 weights: nothing reaches the "
       "first layers.", "healthy-relu", depth=6, init="normal:0.01", optimizer="sgd", lr=0.05),
    _s("deep-relu-wide-init", "exploding_gradients", "ReLU weights of std 0.5 on width 64: each layer multiplies "
       "the gradient by ~2.8.", "healthy-deep-relu", depth=8, init="normal:0.5", optimizer="sgd", lr=0.01),
    _s("dead-relu", "dead_relu", "Hidden biases start at -3: most ReLU units never fire.", "healthy-relu",
       depth=4, bias=-3.0, optimizer="sgd", lr=0.05),
    _s("saturated-tanh", "saturation", "tanh with std 1 weights: outputs pinned at +-1.", "healthy-tanh",
       depth=4, activation="tanh", init="normal:1.0"),
    _s("sigmoid-std-0.02", "collapsed_activations", "The book's sigmoid net with std 0.02 weights: every unit "
       "outputs ~0.5 (limited expressive power).", "healthy-sigmoid", depth=5, activation="sigmoid",
       init="normal:0.02"),
    _s("zero-init", "symmetric_weights", "All weights zero: the units of a layer stay identical.", "healthy-relu",
       depth=3, init="zeros"),
    _s("constant-init-tanh", "symmetric_weights", "All weights 0.05: symmetric tanh units.", "healthy-tanh",
       depth=3, activation="tanh", init="constant:0.05"),
    _s("lr-too-high", "lr_too_high", "SGD with learning rate 2: every step overshoots.", "healthy-relu",
       depth=3, optimizer="sgd", lr=2.0),
    _s("lr-too-low", "lr_too_low", "SGD with learning rate 1e-4: the weights hardly move.", "healthy-relu",
       depth=3, optimizer="sgd", lr=1e-4),
    _s("overfit", "overfitting", "A wide net on 64 examples: it memorises them.", "healthy-big-data",
       depth=2, width=128, n_train=64, steps=300),
    _s("underfit-narrow", "underfitting", "One hidden layer of 2 units: too small for ten digits.", "healthy-relu",
       depth=1, width=2),
    _s("raw-pixels", "unnormalized_inputs", "Pixel values 0..255 fed as they are: the first layer's outputs are "
       "~100x what He init assumes.", "healthy-sgd", depth=3, optimizer="momentum", lr=0.01, inputs="raw"),
    _s("softmax-before-ce", "softmax_before_cross_entropy", "A Softmax layer before a loss that applies "
       "log-softmax itself: the gradient is squashed.", "healthy-sgd", depth=3, optimizer="momentum", lr=0.01,
       softmax=True),
    _s("shuffled-labels", "unlearnable_labels", "Training labels shuffled apart from their images: nothing to "
       "learn but the class frequencies.", "healthy-relu", depth=3, labels="shuffled"),
    _s("nan-loss", "nonfinite", "Huge logits and a loss written as log(softmax): log 0 = -inf.", "healthy-relu",
       depth=3, init="normal:1.0", loss="naive_cross_entropy"),
)}


def names() -> list[str]:
    return list(ZOO)


def get(spec: str) -> Scenario:
    """A scenario by name, optionally with fields changed: ``"deep-sigmoid:depth=15,activation=tanh"``.

    ``"custom:depth=8,activation=sigmoid"`` starts from the default ``Setup``."""
    name, _, changes = spec.partition(":")
    if name == "custom":
        base = Scenario("custom", Setup(), None, "A set-up given field by field.")
    elif name in ZOO:
        base = ZOO[name]
    else:
        raise ValueError(f"unknown scenario {name!r}; known: custom, {', '.join(ZOO)}")
    if not changes:
        return base
    setup = base.setup.replace(**parse_fields(changes))
    return dataclasses.replace(base, name=spec, setup=setup)


def parse_fields(text: str) -> dict:
    """``"depth=8,lr=0.1,batch_norm=true"`` -> typed Setup fields (types from the Setup dataclass)."""
    types = {f.name: f.type for f in dataclasses.fields(Setup)}
    values = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, raw = item.partition("=")
        if not eq or key not in types:
            raise ValueError(f"set-up field {item!r}: expected key=value with key one of {', '.join(types)}")
        kind = types[key]
        try:
            if kind == "bool":
                if raw.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                values[key] = raw.lower() in ("true", "1")
            elif kind == "int":
                values[key] = int(raw)
            elif kind == "float" or kind == "float | None":
                values[key] = None if raw.lower() == "none" else float(raw)
            else:
                values[key] = raw
        except ValueError:
            raise ValueError(f"set-up field {key}: {raw!r} is not a valid {kind}") from None
    return values
