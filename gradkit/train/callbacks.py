"""Callbacks: everything the training loop does besides the step itself.

The Trainer calls ``on_train_begin``, ``on_epoch_begin``, ``on_batch_begin``, ``on_batch_end``,
``on_epoch_end``, ``on_train_end`` (Keras's lifecycle) with a ``logs`` dict, and
``on_interrupt`` when Ctrl-C stops a run. A callback stops training by setting
``trainer.stop_training``. A callback with state worth resuming implements ``state_dict`` /
``load_state_dict``; the Trainer's checkpoints carry it.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys

import numpy


class Callback:
    """Base class: every hook does nothing. ``self.trainer`` is set by the Trainer."""

    trainer = None

    def on_train_begin(self, logs): pass
    def on_epoch_begin(self, epoch, logs): pass
    def on_batch_begin(self, batch, logs): pass
    def on_batch_end(self, batch, logs): pass
    def on_epoch_end(self, epoch, logs): pass
    def on_train_end(self, logs): pass
    def on_interrupt(self, logs): pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class History(Callback):
    """Records the logs of every epoch; optionally writes them to a JSONL and/or CSV file.

    The files are rewritten whole (atomically) at each epoch's end from the records held, which a
    resumed run restores from its checkpoint: an earlier run's files stay untouched until this run
    has an epoch to put in their place, and a resumed run continues them without duplicates.

    Attributes:
        epochs: list of per-epoch log dicts (loss, accuracy, val_loss, val_accuracy, lr, time ...).
    """

    def __init__(self, jsonl: str | None = None, csv_path: str | None = None):
        self.epochs: list[dict] = []
        self.jsonl, self.csv_path = jsonl, csv_path

    def on_epoch_end(self, epoch, logs):
        record = {"epoch": epoch + 1, **{k: _plain(v) for k, v in logs.items()}}
        self.epochs.append(record)
        if self.jsonl:
            _write_text(self.jsonl, "".join(json.dumps(r) + "\n" for r in self.epochs))
        if self.csv_path:
            self.write_csv(self.csv_path)

    def write_csv(self, path: str) -> None:
        keys = list(dict.fromkeys(k for r in self.epochs for k in r))
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=keys)
        writer.writeheader()
        writer.writerows(self.epochs)
        _write_text(path, text.getvalue())

    def __getitem__(self, key) -> list:
        """``history["val_accuracy"]``: that quantity over epochs."""
        return [r.get(key) for r in self.epochs]

    def state_dict(self):
        return {"epochs": self.epochs}

    def load_state_dict(self, state):
        self.epochs = list(state.get("epochs", []))


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running loss; silent when the output is not a terminal
    (or with ``enabled=False``); one summary line per epoch in every case unless ``quiet``."""

    def __init__(self, enabled: bool | None = None, quiet: bool = False, stream=None):
        self.enabled, self.quiet = enabled, quiet
        self.stream = stream or sys.stderr
        self._bar = None

    def on_epoch_begin(self, epoch, logs):
        if self.enabled is False or (self.enabled is None and not self.stream.isatty()):
            return
        from tqdm.auto import tqdm
        total = logs.get("batches")
        self._bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{logs.get('epochs', '?')}", file=self.stream,
                         leave=False, dynamic_ncols=True)

    def on_batch_end(self, batch, logs):
        if self._bar is not None:
            self._bar.update(1)
            if batch % 10 == 0:
                self._bar.set_postfix(loss=f"{logs['loss']:.4f}")

    def on_epoch_end(self, epoch, logs):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if not self.quiet:
            parts = [f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in logs.items()
                     if k not in ("batches", "epochs")]
            print(f"epoch {epoch + 1}: " + "  ".join(parts), file=self.stream, flush=True)

    def on_train_end(self, logs):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    on_interrupt = on_train_end


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs in a row (as
    Keras: with patience 2, the second epoch without improvement is the last); optionally put back
    the weights of the best epoch. A NaN or infinite value never counts as an improvement."""

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True):
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, abs(min_delta), mode
        self.restore_best_weights = restore_best_weights
        self.best, self.best_epoch, self.wait, self.best_weights = None, None, 0, None
        self.stopped_epoch = None

    def _better(self, value) -> bool:
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r} but the logs only have {sorted(logs)}; "
                           "pass validation data to fit() or monitor another quantity")
        value = logs[self.monitor]
        if _finite_number(value) and self._better(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {k: numpy.array(getattr(v, "data", v)) for k, v in
                                     self.trainer.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.trainer.stop_training = True
                self.stopped_epoch = epoch

    def on_train_end(self, logs):
        if self.stopped_epoch is not None and self.restore_best_weights and self.best_weights is not None:
            self.trainer.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.best_weights = state.get("best_weights")


LAST, BEST = "last.safetensors", "best.safetensors"


class Checkpoint(Callback):
    """Save ``last.safetensors`` every ``every`` epochs (and on Ctrl-C) and ``best.safetensors`` when
    ``monitor`` improves, in ``folder``. Files are written atomically (see gradkit.train.checkpoint).

    Only finite values of ``monitor`` compete for best, and a model with a NaN or Inf weight is never
    written: the earlier (finite) file stays in place and a warning says so."""

    def __init__(self, folder: str, every: int = 1, save_best: bool = True, monitor: str = "val_loss",
                 mode: str = "auto"):
        if every < 1:
            raise ValueError(f"Checkpoint: every must be >= 1, got {every}")
        self.folder, self.every, self.save_best, self.monitor = folder, every, save_best, monitor
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode
        self.best = None

    @property
    def last_path(self) -> str:
        return os.path.join(self.folder, LAST)

    @property
    def best_path(self) -> str:
        return os.path.join(self.folder, BEST)

    def _save(self, path: str) -> bool:
        from .checkpoint import all_finite
        if not all_finite(self.trainer.model.state_dict()):
            import warnings
            warnings.warn(f"Checkpoint: the model has non-finite weights; {path} is not overwritten",
                          RuntimeWarning, stacklevel=3)
            return False
        self.trainer.save(path)
        return True

    def on_epoch_end(self, epoch, logs):
        if (epoch + 1) % self.every == 0:
            self._save(self.last_path)
        value = logs.get(self.monitor)
        if self.save_best and _finite_number(value) and all(_finite_number(logs.get(k, 0.0)) for k in ("loss", "val_loss")):
            if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
                if self._save(self.best_path):
                    self.best = value

    def on_interrupt(self, logs):
        self._save(self.last_path)

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]


class LRSchedulerCallback(Callback):
    """Step a learning-rate scheduler every epoch (or every batch with ``interval="batch"``);
    ReduceLROnPlateau-style schedulers get the ``monitor`` value."""

    def __init__(self, scheduler, interval: str = "epoch", monitor: str | None = None):
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'batch', got {interval!r}")
        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor

    def _step(self, logs):
        if self.monitor is not None:
            self.scheduler.step(logs[self.monitor])
        else:
            self.scheduler.step()

    def on_batch_end(self, batch, logs):
        if self.interval == "batch":
            self._step(logs)

    def on_epoch_end(self, epoch, logs):
        if self.interval == "epoch":
            self._step(logs)

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        self.scheduler.load_state_dict(state["scheduler"])


class TerminateOnNaN(Callback):
    """Stop as soon as the loss is NaN or infinite, saying at which step and which loss."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.message = None

    def on_batch_end(self, batch, logs):
        loss = logs["loss"]
        if not numpy.isfinite(loss):
            t = self.trainer
            self.message = (f"TerminateOnNaN: the loss became {loss} at step {t.global_step} "
                            f"(epoch {t.epoch + 1}, batch {batch + 1}); stopping. Lower the learning rate, "
                            f"clip gradients, or run gradkit doctor to find the cause.")
            print(self.message, file=self.stream, flush=True)
            t.stop_training = True


def _plain(v):
    return v.item() if isinstance(v, numpy.generic) else v


def _ensure_folder(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)


def _write_text(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` atomically."""
    from ..data.atomic import atomic_write
    _ensure_folder(path)
    with atomic_write(path) as stream:
        stream.write(text.encode())


def _finite_number(value) -> bool:
    return isinstance(value, (int, float, numpy.number)) and not isinstance(value, bool) and math.isfinite(value)
