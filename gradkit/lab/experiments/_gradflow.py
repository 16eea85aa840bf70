"""What the gradient-flow experiments share: two-moons data, per-layer gradient norms, training that
records them.

"Per-layer gradient norm" is ||dL/dW_l||_2 of the weight of the l-th Linear layer, input to output
(``common.linear_weights`` / ``common.grad_norms``), the quantity the NNDL practice book plots.
"""
from __future__ import annotations

import math

import numpy

from .. import common


def two_moons(n: int, noise: float, rng) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``), shuffled.

    Class 0: (cos t, sin t); class 1: (1 - cos t, 1/2 - sin t), t ~ U(0, pi); plus N(0, noise^2) per
    coordinate. Returns float32 points of shape (n, 2) and float32 labels of shape (n, 1) in {0, 1}.
    """
    if n < 2 or noise < 0:
        raise ValueError(f"two_moons: need n >= 2 and noise >= 0, got n={n}, noise={noise}")
    half = n // 2
    t = rng.uniform(0.0, math.pi, size=n)
    label = numpy.arange(n) >= half
    x = numpy.where(label, 1.0 - numpy.cos(t), numpy.cos(t))
    y = numpy.where(label, 0.5 - numpy.sin(t), numpy.sin(t))
    points = numpy.stack([x, y], axis=1) + rng.normal(0.0, noise, size=(n, 2))
    order = rng.permutation(n)
    return points[order].astype(numpy.float32), label[order].astype(numpy.float32).reshape(-1, 1)


def set_biases(model, value: float):
    """Every Linear bias of ``model`` set to ``value`` (the NNDL book's ``Constant`` bias initialiser)."""
    from ...nn.layers import Linear
    for module in model.modules():
        if isinstance(module, Linear) and module.bias is not None:
            module.bias.data[...] = value
    return model


def bce_logits(output, target):
    """Binary cross-entropy on logits: the loss of the two-moons nets."""
    from ...functional import binary_cross_entropy_with_logits
    return binary_cross_entropy_with_logits(output, target)


def total_norm(norms) -> float:
    """||(n_1, ..., n_k)||_2: the joint norm of gradients whose separate norms are ``norms``."""
    return float(math.sqrt(sum(n * n for n in norms)))


def layer_grad_norms(model, x, y, loss_fn=None) -> list[float]:
    """Per-layer weight-gradient norms of one forward and backward pass on ``(x, y)`` (no step);
    the gradients are cleared afterwards."""
    from ...functional import cross_entropy
    model.zero_grad()
    loss = (loss_fn or cross_entropy)(model(x), y)
    loss.backward()
    norms = common.grad_norms(common.linear_weights(model))
    model.zero_grad()
    return norms


def train_recording(model, optimizer, x, y, iterations: int, batch_size: int, rng, every: int = 1,
                    loss_fn=None, clip_grad_norm=None) -> dict:
    """``common.train_iterations`` that also records, every ``every`` steps (and at the last step), the
    per-layer weight-gradient norms of that step's mini-batch and the joint norm of all gradients
    (before clipping, when clipping).

    Returns ``{"loss": [per step], "steps": [...], "layer_norms": [[per layer] per recorded step],
    "total_norm": [per step]}``.
    """
    weights, params = common.linear_weights(model), list(model.parameters())
    record = {"steps": [], "layer_norms": [], "total_norm": []}

    def on_step(step, logs):
        # the step's gradients are still on the parameters (the Trainer zeroes them before backward)
        pre_clip = logs.get("grad_norm")
        record["total_norm"].append(float(pre_clip) if pre_clip is not None else total_norm(common.grad_norms(params)))
        if step % every == 0 or step == iterations - 1:
            record["steps"].append(step)
            record["layer_norms"].append(common.grad_norms(weights))

    record["loss"] = common.train_iterations(model, optimizer, x, y, iterations, batch_size, rng, loss_fn=loss_fn,
                                             clip_grad_norm=clip_grad_norm, on_step=on_step)
    return record


def finite(values) -> list:
    """``values`` with NaN and inf replaced by None, so that results.json stays valid JSON."""
    return [v if v is not None and math.isfinite(v) else None for v in values]
