"""``diagnose``: a short probe run through the Trainer, with the doctor as a callback.

    report = gk.doctor.diagnose(model, train, optimizer=opt, steps=150, val=test)
    print(report); report.names; report.save_figure("flow.png")

The model, optimiser and loss may be gradkit's or PyTorch's (``nn.CrossEntropyLoss()``,
``torch.optim.SGD``...); the data a dataset, a DataLoader (either framework's) or a NumPy pair.
"""
from __future__ import annotations

import math

import numpy

from ..autograd.anomaly import locate_nonfinite  # noqa: F401  (re-exported: gradkit.doctor.locate_nonfinite)
from ..train.callbacks import Callback
from . import quantities as q
from . import rules
from .adapters import for_model
from .callback import DoctorCallback
from .recorder import Recorder
from .report import Report


def _as_dataset(data, what: str):
    """A gradkit dataset or loader, a framework's DataLoader, or a pair of arrays made a dataset."""
    from ..data import ArrayDataset
    if data is None:
        return None
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = (numpy.asarray(_as_numpy(v)) for v in data)
        return ArrayDataset(x, y)
    if hasattr(data, "__iter__") or (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
        return data
    raise TypeError(f"diagnose: {what} must be a dataset, a DataLoader or a pair (inputs, targets), "
                    f"got {type(data).__name__}")


def _as_numpy(value):
    """NumPy view of an array-like (a torch tensor too, through its ``numpy()``)."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    return value


def _loader(data, batch_size: int, rng, adapter, shuffle: bool = True):
    """An iterable of (x, y) batches in the model's framework."""
    from ..data import DataLoader
    if adapter.name == "torch":
        return adapter.loader(data, batch_size, rng, shuffle)
    if isinstance(data, DataLoader):
        return data
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, rng=rng)


def _metrics_for(data) -> tuple:
    """Accuracy only where the targets are class indices."""
    arrays = getattr(data, "arrays", None)
    labels = arrays[-1] if arrays else None
    return ("accuracy",) if labels is not None and numpy.issubdtype(labels.dtype, numpy.integer) else ()


def evaluate(model, data, loss_fn, limit: int = 2048) -> dict:
    """Loss (and accuracy for class labels) of ``model`` on at most ``limit`` examples, in eval mode."""
    from ..data import DataLoader, Subset
    from ..train import Trainer
    adapter = for_model(model)
    if adapter.name == "torch":
        return adapter.evaluate(model, _loader(data, 256, None, adapter, shuffle=False), loss_fn, limit)
    if isinstance(data, DataLoader):
        data = data.dataset
    if len(data) > limit:
        data = data.subset(numpy.arange(limit)) if hasattr(data, "subset") else Subset(data, numpy.arange(limit))
    with numpy.errstate(all="ignore"):
        return Trainer(model, None, loss_fn=loss_fn, metrics=_metrics_for(data)).evaluate(data)


def make_report(rec: Recorder, title: str = "", final: dict | None = None, anomaly: str | None = None,
                loop: str = "trainer") -> Report:
    """Run the rules on a recorder and assemble the report (``loop="user"``: a watched loop, whose
    findings name the line to change)."""
    final = final or {}
    context = {"anomaly": anomaly, "train_accuracy": final.get("accuracy"), "loop": loop}
    findings = rules.evaluate(rec, context)
    rows = []
    for layer in rec.forward_order():
        row = {"name": layer.name, "label": layer.label, "kind": layer.kind, "activation": layer.activation}
        for quantity in q.MEDIANS:
            value = rec.median(layer.name, quantity)
            if not math.isnan(value):
                row[quantity] = value
        rows.append(row)
    return Report(findings, rows, list(rec.losses), list(rec.validation), final, anomaly, title, rec, loop)


class _ProbeRun(Callback):
    """What ``diagnose`` adds to the doctor: validation every ``val_every`` steps and a stop after ``steps``."""

    def __init__(self, doctor, steps, val, loss_fn, val_every):
        self.doctor, self.steps, self.val, self.loss_fn, self.val_every = doctor, steps, val, loss_fn, val_every

    def on_batch_end(self, batch, logs):
        step = self.trainer.global_step - 1
        if self.val is not None and (step % self.val_every == 0 or step == self.steps - 1):
            self.doctor.recorder.add_validation(step, evaluate(self.trainer.model, self.val, self.loss_fn))
        if self.trainer.global_step >= self.steps:
            self.trainer.stop_training = True


def diagnose(model, data, optimizer=None, loss_fn=None, steps: int = 150, batch_size: int = 64, val=None,
             every: int | None = None, window: int = 4, clip: float | None = None, seed=0, title: str = "") -> Report:
    """Train ``model`` for ``steps`` steps while probing it, and say what is wrong.

    Args:
        model: a gradkit or PyTorch module.
        data: training data: a dataset, a DataLoader (gradkit's or PyTorch's) or a pair (inputs, targets)
            of arrays.
        optimizer: an optimiser over the model's parameters, of the model's framework (default: Adam, lr 1e-3).
        loss_fn: ``loss_fn(output, target)``, e.g. ``F.cross_entropy`` or ``torch.nn.CrossEntropyLoss()``
            (default: cross-entropy).
        steps: optimiser steps of the probe run (it trains the model given: pass a copy to keep it).
        batch_size: examples per step (a DataLoader keeps its own).
        val: validation data (same forms as ``data``), needed for the over-fitting finding.
        every: probe every this many steps (default: about 30 probes over the run).
        window: probed batches over which a ReLU unit must stay silent to count as dead.
        clip: clip the gradient 2-norm to this before each step.
        seed: seed of the batch order.
        title: a heading for the report.

    Returns:
        A Report: ``report.names``, ``report["dead_relu"].evidence``, ``print(report)``.

    The run goes through ``gradkit.train.Trainer`` with a ``DoctorCallback``: the same hooks that
    ``watch`` puts on a user's loop.
    """
    from .. import backend
    from ..train import Trainer
    if steps < 1:
        raise ValueError(f"diagnose: steps must be >= 1, got {steps}")
    adapter = for_model(model)
    optimizer = optimizer if optimizer is not None else adapter.default_optimizer(model)
    loss_fn = loss_fn if loss_fn is not None else adapter.default_loss()
    data, val = _as_dataset(data, "data"), _as_dataset(val, "val")
    every = every or max(1, steps // 30)
    loader = _loader(data, batch_size, backend.resolve_rng(seed), adapter)
    if len(loader) == 0:
        raise ValueError("diagnose: the training data is empty")
    doctor = DoctorCallback(every, window, warn=False, summary=False, stop_on_nonfinite=True, title=title,
                            also=(steps - 1,))
    run = _ProbeRun(doctor, steps, val, loss_fn, max(every, steps // 15))
    callbacks = [doctor, run] + ([adapter.clipper(model, clip)] if clip is not None and adapter.name != "gradkit" else [])
    trainer = Trainer(model, optimizer, loss_fn=loss_fn, metrics=(), rng=None,
                      clip_grad_norm=clip if adapter.name == "gradkit" else None)
    with numpy.errstate(all="ignore"):  # overflow is a finding here, not a warning to print
        try:
            trainer.fit(loader, epochs=-(-steps // len(loader)), callbacks=callbacks, verbose=False)
        finally:
            if doctor.watch is not None:
                doctor.watch.detach()
    final = {}
    for prefix, part in (("", data), ("val_", val)):
        if part is not None:
            final.update({prefix + k: v for k, v in evaluate(model, part, loss_fn).items()})
    return make_report(doctor.recorder, title, final, doctor.anomaly)
