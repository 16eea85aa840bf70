"""``DoctorCallback``: the doctor inside a Trainer (and the probe run of ``diagnose``, which trains through one).

The callback opens a ``Watch`` on the trainer's model for the run: the watch's forward hooks measure
the scheduled steps; the callback closes each step with the loss the Trainer computed, reads the
step's context (outputs and targets: is the loss cross-entropy applied to probabilities?), and on a
NaN/Inf loss or gradient replays the batch under ``detect_anomaly`` before the weights are touched.
Nothing of the trainer is swapped: the loss function and the model are left as they are.
"""
from __future__ import annotations

import math
import sys

import numpy

from ..train.callbacks import Callback
from . import probes, rules
from . import quantities as q
from .watch import Watch


class DoctorCallback(Callback):
    """The doctor inside a Trainer: probes on a schedule, warns when a finding appears, summarises at the end.

    Args:
        every: probe every this many steps.
        window: probed batches over which a ReLU unit must stay silent to count as dead.
        warn: print each new finding as soon as it appears (live warnings).
        summary: print the full report when training ends.
        stream: where to print (stderr by default).
        stop_on_nonfinite: skip the step and stop training at the first NaN/Inf loss or gradient
            (``diagnose`` does: nothing more is learnt once the weights are NaN).

    After ``fit``, ``callback.report`` holds the Report. When the loss turns NaN/Inf, the callback
    replays that batch under ``detect_anomaly`` (the weights are still those that produced it) and
    the report names the first op that made it (gradkit models).
    """

    def __init__(self, every: int = 10, window: int = 4, warn: bool = True, summary: bool = True, stream=None,
                 stop_on_nonfinite: bool = False, title: str = "training run", also=()):
        self.every, self.window, self.warn, self.summary = every, window, warn, summary
        self.stream = stream or sys.stderr
        self.stop_on_nonfinite, self.title, self.also = stop_on_nonfinite, title, also
        self.report = None
        self.watch: Watch | None = None
        self._warned: set = set()

    @property
    def recorder(self):
        return self.watch.recorder if self.watch is not None else None

    @property
    def anomaly(self):
        return self.watch.anomaly if self.watch is not None else None

    def on_train_begin(self, logs):
        self.watch = Watch(self.trainer.model, self.trainer.optimizer, self.every, self.window, self.title,
                           loss_from_backward=False, also=self.also)
        self.watch.attach()

    def on_before_step(self, context):
        watch = self.watch
        loss = float(context.loss.data) if hasattr(context.loss, "data") else float(context.loss)
        finite = math.isfinite(loss) and all(
            g is None or probes.all_finite(g) for g in map(watch.adapter.grad, watch._params or ()))
        if finite:
            return
        if watch.anomaly is None and watch.adapter.name == "gradkit":
            from ..autograd.anomaly import locate_nonfinite
            watch.recorder.paused = True
            try:
                watch.anomaly = locate_nonfinite(context.model, self.trainer.loss_fn, context.inputs, context.targets)
            finally:
                watch.recorder.paused = False
        if self.stop_on_nonfinite:
            context.skip_step = True   # the weights would turn NaN: nothing more to learn from this run
            self.trainer.stop_training = True

    def on_batch_end(self, batch, logs):
        watch = self.watch
        step = watch.step
        if watch.recorder.measuring:
            self._check_loss_of_probabilities(watch)
        n = len(watch.recorder.probes)
        watch.end_step(logs["loss"])
        probed = len(watch.recorder.probes) > n
        if probed and self.warn and self._check_now():
            for finding in rules.evaluate(watch.recorder, {"anomaly": watch.anomaly}):
                if finding.name not in self._warned:
                    self._warned.add(finding.name)
                    print(f"doctor: step {step}: {finding.title}: {finding.evidence[0]}", file=self.stream, flush=True)

    def _check_loss_of_probabilities(self, watch):
        """Where the outputs are probabilities and the targets class indices: is the loss the
        cross-entropy of those outputs taken as logits (softmax applied twice)?"""
        probe, context = watch.recorder._current, self.trainer.context
        if not probe.model.get(q.OUTPUT_PROBABILITIES) or context is None:
            return
        p = watch.adapter.numpy(context.output).astype(numpy.float64)
        y = watch.adapter.numpy(context.targets)
        if y.ndim != 1 or not numpy.issubdtype(y.dtype, numpy.integer):
            return
        shifted = p - p.max(axis=1, keepdims=True)
        log_softmax = shifted - numpy.log(numpy.exp(shifted).sum(axis=1, keepdims=True))
        again = float(-log_softmax[numpy.arange(len(y)), y].mean())
        loss = float(context.loss.data) if hasattr(context.loss, "data") else float(context.loss)
        probe.model["loss_is_softmax_again"] = abs(again - loss) <= 1e-4 * max(1.0, abs(loss))

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
        self.watch.detach()
        self.report = self.watch.report()
        if self.summary:
            print(self.report, file=self.stream, flush=True)

    def on_interrupt(self, logs):
        self.watch.detach()
