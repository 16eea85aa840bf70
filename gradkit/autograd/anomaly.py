"""Find the op that first made a NaN or Inf, by replaying a step under ``detect_anomaly``.

Used by the Trainer's non-finite guard (gradkit.train.nonfinite) and by the doctor.
"""
from __future__ import annotations

import numpy

from .engine import grad
from .function import AnomalyError
from .mode import detect_anomaly


def locate_nonfinite(model, loss_fn, x, y) -> str | None:
    """Replay one forward and backward pass under ``detect_anomaly``: the first op (forward or backward)
    that produces NaN/Inf, with its shapes, or None. Gradients are returned, not accumulated, so the
    parameters' ``.grad`` are left alone (batch-norm running statistics do see one more batch)."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        with detect_anomaly(), numpy.errstate(all="ignore"):
            loss = loss_fn(model(x), y)
            grad(loss, params, allow_unused=True)
    except AnomalyError as error:
        return str(error)
    return None
