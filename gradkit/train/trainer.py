"""Trainer: the training loop. It does the step; callbacks do everything else.

    trainer = Trainer(model, optimizer)                      # cross-entropy and accuracy by default
    history = trainer.fit(train, epochs=5, batch_size=100, val=test)
    trainer.evaluate(test)  ->  {"loss": ..., "accuracy": ...}

Ctrl-C during ``fit`` finishes the current step, tells the callbacks (a Checkpoint callback saves
``last.npz``) and returns; ``fit(..., resume=path)`` continues from a checkpoint bit for bit: same
weights, optimiser state, shuffling, dropout masks and step counters as a run never interrupted.
"""
from __future__ import annotations

import math
import numbers
import signal
import threading
import time

import numpy

from .. import backend
from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..errors import ArgumentError, CheckpointError, DataError
from . import checkpoint as ckpt
from . import nonfinite
from .callbacks import Callback, History, ProgressBar


def accuracy(logits, target) -> float:
    """Share of rows whose largest logit is at the target class (int labels or one-hot rows)."""
    scores = logits.data if isinstance(logits, Tensor) else logits
    labels = target.data if isinstance(target, Tensor) else numpy.asarray(target)
    if labels.ndim == scores.ndim:
        labels = labels.argmax(axis=-1)
    return float((scores.argmax(axis=-1) == labels).mean())


METRICS = {"accuracy": accuracy}


class Trainer:
    """Fit ``model`` with ``optimizer`` on mini-batches.

    Args:
        model: a gradkit.nn.Module.
        optimizer: a gradkit.optim optimizer over the model's parameters.
        loss_fn: ``loss_fn(output, target) -> scalar Tensor``; cross-entropy by default.
        metrics: names from METRICS or callables ``(output, target) -> float``.
        callbacks: Callback objects used by every ``fit``.
        clip_grad_norm: if set, clip the global gradient 2-norm to this value before each step.
        rng: Generator or seed for shuffling (bit-exact resume restores it); None derives one from
            the global generator, so ``gk.manual_seed`` fixes it.
        on_nonfinite: in ``fit``, a NaN/Inf loss ``"stop"``s training with NonFiniteError naming the epoch,
            the step and the source (before the step, so the weights stay finite), or ``"warn"``s once
            and goes on. A bare ``train_step`` returns the loss whatever it is.
    """

    def __init__(self, model, optimizer, loss_fn=None, metrics=("accuracy",), callbacks=(),
                 clip_grad_norm: float | None = None, rng=0, on_nonfinite: str = "stop"):
        if loss_fn is None:
            from ..functional import cross_entropy as loss_fn
        if clip_grad_norm is not None and clip_grad_norm <= 0:
            raise ValueError(f"Trainer: clip_grad_norm must be > 0, got {clip_grad_norm}")
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.metrics = {(m if isinstance(m, str) else m.__name__): (METRICS[m] if isinstance(m, str) else m)
                        for m in metrics}
        self.callbacks: list[Callback] = list(callbacks)
        self.clip_grad_norm = clip_grad_norm
        self.on_nonfinite, self._warned_nonfinite, self._fitting = nonfinite.check_mode(on_nonfinite), False, False
        # None: a child of the global generator (gk.manual_seed decides it), never the global one
        # itself, because resuming rewinds the shuffling generator
        self.rng = backend.resolve_rng(rng) if rng is not None else backend.default_rng().spawn(1)[0]
        self.epoch = 0            # epochs completed
        self.global_step = 0      # optimiser steps taken
        self.batch = 0            # batches done in the current epoch
        self.stop_training = False
        self.interrupted = False
        self._train_loader = None
        self._loader_state = None
        self._sums, self._seen = {}, 0

    # ------------------------------------------------------------------ one step
    def train_step(self, x, y) -> dict:
        """Forward, backward, (clip,) step; returns the batch's loss and metrics."""
        output = self.model(x)
        loss = self.loss_fn(output, y)
        self.optimizer.zero_grad()
        loss.backward()
        logs = {"loss": float(loss.data)}
        if self._fitting and not math.isfinite(logs["loss"]):   # a bare train_step returns the loss as it is
            nonfinite.handle(self, x, y, logs["loss"])   # raises unless on_nonfinite="warn"
        if self.clip_grad_norm is not None:
            from ..optim import clip_grad_norm_
            logs["grad_norm"] = clip_grad_norm_(self.model.parameters(), self.clip_grad_norm).item()
        self.optimizer.step()
        for name, fn in self.metrics.items():
            logs[name] = fn(output, y)
        return logs

    # ------------------------------------------------------------------ loops
    def _loader(self, data, batch_size, shuffle, rng=None):
        from ..data import DataLoader
        if isinstance(data, DataLoader):
            return data
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, rng=rng)

    def fit(self, train, epochs: int = 1, batch_size: int = 32, val=None, shuffle: bool = True, callbacks=(),
            verbose: bool = True, resume: str | None = None) -> History:
        """Train until ``epochs`` epochs are complete (counting those of a resumed run).

        Returns the History callback (``history["val_accuracy"]``...)."""
        for name, value, low in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ArgumentError(f"fit: {name} must be a whole number >= {low}, got {value!r}")
        cbs = list(self.callbacks) + list(callbacks)
        history = next((c for c in cbs if isinstance(c, History)), None)
        if history is None:
            history = History()
            cbs.insert(0, history)
        if verbose and not any(isinstance(c, ProgressBar) for c in cbs):
            cbs.append(ProgressBar())
        self._active = cbs
        for c in cbs:
            c.trainer = self
        self._train_loader = loader = self._loader(train, batch_size, shuffle, rng=self.rng)
        if len(loader) == 0:
            raise DataError(f"fit: the training data gives no batch ({len(loader.dataset)} samples, "
                            f"batch_size={loader.batch_size}); an empty data set cannot be trained on")
        self._loader_state = None
        if resume is not None:
            self.load(resume)
        self.stop_training = self.interrupted = False
        previous_handler = self._catch_interrupt()
        self._fitting = True
        try:
            self._emit("on_train_begin", {"epochs": epochs})
            while self.epoch < epochs and not self.stop_training:
                self._run_epoch(loader, epochs, val, batch_size)
                if self.interrupted:
                    self._emit("on_interrupt", {"epoch": self.epoch, "batch": self.batch})
                    break
            if not self.interrupted:
                self._emit("on_train_end", {})
        finally:
            self._fitting = False
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        return history

    def _run_epoch(self, loader, epochs, val, batch_size):
        logs = {"epochs": epochs, "batches": len(loader)}
        self._emit("on_epoch_begin", self.epoch, logs)
        start = time.perf_counter()
        self.model.train()
        if self.batch == 0:
            self._sums, self._seen = {}, 0  # running totals of the epoch (kept across a resume)
        sums = self._sums
        for x, y in loader:  # a resumed loader starts at the batch where it stopped
            self._emit("on_batch_begin", self.batch, {})
            batch_logs = self.train_step(x, y)
            self.global_step += 1
            self.batch += 1
            n = len(x)
            self._seen += n
            for k, v in batch_logs.items():
                sums[k] = sums.get(k, 0.0) + v * n
            self._emit("on_batch_end", self.batch - 1, batch_logs)
            if self.interrupted:
                self._loader_state = loader.state_dict()  # the position inside this epoch
                return
            if self.stop_training:
                break
        epoch_logs = {k: v / max(self._seen, 1) for k, v in sums.items()}
        if val is not None:
            epoch_logs.update({f"val_{k}": v for k, v in self.evaluate(val, batch_size=max(batch_size, 256)).items()})
        epoch_logs["lr"] = self.optimizer.param_groups[0]["lr"]
        epoch_logs["time"] = time.perf_counter() - start
        self.epoch += 1
        self.batch = 0
        self._emit("on_epoch_end", self.epoch - 1, epoch_logs)

    def evaluate(self, data, batch_size: int = 256) -> dict:
        """Mean loss and metrics over ``data`` in eval mode, without a graph."""
        was_training = self.model.training
        self.model.eval()
        sums, seen = {}, 0
        try:
            with no_grad():
                for x, y in self._loader(data, batch_size, shuffle=False):
                    output = self.model(x)
                    n = len(x)
                    seen += n
                    sums["loss"] = sums.get("loss", 0.0) + float(self.loss_fn(output, y).data) * n
                    for name, fn in self.metrics.items():
                        sums[name] = sums.get(name, 0.0) + fn(output, y) * n
        finally:
            self.model.train(was_training)
        return {k: v / max(seen, 1) for k, v in sums.items()}

    def predict(self, data, batch_size: int = 256) -> numpy.ndarray:
        """The model's outputs over ``data`` (eval mode, no graph), as one array."""
        was_training = self.model.training
        self.model.eval()
        outputs = []
        try:
            with no_grad():
                for batch in self._loader(data, batch_size, shuffle=False):
                    x = batch[0] if isinstance(batch, (tuple, list)) else batch
                    outputs.append(backend.to_numpy(self.model(x).data))
        finally:
            self.model.train(was_training)
        return numpy.concatenate(outputs)

    # ------------------------------------------------------------------ callbacks and signals
    def _emit(self, hook: str, *args):
        for c in self._active:
            getattr(c, hook)(*args)

    def _catch_interrupt(self):
        """Turn Ctrl-C into a clean stop after the current step (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            if self.interrupted:  # a second Ctrl-C stops at once
                raise KeyboardInterrupt
            self.interrupted = True
        return signal.signal(signal.SIGINT, handler)

    # ------------------------------------------------------------------ checkpoints
    def _module_rngs(self):
        for name, module in self.model.named_modules():
            for attr, value in vars(module).items():
                if isinstance(value, numpy.random.Generator):
                    yield f"{name or '<root>'}.{attr}", value

    def state_dict(self) -> dict:
        """Everything needed to continue this run exactly."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "optimizer_type": type(self.optimizer).__name__,
            "epoch": self.epoch, "global_step": self.global_step, "batch": self.batch,
            "epoch_totals": {"sums": self._sums, "seen": self._seen},
            "loader": self._loader_state or (self._train_loader.state_dict() if self._train_loader else None),
            "rng": {"global": backend.default_rng().bit_generator.state,
                    "modules": {k: g.bit_generator.state for k, g in self._module_rngs()}},
            "callbacks": {f"{i}:{type(c).__name__}": c.state_dict() for i, c in enumerate(getattr(self, "_active", self.callbacks))},
        }

    def check_checkpoint(self, path) -> dict:
        """Read ``path`` and check that it fits this trainer, without changing anything; returns its state."""
        state = ckpt.validate_run_state(ckpt.load(path), path)
        try:
            ckpt.check_compatible(self.model.state_dict(), state["model"], "model")
        except CheckpointError as err:
            raise CheckpointError(f"{path}: {err}") from None
        saved, mine = state.get("optimizer_type"), type(self.optimizer).__name__
        if saved is not None and saved != mine:
            raise CheckpointError(f"{path}: written by a run with optimizer {saved}, this run uses {mine}")
        loader = state.get("loader")
        if loader is not None and self._train_loader is not None:
            for key, value in (("batch_size", self._train_loader.batch_size), ("length", len(self._train_loader.dataset))):
                if key in loader and loader[key] != value:
                    what = "batch size" if key == "batch_size" else "number of training samples"
                    raise CheckpointError(f"{path}: written by a run with {what} {loader[key]}, this run has {value}")
        return state

    def save(self, path: str) -> str:
        """Write a checkpoint of this run atomically."""
        return ckpt.save(path, self.state_dict())

    def load(self, path: str) -> None:
        """Restore a checkpoint written by ``save`` (the data loader's position too, inside ``fit``).

        Raises CheckpointError naming the file and every part that does not fit (model tensors,
        optimiser, batch size, data size)."""
        state = self.check_checkpoint(path)
        try:   # a well-formed file may still hold damaged values: name the file, whatever part fails
            self._restore(state)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
            raise CheckpointError(f"{path}: does not fit this run: {type(err).__name__}: {err}") from None

    def _restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("loader") is not None and self._train_loader is not None:
            self._train_loader.load_state_dict(state["loader"])
        self.epoch, self.global_step, self.batch = state["epoch"], state["global_step"], state["batch"]
        totals = state.get("epoch_totals", {"sums": {}, "seen": 0})
        self._sums, self._seen = dict(totals["sums"]), totals["seen"]
        rng = state["rng"]
        backend.default_rng().bit_generator.state = rng["global"]
        module_rngs = dict(self._module_rngs())
        for key, value in rng["modules"].items():
            if key in module_rngs:
                module_rngs[key].bit_generator.state = value
        saved = state.get("callbacks", {})
        for i, c in enumerate(getattr(self, "_active", self.callbacks)):
            key = f"{i}:{type(c).__name__}"
            if key in saved:
                c.load_state_dict(saved[key])
