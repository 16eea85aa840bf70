"""Remedies and the remedy runner (``gradkit doctor --try-fixes``).

A remedy is a named transform of a frozen ``Setup``: switch to ReLU with He init, add batch
normalisation, residual connections, clip the gradient norm, lower the learning rate... (the remedies
of the source articles' tables, seeds 001 and 003). ``try_remedies`` applies each remedy the
diagnosis recommends to a copy of the set-up, trains it with the same seed and the same budget, and
ranks the results by validation loss.

    >>> table = try_remedies(scenarios.get("deep-sigmoid"))
    >>> print(table)          # ranked: remedy, val loss / accuracy before -> after, findings left
    >>> table.best.remedy     # e.g. "relu_he"
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from .setups import Setup, diagnose_setup

RELU_FAMILY = ("relu", "leaky_relu", "prelu", "elu")


def matching_init(activation: str) -> str:
    """He for the ReLU family (Var = 2 / fan_in), Xavier for sigmoid / tanh / the rest."""
    return "he" if activation in RELU_FAMILY else "xavier"


def _changed(setup: Setup, **changes) -> Setup | None:
    """The set-up with ``changes``, or None when they change nothing (the remedy does not apply)."""
    new = setup.replace(**changes)
    return None if new == setup else new


@dataclass(frozen=True)
class Remedy:
    """A named remedy: ``apply(setup)`` gives the remedied copy, or None where it does not apply."""
    name: str
    description: str
    apply: Callable[[Setup], Setup | None]


def _weight_decay(s: Setup) -> Setup | None:
    if s.optimizer in ("adam", "adamw"):
        return _changed(s, optimizer="adamw", weight_decay=max(s.weight_decay, 0.1))
    return _changed(s, weight_decay=max(s.weight_decay, 5e-4))


REMEDIES = {r.name: r for r in (
    Remedy("relu_he", "Use ReLU units with He initialisation: ReLU's derivative is 1 wherever it is active, so "
           "the gradient reaches the first layers undiminished, and He init keeps its size layer to layer.",
           lambda s: _changed(s, activation="relu", init="he", bias=0.0)),
    Remedy("leaky_relu", "Use Leaky ReLU: a small slope for negative inputs keeps every unit's gradient alive.",
           lambda s: _changed(s, activation="leaky_relu", init="he")),
    Remedy("matching_init", "Initialise the weights for the activation (He for ReLU, Xavier for sigmoid/tanh) "
           "and the biases at zero: variance-preserving, random, so units differ and signals keep their size.",
           lambda s: _changed(s, init=matching_init(s.activation), bias=0.0)),
    Remedy("batch_norm", "Add batch normalisation before each activation: it pulls every layer's "
           "pre-activations back to mean 0, variance 1, where the activation's derivative is large.",
           lambda s: _changed(s, batch_norm=True)),
    Remedy("residual", "Add residual (skip) connections: y = x + F(x) carries the gradient past each block.",
           lambda s: _changed(s, architecture="residual") if s.architecture == "mlp" else None),
    Remedy("clip_grad_norm", "Clip the gradient norm (to 1): no single step can be larger than that.",
           lambda s: _changed(s, clip=1.0) if s.clip is None or s.clip > 1.0 else None),
    Remedy("lower_lr", "Lower the learning rate (10x).", lambda s: s.replace(lr=s.lr / 10)),
    Remedy("raise_lr", "Raise the learning rate (10x).", lambda s: s.replace(lr=s.lr * 10)),
    Remedy("adam", "Use Adam (lr 1e-3): per-parameter step sizes, steadier than plain SGD.",
           lambda s: _changed(s, optimizer="adam", lr=1e-3, weight_decay=0.0)),
    Remedy("dropout", "Add dropout (p = 0.3) after each hidden activation.",
           lambda s: _changed(s, dropout=0.3) if s.dropout < 0.3 else None),
    Remedy("weight_decay", "Add weight decay (AdamW 0.1, or L2 5e-4 with SGD-like optimisers).", _weight_decay),
    Remedy("more_data", "Train on more data (4x the examples).", lambda s: s.replace(n_train=s.n_train * 4)),
    Remedy("wider", "Make the hidden layers wider (4x the units).", lambda s: s.replace(width=s.width * 4)),
    Remedy("deeper", "Add two hidden layers.", lambda s: s.replace(depth=s.depth + 2)),
    Remedy("less_regularization", "Remove dropout and weight decay.",
           lambda s: _changed(s, dropout=0.0, weight_decay=0.0)),
    Remedy("normalize_inputs", "Standardise the inputs with the training set's mean and std.",
           lambda s: _changed(s, inputs="standardised")),
    Remedy("drop_softmax", "Remove the softmax at the end of the model: the loss applies log-softmax itself.",
           lambda s: _changed(s, softmax=False)),
    Remedy("check_labels", "Check that inputs and labels stay paired (same permutation, same order).",
           lambda s: _changed(s, labels="paired")),
    # changes to the training loop itself: the Trainer that trains a set-up never has these bugs
    Remedy("zero_grad", "Zero the gradients before each backward pass (optimizer.zero_grad()).", lambda s: None),
    Remedy("train_mode", "Put the model in training mode (model.train()) for the optimiser's steps.", lambda s: None),
    Remedy("stable_loss", "Compute the loss from logits with a fused, stable cross-entropy (log-sum-exp), "
           "never as log(softmax).", lambda s: _changed(s, loss="cross_entropy")),
)}


@dataclass
class Trial:
    """One run of the remedy runner: the baseline or one remedy."""
    remedy: str
    setup: Setup
    final: dict
    findings: list = field(default_factory=list)

    @property
    def score(self) -> float:
        """What the ranking minimises: validation loss (training loss without validation data); NaN is worst."""
        value = self.final.get("val_loss", self.final.get("loss", math.nan))
        return value if math.isfinite(value) else math.inf


@dataclass
class RemedyTable:
    """The baseline and every remedy tried, best first."""
    baseline: Trial
    trials: list

    @property
    def best(self) -> Trial | None:
        return self.trials[0] if self.trials else None

    def to_dict(self) -> dict:
        row = lambda t: {"remedy": t.remedy, "setup": t.setup.describe(), "final": t.final, "findings": t.findings}
        return {"baseline": row(self.baseline), "trials": [row(t) for t in self.trials]}

    def __str__(self) -> str:
        b = self.baseline.final
        key = "val_" if "val_loss" in b else ""
        lines = [f"Remedies tried (same seed, same {self.baseline.setup.steps} steps), ranked by {key}loss:",
                 f"  {'#':>2s}  {'remedy':16s} {key + 'loss':>22s} {key + 'accuracy':>26s}   findings left"]
        for i, t in enumerate(self.trials, 1):
            loss = f"{_f(b.get(key + 'loss'))} -> {_f(t.final.get(key + 'loss'))}"
            acc = f"{_f(b.get(key + 'accuracy'))} -> {_f(t.final.get(key + 'accuracy'))}"
            lines.append(f"  {i:2d}  {t.remedy:16s} {loss:>22s} {acc:>26s}   {', '.join(t.findings) or 'none'}")
        if not self.trials:
            lines.append("  (no remedy applies to this set-up)")
        return "\n".join(lines)


def _f(v) -> str:
    return "-" if v is None else f"{v:.4g}"


def recommended(findings) -> list[str]:
    """Remedy names of the findings, root causes' first, each once."""
    names = []
    for f in sorted(findings, key=lambda f: f.explained_by is not None):
        for r in f.remedies:
            if r not in names:
                names.append(r)
    return names


def try_remedies(setup: Setup, report=None, remedies=None) -> RemedyTable:
    """Diagnose ``setup`` (unless ``report`` is given), apply each recommended remedy (or those named in
    ``remedies``) to a copy, run it with the same seed and budget, and rank them."""
    report = report if report is not None else diagnose_setup(setup)
    names = list(remedies) if remedies is not None else recommended(report.findings)
    unknown = [n for n in names if n not in REMEDIES]
    if unknown:
        raise ValueError(f"try_remedies: unknown remedies {unknown}; known: {', '.join(REMEDIES)}")
    baseline = Trial("baseline", setup, report.final, report.names)
    trials, seen = [], {setup}
    for name in names:
        changed = REMEDIES[name].apply(setup)
        if changed is None or changed in seen:
            continue
        seen.add(changed)
        result = diagnose_setup(changed)
        trials.append(Trial(name, changed, result.final, result.names))
    trials.sort(key=lambda t: t.score)
    return RemedyTable(baseline, trials)
