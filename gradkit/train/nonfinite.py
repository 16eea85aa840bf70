"""What the Trainer does when a step's loss is NaN or Inf: find where it came from, then stop or warn.

The check runs before the optimiser's step, so with ``on_nonfinite="stop"`` (the default) the
weights in memory and the last checkpoint on disk stay those of the last finite step.
"""
from __future__ import annotations

import warnings

import numpy

from ..errors import NonFiniteError

MODES = ("stop", "warn")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        from ..errors import ArgumentError
        raise ArgumentError(f"on_nonfinite must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    return mode


def _count(array) -> tuple[int, int, int] | None:
    """(non-finite count, total, first flat sample index) of a float array, or None when all finite."""
    array = numpy.asarray(getattr(array, "data", array))
    if array.dtype.kind not in "fc":
        return None
    bad = ~numpy.isfinite(array)
    if not bad.any():
        return None
    first = int(numpy.argmax(bad.reshape(len(array), -1).any(axis=1))) if array.ndim else 0
    return int(bad.sum()), array.size, first


def source(model, loss_fn, x, y) -> str:
    """Where the first non-finite value of a step comes from: the inputs, the targets, the weights,
    or the op that made it (replayed under detect_anomaly)."""
    for what, array in (("the input batch", x), ("the target batch", y)):
        found = _count(array)
        if found is not None:
            return f"{what} holds {found[0]} non-finite values out of {found[1]} (first in sample {found[2]})"
    bad = [name for name, p in model.named_parameters() if _count(p) is not None]
    if bad:
        return f"the weights are already non-finite ({', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''})"
    from ..autograd.anomaly import locate_nonfinite
    op = locate_nonfinite(model, loss_fn, x, y)
    return op or "no single op: the replay stayed finite (check the loss function)"


def handle(trainer, x, y, loss: float) -> None:
    """Called by the Trainer when a step's loss is not finite: raise NonFiniteError, or warn once."""
    where = source(trainer.model, trainer.loss_fn, x, y)
    message = (f"the loss became {loss} at epoch {trainer.epoch + 1}, batch {trainer.batch + 1} "
               f"(step {trainer.global_step + 1}); first non-finite value: {where}")
    if trainer.on_nonfinite == "stop":
        raise NonFiniteError(message + ". Training stopped before this step; the weights and the last checkpoint "
                             "are those of the last finite step (on_nonfinite='warn' / --on-nonfinite warn "
                             "trains on).")
    if not trainer._warned_nonfinite:
        trainer._warned_nonfinite = True
        warnings.warn(message + "; training goes on (on_nonfinite='warn'); checkpoints with non-finite weights "
                      "are not written", RuntimeWarning, stacklevel=3)
