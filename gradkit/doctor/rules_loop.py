"""Rules for the silent bugs of a training loop and its data (the second half of the rules).

The gradient, activation and learning-rate rules are in ``rules.py``; these read the model's inputs and
outputs, the optimiser's step and the loss on batches the model has not trained on yet. Each threshold
is set from a principle, written beside it. The explanations follow the source articles where they
speak of it (seed 000: under-fitting, its causes and remedies; seed 002: batch normalisation and
dropout behave differently in training and in evaluation; seed 001: inputs and initialisation).
"""
from __future__ import annotations

import math
import statistics

from . import probes
from . import quantities as q
from .report import Finding
from .rules import FLAT_IMPROVEMENT, MIN_STEPS, TINY_UPDATE

# A correct loop clears every gradient before backward (``optimizer.zero_grad()``); gradient accumulation
# clears them after each step. Either way no gradient is carried into the next step's first backward:
# the share of carried gradients is exactly 0. Half of the parameters carrying theirs on at least half of
# the measured steps is no accident of one step.
CARRIED_SHARE = 0.5
# Dropout and batch norm compute differently in training and in evaluation: a binary mode. Eval mode at
# the optimiser's step on half of the measured steps is the loop's doing, not a one-off evaluation.
EVAL_MODE_SHARE = 0.5
# He and Xavier initialisation set Var(w) = gain / fan_in so that a layer's pre-activations have the
# second moment of its inputs times the gain: they assume inputs of root-mean-square ~1. A factor 10
# either way puts the first layer's pre-activations 100 times too wide (or too narrow) in variance.
INPUT_RMS_HIGH = 10.0
INPUT_RMS_LOW = 0.1
# The loss on examples the model has not trained on yet, not below the chance level log C by more than
# two standard errors of its median (a model that learnt nothing sits at chance, give or take the noise
# of the batches; one that generalises at all falls measurably below it, however slowly it learns).
STANDARD_ERRORS = 2.0
MIN_UNSEEN = 8                 # batches the model had not seen, for a median that one batch cannot sway
# Under-fitting: the loss has stopped falling (the last fifth of the run < 10 % below the fifth that
# ends at 60 % of it) while more than half of the loss at initialisation is still there. A model with
# the capacity for its task removes most of its initial loss (the healthy zoo nets remove ~90 %).
UNDERFIT_LEVEL = 0.5


def _measured(rec, key, skip_first: bool = False):
    return [p.model[key] for p in rec.probes if key in p.model and not (skip_first and p.step == 0)]


def stale_gradients(rec, context):
    carried = _measured(rec, q.CARRIED_GRADS, skip_first=True)
    if len(carried) < 2:
        return None
    hits = sum(share >= CARRIED_SHARE for share in carried)
    if hits < len(carried) / 2:
        return None
    norms = [(p.step, p.model[q.TOTAL_GRAD_NORM]) for p in rec.probes if q.TOTAL_GRAD_NORM in p.model]
    evidence = [f"on {hits} of {len(carried)} measured steps, {statistics.median(carried):.0%} of the parameters "
                "still held the previous step's gradient when backward started"]
    if len(norms) >= 2 and norms[0][1] > 0:
        (s0, g0), (s1, g1) = norms[0], norms[-1]
        evidence.append(f"the gradient norm at the optimiser's step grew from {g0:.3g} (step {s0}) to {g1:.3g} "
                        f"(step {s1}), x{g1 / g0:.3g}: each step adds a new gradient to the sum of all the old ones")
    return Finding(
        "stale_gradients", "Gradients never zeroed", "error", evidence,
        "backward() adds each new gradient to what .grad already holds. Without zero_grad() between steps the "
        "optimiser steps along the sum of every gradient since the start: the steps grow with time and "
        "point in stale directions, so the loss blows up or stalls.",
        ["zero_grad"],
        f"share of parameters whose .grad is non-zero at the step's first backward >= {CARRIED_SHARE:g} on half "
        "of the measured steps (a loop that zeroes them: exactly 0)",
        [], {"carried_share": statistics.median(carried), "measured": len(carried), "grad_norms": norms},
        fix="call optimizer.zero_grad() before loss.backward() in every step")


def eval_mode_training(rec, context):
    modes = _measured(rec, q.EVAL_MODE)
    if not modes:
        return None
    hits = [names for names in modes if names]
    if len(hits) < EVAL_MODE_SHARE * len(modes):
        return None
    found = {n for names in hits for n in names}
    names = [name for name, _ in rec.mode_modules if name in found]   # in the model's order
    labels = {name: type(m).__name__ for name, m in rec.mode_modules}
    shown = ", ".join(f"{n} ({labels.get(n, '?')})" for n in names[:6])
    return Finding(
        "eval_mode_training", "Training in eval mode", "error",
        [f"{len(names)} dropout / batch-norm module(s) were in eval mode at {len(hits)} of {len(modes)} measured "
         f"optimiser steps: {shown}"],
        "Dropout and batch normalisation behave differently in training: dropout masks units, batch norm "
        "normalises with the batch's own statistics and updates its running ones. In eval mode dropout is "
        "off (no regularisation) and batch norm uses running statistics that never update, so the layers "
        "it was meant to keep at mean 0, variance 1 drift, and a learning rate that is safe with batch "
        "norm can blow up. (Freezing batch norm on purpose, when fine-tuning, is the exception.)",
        ["train_mode"],
        f"a dropout / batch-norm module in eval mode at the optimiser's step on >= {EVAL_MODE_SHARE:.0%} of "
        "the measured steps (a mode is binary: a training loop sets train mode)",
        names, {"modules": names, "steps_in_eval": len(hits), "measured": len(modes)},
        fix="call model.train() before the training loop (and again after each evaluation)")


def unnormalized_inputs(rec, context):
    scales = _measured(rec, q.INPUT_RMS)
    if not scales:
        return None
    rms = statistics.median(scales)
    if INPUT_RMS_LOW <= rms <= INPUT_RMS_HIGH:
        return None
    mean = statistics.median(_measured(rec, q.INPUT_MEAN))
    std = statistics.median(_measured(rec, q.INPUT_STD))
    return Finding(
        "unnormalized_inputs", "Inputs not normalised", "error",
        [f"the model's inputs have root-mean-square {rms:.3g} (mean {mean:.3g}, std {std:.3g}); the "
         "initialisation of the first layer assumes ~1"],
        "Initialisations (He, Xavier) scale the weights so that a layer's outputs keep the size of its "
        "inputs, assuming inputs of size ~1. Raw pixels (0..255) or other large features make the first "
        "layer's pre-activations tens of times too wide: units saturate or die, gradients are huge for "
        "that layer and tiny for the others, and no single learning rate suits them all.",
        ["normalize_inputs", "batch_norm", "lower_lr"],
        f"median root-mean-square of the inputs outside [{INPUT_RMS_LOW:g}, {INPUT_RMS_HIGH:g}] (a factor 10 from "
        "the unit size the initialisation assumes: 100x in variance)",
        [], {q.INPUT_RMS: rms, q.INPUT_MEAN: mean, q.INPUT_STD: std},
        fix="normalise the inputs: x = (x - mean) / std with the training set's mean and std "
            "(pixels: divide by 255, then standardise)")


def softmax_before_cross_entropy(rec, context):
    flags = _measured(rec, q.OUTPUT_PROBABILITIES)
    if len(flags) < 2 or sum(flags) < len(flags) / 2:
        return None
    classes = max(_measured(rec, q.CLASSES))
    floor = probes.softmax_floor(classes)
    exact = [v for v in _measured(rec, "loss_is_softmax_again")]
    finite = [v for v in rec.losses if math.isfinite(v)]
    if exact:
        if sum(exact) < len(exact) / 2:
            return None
        how = (f"the loss equals the cross-entropy of the outputs taken as logits (to 1e-4) on {sum(exact)} of "
               f"{len(exact)} measured steps")
    elif len(finite) >= MIN_STEPS and min(finite) >= floor:
        how = (f"the loss never went below {min(finite):.3g}; cross-entropy applied to probabilities cannot go "
               f"below log(1 + (C - 1)/e) = {floor:.3g} for C = {classes} classes, a correct loss goes to 0")
    else:
        return None
    return Finding(
        "softmax_before_cross_entropy", "Softmax before a loss that applies log-softmax", "error",
        [f"the model's outputs are probabilities (rows >= 0 summing to 1) on {sum(flags)} of {len(flags)} "
         "measured steps", how],
        "Cross-entropy losses (nn.CrossEntropyLoss, F.cross_entropy) take logits and apply log-softmax "
        "themselves. Fed probabilities, they apply softmax a second time: the outputs are squeezed into "
        "[0, 1], the loss cannot fall below its floor, and the gradients are several times smaller than they "
        "should be, so training crawls.",
        ["drop_softmax"],
        "outputs are probability rows on half of the measured steps, and the loss is cross-entropy of those "
        "rows (checked exactly where the targets are known, else: the loss never below the floor "
        "log(1 + (C - 1)/e))",
        [], {q.CLASSES: classes, "floor": floor, "min_loss": min(finite) if finite else math.nan},
        fix="remove the final softmax from the model: nn.CrossEntropyLoss expects logits "
            "(or keep log-softmax and use nn.NLLLoss)")


def _chance(rec):
    """log C for a classifier whose first loss is near it (cross-entropy at initialisation), else None."""
    classes = _measured(rec, q.CLASSES)
    if not classes or not rec.losses or not math.isfinite(rec.losses[0]):
        return None
    chance = math.log(max(classes))
    return chance if abs(rec.losses[0] - chance) < 0.5 * chance else None


def _at_chance(losses, chance):
    """(median of the later half, its standard error, at chance?) of a series of held-out losses."""
    later = losses[len(losses) // 2:]
    median = statistics.median(later)
    error = statistics.stdev(later) / math.sqrt(len(later)) if len(later) > 1 else math.inf
    return median, error, median >= chance - STANDARD_ERRORS * error


def unlearnable_labels(rec, context):
    chance = _chance(rec)
    series = [s for s in ([loss for _, loss in rec.unseen],
                          [v["loss"] for v in rec.validation if math.isfinite(v["loss"])]) if len(s) >= MIN_UNSEEN]
    update = rec.largest_update()
    if chance is None or not series or not update >= TINY_UPDATE:
        return None
    verdicts = [_at_chance(s, chance) for s in series]
    if not all(at for _, _, at in verdicts):   # each held-out measure must sit at chance
        return None
    held_out, error, _ = verdicts[-1]
    later = series[-1][len(series[-1]) // 2:]
    trend = probes.loss_trend(rec.losses)
    return Finding(
        "unlearnable_labels", "Labels do not match the inputs", "error",
        [f"loss on {'validation data' if len(series) > 1 or not rec.unseen else 'batches the model had not trained on yet'}: "
         f"{held_out:.3g} (median of the last {len(later)}), "
         f"chance level log {max(_measured(rec, q.CLASSES))} = {chance:.3g} (standard error of the median ~{error:.2g})",
         f"meanwhile the updates are healthy (largest update/weight ratio {update:.2g} per step) and the training "
         f"loss went from {trend['start']:.3g} to {trend['end']:.3g}"],
        "The network learns, but nothing it learns carries over to examples it has not seen: the labels are "
        "not a function of the inputs it is given (labels shuffled or misaligned with the inputs, the wrong "
        "label column, augmentation that destroys the class). A network can still memorise the training "
        "examples one by one, so a falling training loss, or over-fitting one batch, does not prove the "
        "labels right.",
        ["check_labels"],
        f"median loss on not-yet-trained batches (and, separately, on validation data), later half of them, >= log C - "
        f"{STANDARD_ERRORS:g} standard errors, with update/weight ratios >= {TINY_UPDATE:g}",
        [], {"held_out_loss": held_out, "chance": chance, "largest_update_ratio": update},
        fix="check that inputs and labels stay paired: index both with the same permutation, and look at a "
            "few examples with their labels")


def underfitting(rec, context):
    losses = rec.losses
    if len(losses) < MIN_STEPS or not all(math.isfinite(v) for v in losses):
        return None
    n = len(losses)
    k = max(1, n // 5)
    start = statistics.median(losses[:k])
    middle = statistics.median(losses[max(0, 3 * k - k):3 * k])   # the fifth that ends at 60 %
    end = statistics.median(losses[-k:])
    update = rec.largest_update()
    if not (start > 0 and UNDERFIT_LEVEL * start < end <= start and (middle - end) < FLAT_IMPROVEMENT * abs(middle)
            and update >= TINY_UPDATE):
        return None
    return Finding(
        "underfitting", "Under-fitting", "warning",
        [f"the training loss stopped falling at {end:.3g} ({end / start:.0%} of its start, {start:.3g}); it fell "
         f"{(middle - end) / abs(middle):.0%} over the last two fifths of the run",
         f"the updates are healthy (largest update/weight ratio {update:.2g} per step)"],
        "The model cannot fit even the training data: it is too small or too constrained for the task "
        "(too few units or layers, too much regularisation), so the loss settles high although the steps "
        "are fine. Over-fitting's opposite: more capacity helps here.",
        ["wider", "deeper", "less_regularization"],
        f"loss over the last fifth > {UNDERFIT_LEVEL:g} x its start and < {FLAT_IMPROVEMENT:.0%} below the fifth "
        f"ending at 60 % of the run, with update/weight ratios >= {TINY_UPDATE:g}",
        [], {"start": start, "end": end, "largest_update_ratio": update},
        fix="give the model more capacity: wider or more hidden layers (and less dropout / weight decay)")
