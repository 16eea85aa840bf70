"""Rules: measured numbers -> named findings, each with its threshold and the reason for it.

Every threshold is set from a principle, not from the doctor's own test scenarios: either from what
a healthy initialisation gives (He / Xavier keep the per-sample gradient norm the same in every
layer, so a healthy ratio across layers is about 1), or from what a number means (a unit whose
derivative is a tenth of its peak passes back a tenth of the gradient). Medians over the measured
steps make each rule robust to one odd batch. The explanations and remedies follow the source
articles (seeds 001 and 003: causes, symptoms, remedies of vanishing / exploding gradients; 002: the
"limited expressive power" of units that all output the same; 000: zero initialisation and
symmetry, over-fitting).
"""
from __future__ import annotations

import math

import numpy

from . import probes
from . import quantities as q
from .report import Finding

# Two orders of magnitude between the gradient reaching the first and the last weight layer. At a
# variance-preserving initialisation the ratio is about 1 (a factor 2 or 3 with finite widths); at
# 1/100 the first layer learns a hundred times slower than the last, which no schedule makes up for.
GRADIENT_RATIO = 100.0
MIN_WEIGHT_LAYERS = 3          # with fewer there is no depth for a gradient to vanish or explode in
# Half of a layer's units silent over a whole window of batches. At a zero-bias initialisation with
# weights drawn from a symmetric distribution, a unit with weights w and its mirror -w are equally
# likely, and when one is silent on every input the other fires on every input: so at most half the
# units are dead in expectation, whatever the data (on high-dimensional data almost none are). More
# than half means units were killed, and plain ReLU units never come back (their gradient is 0).
DEAD_SHARE = 0.5
# Half of a sigmoid / tanh layer's outputs in the flat tails (derivative < 10 % of its peak, see
# probes.saturation_bounds). With pre-activations ~ N(0, 1), the target of Xavier init and batch
# norm, tanh has 7 % of its outputs there and sigmoid 0.03 %; half means pre-activations ~3x too wide.
SATURATED_SHARE = 0.5
# A layer whose output varies by less than 1 % of its size from input to input (or from unit to
# unit) carries next to no information: a healthy random layer has spreads of order 0.3 to 1.
COLLAPSE_SPREAD = 0.01
# Rows of a weight matrix equal to 1 part in 1000. Independent random rows give a spread of
# about 1; gradient descent keeps equal rows exactly equal, so only a symmetric start gives ~0.
SYMMETRY_SPREAD = 1e-3
# The loss ended 10 % above where it started: training made the model worse.
DIVERGENCE = 0.10
# The loss went above twice its first value at some step. A step with a sane learning rate lowers the
# loss to first order; doubling it means the steps overshoot (healthy runs stay at or below the start).
LOSS_SPIKE = 2.0
# Flat: the loss fell by less than 10 % over the whole run (a healthy start falls far more).
FLAT_IMPROVEMENT = 0.10
# Healthy steps change a weight matrix by about 1e-3 of its norm (CS231n's rule of thumb); at
# 1e-4 per step the weights need 10,000 steps to move by their own size.
TINY_UPDATE = 1e-4
MIN_STEPS = 10                 # the loss-trend rules need a curve, not a point
# Oscillation: consecutive losses typically jump by more than half the level the loss has reached.
ROUGHNESS = 0.5
# Over-fitting: the validation loss (median of its last 3 measurements, so one noisy batch is not
# enough) is 10 % above its best and has given back more than 5 % of the progress it had made, while
# the training loss kept falling. The share of progress keeps a rise from 0.005 to 0.012 (after a
# fall from 0.33) from counting: the model generalises as well as before for any practical purpose.
OVERFIT_RISE = 0.10
OVERFIT_GIVEBACK = 0.05


def _weights(rec):
    return rec.forward_order("weight")


def _activations(rec, kinds=None):
    return [layer for layer in rec.forward_order("activation") if kinds is None or layer.activation in kinds]


def _gradient_profile(rec, part):
    layers = [layer for layer in _weights(rec) if not math.isnan(rec.median(layer.name, q.GRAD_NORM, part))]
    return layers, [rec.median(layer.name, q.GRAD_NORM, part) for layer in layers]


def _profile_line(layers, norms, part) -> str:
    when = {"init": "at initialisation", "start": "first measured steps", "end": "last third of the run"}[part]
    return (f"per-sample gradient norm, first to last layer ({when}): "
            + ", ".join(f"{n:.2g}" for n in norms))


def _gradient_ratio(rec, part):
    """(layers, norms, first/last ratio) over one part of the run ("init": the first measured step),
    or None without enough depth."""
    if part == "init":
        first = rec.probes[0] if rec.probes else None
        layers = [l for l in _weights(rec) if first is not None and q.GRAD_NORM in first.layers.get(l.name, {})]
        norms = [first.layers[l.name][q.GRAD_NORM] for l in layers]
    else:
        layers, norms = _gradient_profile(rec, part)
    if len(layers) < MIN_WEIGHT_LAYERS or not numpy.isfinite(norms).all():
        return None
    first, last = norms[0], norms[-1]
    ratio = first / last if last > 0 else (math.inf if first > 0 else 1.0)
    return layers, norms, ratio


def _gradient_finding(rec, vanishing: bool):
    """The gradient ratio crosses its threshold at the start or at the end of the run (Adam, for one,
    can grow small weights out of a vanishing start; a healthy start can also degrade)."""
    hits = {}
    for part in ("init", "start", "end"):
        found = _gradient_ratio(rec, part)
        if found is None:
            continue
        ratio = found[2]
        if (ratio < 1 / GRADIENT_RATIO) if vanishing else (ratio > GRADIENT_RATIO):
            hits[part] = found
    if not hits:
        return None
    part = "start" if "start" in hits else "end" if "end" in hits else "init"
    layers, norms, ratio = hits[part]
    evidence = [f"the gradient reaching {layers[0].label} is {ratio:.2g} times that reaching {layers[-1].label}",
                _profile_line(layers, norms, part)]
    measurements = {"ratio": ratio, "profile": norms, "at_init": "init" in hits}
    return layers, evidence, measurements


def vanishing_gradients(rec, context):
    found = _gradient_finding(rec, vanishing=True)
    if found is None:
        return None
    layers, evidence, measurements = found
    return Finding(
        "vanishing_gradients", "Vanishing gradients", "error", evidence,
        "Back-propagation multiplies the gradient by each layer's weights and activation derivative. When "
        "those factors are below 1 (sigmoid's derivative is at most 1/4; saturated units give ~0; small "
        "weights shrink it) the product decays with depth, and the first layers hardly learn.",
        ["relu_he", "batch_norm", "residual", "matching_init", "leaky_relu"],
        f"first/last per-sample gradient norm < 1/{GRADIENT_RATIO:g} (healthy initialisation: ~1)",
        [layers[0].name, layers[-1].name], measurements)


def exploding_gradients(rec, context):
    found = _gradient_finding(rec, vanishing=False)
    if found is None:
        return None
    layers, evidence, measurements = found
    return Finding(
        "exploding_gradients", "Exploding gradients", "error", evidence,
        "Each layer multiplies the back-propagated gradient by its weights; when the weights are too large "
        "(initialisation too wide, or grown by too large steps) the product grows exponentially with depth. "
        "Updates become huge, the loss jumps and parameters can overflow to NaN.",
        ["clip_grad_norm", "matching_init", "batch_norm", "lower_lr", "adam"],
        f"first/last per-sample gradient norm > {GRADIENT_RATIO:g} (healthy initialisation: ~1)",
        [layers[0].name, layers[-1].name], measurements)


def dead_relu(rec, context):
    bad = []
    for layer in _activations(rec, ("relu",)):
        full = [v for s, v in rec.series(layer.name, q.DEAD_SHARE)
                if rec.probes and _window_full(rec, layer.name, s)]
        values = full or [v for _, v in rec.series(layer.name, q.DEAD_SHARE)][-1:]
        if values and float(numpy.median(values)) >= DEAD_SHARE:
            bad.append((layer, float(numpy.median(values))))
    if not bad:
        return None
    return Finding(
        "dead_relu", "Dead ReLU units", "error" if max(s for _, s in bad) > 0.9 else "warning",
        [f"{layer.label}: {share:.0%} of its units never fired over {rec.window} measured batches"
         for layer, share in bad],
        "A ReLU unit whose input is negative for every sample outputs 0 and gets gradient 0, so it never "
        "recovers: it is dead. Large negative biases, a too-large learning-rate step or a poor "
        "initialisation push units there; the layer loses that share of its capacity.",
        ["matching_init", "leaky_relu", "batch_norm", "lower_lr"],
        f"share of units never active over the window >= {DEAD_SHARE:g} (zero-bias symmetric init: at most 1/2)",
        [layer.name for layer, _ in bad], {layer.name: share for layer, share in bad})


def _window_full(rec, name, step):
    probe = next(p for p in rec.probes if p.step == step)
    return probe.layers[name].get(q.WINDOW_BATCHES, 0) >= rec.window


def saturation(rec, context):
    bad = [(layer, rec.median(layer.name, q.SATURATION)) for layer in _activations(rec, ("sigmoid", "tanh"))]
    bad = [(layer, s) for layer, s in bad if s >= SATURATED_SHARE]
    if not bad:
        return None
    return Finding(
        "saturation", "Saturated sigmoid / tanh units", "warning",
        [f"{layer.label}: {share:.0%} of outputs where the derivative is below a tenth of its peak"
         for layer, share in bad],
        "Sigmoid and tanh are flat far from 0: when pre-activations are wide (weights initialised too "
        "large) most outputs sit near the limits (the U-shaped histogram of the book), their derivatives "
        "are ~0 and the gradient stops there.",
        ["relu_he", "matching_init", "batch_norm"],
        f"median share of saturated outputs >= {SATURATED_SHARE:g} (pre-activations ~ N(0,1): tanh 7%, sigmoid 0.03%)",
        [layer.name for layer, _ in bad], {layer.name: share for layer, share in bad})


def collapsed_activations(rec, context):
    bad = []
    for layer in _activations(rec):
        across_inputs = rec.median(layer.name, q.SAMPLE_SPREAD)
        across_units = rec.median(layer.name, q.UNIT_SPREAD)
        if across_inputs < COLLAPSE_SPREAD or across_units < COLLAPSE_SPREAD:
            bad.append((layer, across_inputs, across_units))
    if not bad:
        return None
    return Finding(
        "collapsed_activations", "Collapsed activations (limited expressive power)", "error",
        [f"{layer.label}: spread across inputs {si:.2g}, across units {su:.2g} (relative to the output size)"
         for layer, si, su in bad],
        "The layer's units output (almost) the same value, whatever the input or whichever the unit. Units "
        "that all say the same thing could be replaced by one: the network has lost its expressive power, "
        "as with weights that start too small (std 0.01) or all equal.",
        ["matching_init", "batch_norm", "relu_he"],
        f"median spread across inputs or across units < {COLLAPSE_SPREAD:g} (healthy random layer: 0.3 to 1)",
        [layer.name for layer, _, _ in bad], {layer.name: {"across_inputs": si, "across_units": su}
                                              for layer, si, su in bad})


def symmetric_weights(rec, context):
    bad = []
    for layer in _weights(rec):
        if layer.module.weight.shape[0] < 2:
            continue
        spread = rec.median(layer.name, q.ROW_SPREAD)
        if spread < SYMMETRY_SPREAD:
            bad.append((layer, spread))
    if not bad:
        return None
    return Finding(
        "symmetric_weights", "Symmetric weights (all units of a layer identical)", "error",
        [f"{layer.label}: its units' incoming weights differ by {s:.2g} of their norm" for layer, s in bad],
        "When every unit of a layer starts with the same weights (zero or constant initialisation) they "
        "compute the same output and receive the same gradient, so they stay identical for ever: the layer "
        "acts as a single unit. Random initialisation breaks the symmetry.",
        ["matching_init"],
        f"row spread ||W - mean row|| / ||W|| < {SYMMETRY_SPREAD:g} (independent random rows: ~1)",
        [layer.name for layer, _ in bad], {layer.name: s for layer, s in bad})


def lr_too_high(rec, context):
    trend = probes.loss_trend(rec.losses)
    finite_start = bool(rec.losses) and math.isfinite(rec.losses[0])
    blew_up = finite_start and not all(math.isfinite(v) for v in rec.losses)  # finite at first, then NaN/Inf
    if len(rec.losses) < MIN_STEPS and not blew_up:
        return None
    diverged = blew_up or (finite_start and trend["improvement"] < -DIVERGENCE)
    finite = [v for v in rec.losses if math.isfinite(v)]
    spike = max(finite) / rec.losses[0] if finite_start and rec.losses[0] > 0 else 0.0
    oscillating = trend["roughness"] > ROUGHNESS and trend["improvement"] < FLAT_IMPROVEMENT
    if not (diverged or oscillating or spike > LOSS_SPIKE):
        return None
    update = rec.largest_update()
    what = ("rose" if diverged else "jumps around without falling" if oscillating
            else f"spiked to {spike:.3g} times its first value")
    return Finding(
        "lr_too_high", "Learning rate too high", "error",
        [f"the loss {what}: from {trend['start']:.3g} to {trend['end']:.3g} (median of the first and last "
         f"fifth of the steps); typical step-to-step jump {trend['roughness']:.0%} of its level",
         f"largest update/weight ratio per step: {update:.2g}"],
        "Each step overshoots the minimum along the steep directions of the loss, so the loss oscillates "
        "or climbs (divergence) instead of falling; in the end parameters can overflow.",
        ["lower_lr", "clip_grad_norm", "batch_norm"],
        f"loss ended > {DIVERGENCE:.0%} above its start, or went above {LOSS_SPIKE:g}x its first value, or "
        f"jumps > {ROUGHNESS:.0%} of its level while falling < {FLAT_IMPROVEMENT:.0%}",
        [], {**trend, "spike": spike, "largest_update_ratio": update})


def lr_too_low(rec, context):
    if len(rec.losses) < MIN_STEPS:
        return None
    trend = probes.loss_trend(rec.losses)
    update = rec.largest_update()
    if math.isnan(update) or not math.isfinite(trend["end"]):
        return None
    if not (-DIVERGENCE <= trend["improvement"] < FLAT_IMPROVEMENT and update < TINY_UPDATE):
        return None
    return Finding(
        "lr_too_low", "Learning rate too low", "warning",
        [f"the loss barely moved: from {trend['start']:.3g} to {trend['end']:.3g} ({trend['improvement']:.1%})",
         f"the largest update/weight ratio of any layer is {update:.2g} per step"],
        "Every layer's steps are tiny compared with its weights, so the loss is flat: the network would "
        "need a very large number of steps to get anywhere.",
        ["raise_lr", "adam"],
        f"loss fell < {FLAT_IMPROVEMENT:.0%} and every layer's update/weight ratio < {TINY_UPDATE:g} "
        "(healthy: ~1e-3)",
        [], {**trend, "largest_update_ratio": update})


def overfitting(rec, context):
    val = [v for v in rec.validation if math.isfinite(v.get("loss", math.nan))]
    if len(val) < 4:
        return None
    losses = [v["loss"] for v in val]
    best = int(numpy.argmin(losses))
    end = float(numpy.median(losses[-3:]))
    progress = losses[0] - losses[best]
    learnt = progress > OVERFIT_GIVEBACK * abs(losses[0])  # nothing learnt, nothing to over-fit
    rise = end - losses[best]
    if best >= len(val) - 2 or not learnt or rise <= OVERFIT_GIVEBACK * progress or rise <= OVERFIT_RISE * losses[best]:
        return None
    # the training loss must have kept falling after the validation loss turned
    after = [loss for step, loss in enumerate(rec.losses) if step >= val[best]["step"]]
    around = probes.loss_trend(after)
    if not around["improvement"] > 0:
        return None
    evidence = [f"validation loss {losses[best]:.3g} at step {val[best]['step']}, then {end:.3g} at the end "
                f"(gave back {(end - losses[best]) / progress:.0%} of its progress), while the training loss "
                f"fell from {around['start']:.3g} to {around['end']:.3g}"]
    if "accuracy" in val[-1] and context.get("train_accuracy") is not None:
        evidence.append(f"accuracy: train {context['train_accuracy']:.3f}, validation {val[-1]['accuracy']:.3f}")
    return Finding(
        "overfitting", "Over-fitting", "warning", evidence,
        "The network keeps fitting the training set, noise included, and gets worse on data it has not "
        "seen: too many parameters for too few examples.",
        ["more_data", "dropout", "weight_decay"],
        f"validation loss > {OVERFIT_RISE:.0%} above its best, giving back > {OVERFIT_GIVEBACK:.0%} of its "
        "progress, while the training loss fell "
        "(early stopping would have stopped at the best)",
        [], {"best_val_loss": losses[best], "best_step": val[best]["step"], "final_val_loss": end})


def nonfinite(rec, context):
    events = rec.nonfinite
    if not events and not context.get("anomaly"):
        return None
    first = min(events, key=lambda e: e["step"]) if events else None
    evidence = [f"step {e['step']}: {e['detail']}" for e in sorted(events, key=lambda e: e["step"])[:4]]
    if context.get("anomaly"):
        evidence.insert(0, f"first operation to produce it: {context['anomaly']}")
    return Finding(
        "nonfinite", "NaN / Inf values", "error", evidence,
        "A value overflowed or an undefined operation (log 0, 0/0, inf - inf) produced NaN/Inf; it then "
        "spreads to every parameter through the updates and training is over.",
        ["lower_lr", "clip_grad_norm", "stable_loss", "matching_init"],
        "any NaN or Inf in the loss, an activation, a gradient or a weight",
        [], {"first_step": first["step"] if first else None, "anomaly": context.get("anomaly")})


# the loop and data rules read the constants above (imported here, after them, on purpose)
from .rules_loop import (eval_mode_training, softmax_before_cross_entropy, stale_gradients,  # noqa: E402
                         underfitting, unlearnable_labels, unnormalized_inputs)

# Order = priority of root causes: the first finding that fires is the primary one. The loop's bugs come
# first: each of them brings about the numerical symptoms that the later rules see.
RULES = (stale_gradients, eval_mode_training, unnormalized_inputs, softmax_before_cross_entropy, nonfinite,
         symmetric_weights, dead_relu, saturation, exploding_gradients, vanishing_gradients, collapsed_activations,
         lr_too_high, lr_too_low, unlearnable_labels, overfitting, underfitting)

SYMPTOMS = {"nonfinite", "lr_too_high", "exploding_gradients", "vanishing_gradients", "dead_relu", "saturation",
            "collapsed_activations", "lr_too_low", "underfitting", "overfitting"}
# cause -> the findings it brings about: those are reported as its consequences.
EXPLAINS = {
    "stale_gradients": SYMPTOMS | {"unlearnable_labels"},
    "eval_mode_training": SYMPTOMS | {"unlearnable_labels"},
    "unnormalized_inputs": SYMPTOMS - {"overfitting"} | {"unlearnable_labels"},
    "softmax_before_cross_entropy": {"lr_too_low", "underfitting", "vanishing_gradients", "collapsed_activations",
                                     "unlearnable_labels"},
    "unlearnable_labels": {"underfitting", "overfitting", "lr_too_high"},
    "symmetric_weights": {"collapsed_activations", "dead_relu", "vanishing_gradients", "underfitting"},
    "dead_relu": {"collapsed_activations", "underfitting"},
    "saturation": {"vanishing_gradients", "underfitting"},
    "exploding_gradients": {"nonfinite", "lr_too_high", "underfitting"},
    "lr_too_high": {"nonfinite", "exploding_gradients", "underfitting"},
    "vanishing_gradients": {"lr_too_low", "underfitting"},
    "collapsed_activations": {"underfitting"},
    "nonfinite": {"underfitting"},
}
# a run whose numbers are broken learns nothing that carries over either: the labels are the last suspect
for _cause in SYMPTOMS - {"underfitting", "overfitting", "lr_too_low"}:
    EXPLAINS[_cause] = EXPLAINS.get(_cause, set()) | {"unlearnable_labels"}


def explains(cause: Finding, effect: Finding) -> bool:
    """Does ``cause`` account for ``effect``? Gradients that explode at initialisation are the
    initialisation's doing (and make the loss blow up); gradients that only explode later were grown
    by too large steps (the learning rate's doing)."""
    if {cause.name, effect.name} == {"exploding_gradients", "lr_too_high"}:
        exploding = cause if cause.name == "exploding_gradients" else effect
        at_init = exploding.measurements.get("at_init", True)
        return at_init if cause is exploding else not at_init
    return effect.name in EXPLAINS.get(cause.name, ())


def evaluate(rec, context: dict | None = None) -> list[Finding]:
    """Run every rule on a recorder; root causes first, then their consequences (``explained_by`` set)."""
    context = context or {}
    found = [f for f in (rule(rec, context) for rule in RULES) if f is not None]
    for f in found:
        causes = [c.name for c in found if c is not f and explains(c, f)]
        f.explained_by = causes[0] if causes else None
    return [f for f in found if f.explained_by is None] + [f for f in found if f.explained_by is not None]
