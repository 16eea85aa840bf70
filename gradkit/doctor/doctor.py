"""Where the doctor is used: ``diagnose`` (a short probe run) and ``DoctorCallback`` (inside a Trainer).

    report = gk.doctor.diagnose(model, train, optimizer=opt, steps=150, val=test)
    print(report); report.names; report.save_figure("flow.png")

    trainer.fit(train, epochs=5, callbacks=[gk.doctor.DoctorCallback(every=10)])
"""
from __future__ import annotations

import math
import sys

import numpy

from .. import backend
from ..autograd import Tensor
from ..autograd.anomaly import locate_nonfinite  # noqa: F401  (re-exported: gradkit.doctor.locate_nonfinite)
from ..train.callbacks import Callback
from . import rules
from .recorder import Recorder
from .report import Report
from .schedule import Schedule


def _as_dataset(data, what: str):
    from ..data import ArrayDataset, DataLoader
    if data is None or isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return ArrayDataset(*data)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        return data
    raise TypeError(f"diagnose: {what} must be a dataset, a DataLoader or a pair (inputs, targets), "
                    f"got {type(data).__name__}")


def _batches(data, batch_size: int, rng):
    from ..data import DataLoader
    loader = data if isinstance(data, DataLoader) else DataLoader(data, batch_size=batch_size, shuffle=True, rng=rng)
    if len(loader) == 0:
        raise ValueError("diagnose: the training data is empty")
    while True:
        yield from loader


def _metrics_for(data) -> tuple:
    """Accuracy only where the targets are class indices."""
    arrays = getattr(data, "arrays", None)
    labels = arrays[-1] if arrays else None
    return ("accuracy",) if labels is not None and numpy.issubdtype(labels.dtype, numpy.integer) else ()


def evaluate(model, data, loss_fn, limit: int = 2048) -> dict:
    """Loss (and accuracy for class labels) of ``model`` on at most ``limit`` examples, in eval mode."""
    from ..data import DataLoader, Subset
    from ..train import Trainer
    if isinstance(data, DataLoader):
        data = data.dataset
    if len(data) > limit:
        data = data.subset(numpy.arange(limit)) if hasattr(data, "subset") else Subset(data, numpy.arange(limit))
    with numpy.errstate(all="ignore"):
        return Trainer(model, None, loss_fn=loss_fn, metrics=_metrics_for(data)).evaluate(data)


def make_report(rec: Recorder, title: str = "", final: dict | None = None, anomaly: str | None = None) -> Report:
    """Run the rules on a recorder and assemble the report."""
    final = final or {}
    context = {"anomaly": anomaly, "train_accuracy": final.get("accuracy")}
    findings = rules.evaluate(rec, context)
    rows = []
    for layer in rec.forward_order():
        row = {"name": layer.name, "label": layer.label, "kind": layer.kind, "activation": layer.activation}
        for quantity in ("grad_norm", "output_norm", "weight_norm", "weight_grad_norm", "update_ratio", "row_spread",
                         "mean", "std", "saturation", "dead_share", "sample_spread", "unit_spread"):
            value = rec.median(layer.name, quantity)
            if not math.isnan(value):
                row[quantity] = value
        rows.append(row)
    return Report(findings, rows, list(rec.losses), list(rec.validation), final, anomaly, title, rec)


def diagnose(model, data, optimizer=None, loss_fn=None, steps: int = 150, batch_size: int = 64, val=None,
             every: int | None = None, window: int = 4, clip: float | None = None, seed=0, title: str = "") -> Report:
    """Train ``model`` for ``steps`` steps while probing it, and say what is wrong.

    Args:
        model: a gradkit Module.
        data: training data: a dataset, a DataLoader or a pair (inputs, targets).
        optimizer: a gradkit optimiser over the model's parameters (default: Adam, lr 1e-3).
        loss_fn: ``loss_fn(output, target)`` (default: cross-entropy).
        steps: optimiser steps of the probe run (it trains the model given: pass a copy to keep it).
        batch_size: examples per step.
        val: validation data (same forms as ``data``), needed for the over-fitting finding.
        every: probe every this many steps (default: about 30 probes over the run).
        window: probed batches over which a ReLU unit must stay silent to count as dead.
        clip: clip the gradient 2-norm to this before each step.
        seed: seed of the batch order.
        title: a heading for the report.

    Returns:
        A Report: ``report.names``, ``report["dead_relu"].evidence``, ``print(report)``.
    """
    from .. import functional as F
    from .. import optim
    if steps < 1:
        raise ValueError(f"diagnose: steps must be >= 1, got {steps}")
    optimizer = optimizer if optimizer is not None else optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = loss_fn if loss_fn is not None else F.cross_entropy
    data, val = _as_dataset(data, "data"), _as_dataset(val, "val")
    every = every or max(1, steps // 30)
    rec = Recorder(model, Schedule(every=every, also={steps - 1}), window)
    val_every = max(every, steps // 15)
    batches = _batches(data, batch_size, backend.resolve_rng(seed))
    anomaly = None
    model.train()
    with numpy.errstate(all="ignore"):  # overflow is a finding here, not a warning to print
        for step in range(steps):
            x, y = next(batches)
            rec.begin_step(step)
            loss = loss_fn(model(x), y)
            value = float(loss.data)
            optimizer.zero_grad()
            if math.isfinite(value):
                loss.backward()
            finite = math.isfinite(value) and all(p.grad is None or numpy.isfinite(p.grad.data).all()
                                                  for p in model.parameters())
            if not finite and anomaly is None:
                rec.paused = True
                anomaly = locate_nonfinite(model, loss_fn, x, y)
                rec.paused = False
            if finite:
                if clip is not None:
                    optim.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
            rec.end_step(step, value)
            if val is not None and (step % val_every == 0 or step == steps - 1):
                rec.add_validation(step, evaluate(model, val, loss_fn))
            if not finite:
                break  # the weights would turn NaN: nothing more to learn from this run
    final = {}
    for prefix, part in (("", data), ("val_", val)):
        if part is not None:
            final.update({prefix + k: v for k, v in evaluate(model, part, loss_fn).items()})
    return make_report(rec, title, final, anomaly)


class DoctorCallback(Callback):
    """The doctor inside a Trainer: probes on a schedule, warns when a finding appears, summarises at the end.

    Args:
        every: probe every this many steps.
        window: probed batches over which a ReLU unit must stay silent to count as dead.
        warn: print each new finding as soon as it appears (live warnings).
        summary: print the full report when training ends.
        stream: where to print (stderr by default).

    After ``fit``, ``callback.report`` holds the Report. When the loss turns NaN/Inf, the callback
    replays that batch under ``detect_anomaly`` (the weights are still those that produced it) and
    the report names the first op that made it.
    """

    def __init__(self, every: int = 10, window: int = 4, warn: bool = True, summary: bool = True, stream=None):
        self.schedule = Schedule(every=every)
        self.window, self.warn, self.summary = window, warn, summary
        self.stream = stream or sys.stderr
        self.report: Report | None = None
        self.recorder: Recorder | None = None
        self.anomaly: str | None = None
        self._warned: set = set()
        self._inputs = None
        self._handle = None
        self._loss_fn = None

    def on_train_begin(self, logs):
        trainer = self.trainer
        self.recorder = Recorder(trainer.model, self.schedule, self.window)
        self._handle = trainer.model.register_forward_pre_hook(self._keep_inputs)
        self._loss_fn = trainer.loss_fn
        trainer.loss_fn = self._watched_loss

    def _keep_inputs(self, module, inputs):
        self._inputs = inputs
        return None

    def _watched_loss(self, output, target):
        loss = self._loss_fn(output, target)
        if self.anomaly is None and isinstance(loss, Tensor) and loss.requires_grad \
                and not numpy.isfinite(loss.data).all() and self._inputs is not None:
            self.recorder.paused = True
            self.trainer.loss_fn = self._loss_fn  # the replay must not recurse into this wrapper
            try:
                self.anomaly = locate_nonfinite(self.trainer.model, self._loss_fn, self._inputs[0], target)
            finally:
                self.trainer.loss_fn = self._watched_loss
                self.recorder.paused = False
        return loss

    def on_batch_begin(self, batch, logs):
        self.recorder.begin_step(self.trainer.global_step)

    def on_batch_end(self, batch, logs):
        step = self.trainer.global_step - 1
        probe = self.recorder.end_step(step, logs["loss"])
        if probe is not None and self.warn and self._check_now():
            for finding in rules.evaluate(self.recorder, {"anomaly": self.anomaly}):
                if finding.name not in self._warned:
                    self._warned.add(finding.name)
                    print(f"doctor: step {step}: {finding.title}: {finding.evidence[0]}", file=self.stream, flush=True)

    def _check_now(self) -> bool:
        """Live checks every ``window`` probes, and every n/10 probes once there are n > 10 windows of
        them: a check reads the whole history (O(n)), so the cost per probe stays constant."""
        n = len(self.recorder.probes)
        return n >= self.window and n % max(self.window, n // 10) == 0

    def on_epoch_end(self, epoch, logs):
        if "val_loss" in logs:
            metrics = {"loss": logs["val_loss"]}
            if "val_accuracy" in logs:
                metrics["accuracy"] = logs["val_accuracy"]
            self.recorder.add_validation(self.trainer.global_step - 1, metrics)

    def on_train_end(self, logs):
        self._detach()
        self.report = make_report(self.recorder, "training run", anomaly=self.anomaly)
        if self.summary:
            print(self.report, file=self.stream, flush=True)

    def on_interrupt(self, logs):
        self._detach()

    def _detach(self):
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if self._loss_fn is not None:
            self.trainer.loss_fn = self._loss_fn
            self._loss_fn = None
