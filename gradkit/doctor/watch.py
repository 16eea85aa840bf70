"""``watch``: the doctor inside any training loop (gradkit or PyTorch), through hooks only.

    with gk.doctor.watch(model, optimizer, every=10) as w:
        for x, y in loader:                 # the user's own loop, unchanged
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    print(w.report())

What it attaches, for the duration of the ``with`` block only:

* a forward pre-hook on the model: the first gradient-enabled forward call after an optimiser step
  opens a step; on a measured step the recorder's hooks go on the layers (``recorder.py``);
* a hook on every ``backward`` call of the framework's tensors: the loss of the step (its value) and,
  on a measured step, whether the gradients of the previous step were still there (never zeroed);
* step hooks on the optimiser: the step ends when ``optimizer.step()`` returns.

Every hook reads values and returns None, so the loop computes the same numbers, bit for bit, with and
without the watch (``tests/doctor/test_watch.py``). All hooks are removed on exit, also when the loop
raises. Without an optimiser a step ends at the next training forward call after a backward call.
"""
from __future__ import annotations

import math

import numpy

from . import probes
from . import quantities as q
from .adapters import for_model
from .recorder import Recorder
from .schedule import Schedule


# Rows of each batch fingerprinted until the data comes round again: with 16 of every batch known after
# one epoch, a second-epoch batch of 64 holds one of them with probability 1 - (1 - 1/4)^16 > 0.99.
FINGERPRINT_ROWS = 16


class Watch:
    """Observe a training loop; ``report()`` says what is wrong with it.

    Args:
        model: the model the loop trains (gradkit or PyTorch module).
        optimizer: its optimiser (recommended: steps, stale gradients and eval mode are read at its step).
        every: measure every this many optimiser steps (the first step is always measured).
        window: measured batches over which a ReLU unit must stay silent to count as dead.
        title: a heading for the report.
        loss_from_backward: read each step's loss from the tensor ``backward`` is called on (patching the
            framework's ``Tensor.backward`` while the watch is open); a caller that knows the loss
            (the Trainer's doctor callback) turns it off and calls ``end_step(loss)`` itself.
        also: further steps to measure (``diagnose`` measures the last one).
    """

    def __init__(self, model, optimizer=None, every: int = 10, window: int = 4, title: str = "",
                 loss_from_backward: bool = True, also=()):
        self.adapter = for_model(model)
        self.model, self.optimizer, self.title = model, optimizer, title
        self.recorder = Recorder(model, Schedule(every=every, also=also), window, adapter=self.adapter)
        self.loss_from_backward = loss_from_backward
        self.step = 0                 # optimiser steps seen
        self.anomaly: str | None = None
        self._handles: list = []
        self._loss: float | None = None
        self._open = False            # a training forward happened since the last step ended
        self._backward_seen = False   # a backward happened in the open step
        self._seen: set = set()       # fingerprints of (some) examples trained on
        self._repeated = False        # an example came back: the model has seen the data once
        self._new_batch = False
        self._params = self.adapter.optimizer_params(optimizer) if optimizer is not None else None

    # ------------------------------------------------------------------ attaching
    def __enter__(self) -> "Watch":
        self.attach()
        return self

    def __exit__(self, *exc) -> bool:
        self.detach()
        return False

    def attach(self) -> None:
        if self._handles:
            return
        a = self.adapter
        self._handles.append(self.model.register_forward_pre_hook(self._on_forward))
        if self.loss_from_backward:
            self._handles.append(a.backward_hook(self._on_backward))
        if self.optimizer is not None and self.loss_from_backward:
            self._handles.append(a.step_hooks(self.optimizer, self._before_step, self._after_step))

    def detach(self) -> None:
        """Remove every hook (and close a step left open by a loop without an optimiser)."""
        if self._open and self.optimizer is None and self._backward_seen:
            self.end_step(self._loss)
        for handle in reversed(self._handles):
            handle.remove()
        self._handles = []
        self.recorder.abort_step()   # a step the loop left half done (it raised) is not recorded

    # ------------------------------------------------------------------ hooks
    def _on_forward(self, module, inputs):
        rec = self.recorder
        if rec.paused or not self.adapter.grad_enabled():
            return None   # evaluation: not a training step
        if self._open and self._backward_seen and self.optimizer is None:
            self.end_step(self._loss)
        if self._open:
            return None   # a second forward call in the same step (gradient accumulation)
        self._open = True
        self._fingerprint(inputs)
        if rec.schedule(self.step):
            rec.begin_step(self.step)
        return None

    def _fingerprint(self, inputs) -> None:
        """Is this batch new to the model? Until the first example comes back (the end of the first
        epoch, for a loader that goes through the data), every batch is; after it, none is counted as
        new. A few rows per batch are enough to see the return: in the second epoch a batch holds
        examples from every part of the first (``FINGERPRINT_ROWS`` rows of each step, so after one
        epoch that share of the data is known), and the check stops once it has fired."""
        if self._repeated:
            self._new_batch = False
            return
        x = next((v for v in inputs if self.adapter.is_tensor(v)), None)
        if x is None or len(x.shape) == 0:
            self._new_batch = False
            return
        keys = set(probes.row_fingerprints(self.adapter.numpy(x[:FINGERPRINT_ROWS])).tolist())
        self._repeated = not self._seen.isdisjoint(keys)
        self._new_batch = not self._repeated
        self._seen = set() if self._repeated else self._seen | keys

    def _on_backward(self, tensor) -> None:
        if not self._open:
            return   # not this model's step (another model trained in the same process)
        value = self.adapter.scalar(tensor)
        if value is not None:
            self._loss = value
        if not self._backward_seen and self._params is not None and self.recorder.measuring:
            # the first backward of the step: what .grad still holds was never zeroed
            held = [g for g in (self.adapter.grad(p) for p in self._params) if g is not None]
            carried = sum(bool(numpy.any(g)) for g in held)
            self.recorder._current.model[q.CARRIED_GRADS] = carried / max(len(self._params), 1)
        self._backward_seen = True

    def _before_step(self) -> None:
        if self.recorder.measuring and self._params is not None:
            norms = [n for n in map(self.recorder.grad_norm, self._params) if n is not None]
            self.recorder._current.model[q.TOTAL_GRAD_NORM] = math.sqrt(sum(n * n for n in norms))

    def _after_step(self) -> None:
        self.end_step(self._loss)

    # ------------------------------------------------------------------ steps
    def end_step(self, loss: float | None) -> None:
        """Close the current step with its loss (the hooks call it; so does the Trainer's doctor callback)."""
        if loss is not None and self._new_batch and math.isfinite(loss):
            self.recorder.unseen.append((self.step, float(loss)))
        self.recorder.end_step(self.step, loss)
        self.step += 1
        self._open = self._backward_seen = self._new_batch = False
        self._loss = None

    # ------------------------------------------------------------------ the verdict
    def report(self, final: dict | None = None):
        """The Report of what was measured so far; findings name the line to change in the loop."""
        from .doctor import make_report
        return make_report(self.recorder, self.title or "watched training loop", final, self.anomaly,
                           loop="user" if self.loss_from_backward else "trainer")


def watch(model, optimizer=None, every: int = 10, window: int = 4, title: str = "") -> Watch:
    """Watch a training loop: ``with gk.doctor.watch(model, optimizer) as w: ...`` then ``w.report()``.

    See ``Watch``. Works for gradkit and PyTorch models and optimisers; changes no number the loop computes."""
    return Watch(model, optimizer, every, window, title)
