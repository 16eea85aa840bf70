"""What many experiments share: the data as flat arrays, the book's training loops, accuracy, smoothing.

The loops are the ones of *Deep Learning from Scratch*, chapter 6, which the source articles follow:
every iteration draws a mini-batch at random (with replacement) from the training set; an "epoch" is
``max(n_train / batch_size, 1)`` iterations. The steps are taken by the
Trainer's own loop (``Trainer.fit`` over a loader that draws the book's batches).
"""
from __future__ import annotations

import functools
import math

import numpy

from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor


@functools.lru_cache(maxsize=4)
def _load(name: str):
    from ..data import load
    train, test = load(name)
    flat = lambda d: (d.images.reshape(len(d), -1).astype(numpy.float32) / 255.0, d.labels.astype(numpy.int64))
    return flat(train) + flat(test)


def load_flat(name: str = "mnist-10k", n_train: int | None = None, n_test: int | None = None):
    """``(x_train, y_train, x_test, y_test)``: images flattened to rows of pixels in [0, 1] (the book's
    ``normalize=True``), int64 labels; the first ``n_train`` / ``n_test`` samples when given."""
    x_train, y_train, x_test, y_test = _load(name)
    for label, n, have in (("n_train", n_train, len(x_train)), ("n_test", n_test, len(x_test))):
        if n is not None and not 0 < n <= have:
            raise ValueError(f"load_flat: {label}={n} but {name} has {have} samples")
    return x_train[:n_train], y_train[:n_train], x_test[:n_test], y_test[:n_test]


def trainer(model, optimizer, loss_fn=None, clip_grad_norm=None):
    """A Trainer with no metrics and no callbacks of its own."""
    from ..train import Trainer
    return Trainer(model, optimizer, loss_fn=loss_fn, metrics=(), clip_grad_norm=clip_grad_norm, rng=0)


class BookBatches:
    """The book's sampling as a loader: ``iterations`` mini-batches, each drawn at random (with
    replacement across batches) from ``rng`` as the loop goes, the whole set when it is smaller."""

    def __init__(self, x, y, iterations: int, batch_size: int, rng):
        self.x, self.y, self.iterations, self.batch_size, self.rng = x, y, iterations, batch_size, rng

    def __len__(self):
        return self.iterations

    def __iter__(self):
        n = len(self.x)
        for _ in range(self.iterations):
            index = self.rng.choice(n, self.batch_size) if self.batch_size < n else numpy.arange(n)
            yield self.x[index], self.y[index]


def train_iterations(model, optimizer, x, y, iterations: int, batch_size: int, rng, loss_fn=None,
                     clip_grad_norm=None, on_step=None, stop_on_nan: bool = True) -> list[float]:
    """``iterations`` steps on random mini-batches, through ``Trainer.fit``; returns the loss of every step.

    ``on_step(step, logs)`` is called after each step (logs has "loss"). With ``stop_on_nan`` the loop
    ends at the first non-finite loss (it is recorded, so the curve shows where training died)."""
    from ..train.callbacks import Callback
    losses = []

    class Steps(Callback):
        def on_before_step(self, context):
            if not math.isfinite(float(context.loss.data)):
                # the book's loop takes this step too, NaN and all (the curve shows where training died),
                # where the Trainer would stop before it: take it here and tell the Trainer it is done
                context.optimizer.step()
                context.skip_step = True

        def on_batch_end(self, batch, logs):
            losses.append(logs["loss"])
            if on_step is not None:
                on_step(batch, logs)
            if stop_on_nan and not math.isfinite(logs["loss"]):
                self.trainer.stop_training = True

    if iterations > 0:
        trainer(model, optimizer, loss_fn, clip_grad_norm).fit(
            BookBatches(x, y, iterations, batch_size, rng), epochs=1, callbacks=[Steps()], verbose=False)
    return losses


def iterations_per_epoch(n_train: int, batch_size: int) -> int:
    """The book's epoch: ``max(n_train / batch_size, 1)`` iterations (rounded down)."""
    return max(n_train // batch_size, 1)


def train_epochs(model, optimizer, x, y, epochs: int, batch_size: int, rng, evaluate: dict | None = None,
                 loss_fn=None, clip_grad_norm=None) -> dict:
    """``epochs`` book epochs; after each, the accuracy on every ``name: (x, y)`` of ``evaluate``.

    Returns ``{"loss": [per step], "<name>_accuracy": [per epoch, the first entry before training]}``."""
    evaluate = evaluate or {}
    curves = {f"{name}_accuracy": [accuracy(model, *xy)] for name, xy in evaluate.items()}
    losses = []
    per_epoch = iterations_per_epoch(len(x), batch_size)
    for _ in range(epochs):
        epoch_losses = train_iterations(model, optimizer, x, y, per_epoch, batch_size, rng, loss_fn, clip_grad_norm)
        losses += epoch_losses
        for name, xy in evaluate.items():
            curves[f"{name}_accuracy"].append(accuracy(model, *xy))
        if not math.isfinite(epoch_losses[-1]):
            break
    curves["loss"] = losses
    return curves


def accuracy(model, x, y, batch_size: int = 2000) -> float:
    """Share of correct predictions, in eval mode (dropout off, batch norm on running statistics)."""
    was_training = model.training
    model.eval()
    correct = 0
    try:
        with no_grad():
            for start in range(0, len(x), batch_size):
                scores = model(x[start:start + batch_size]).data
                correct += int((scores.argmax(axis=1) == y[start:start + batch_size]).sum())
    finally:
        model.train(was_training)
    return correct / len(x)


def mean_loss(model, x, y, loss_fn=None) -> float:
    """The loss over all of ``(x, y)`` in eval mode, without a graph."""
    from ..functional import cross_entropy
    loss_fn = loss_fn or cross_entropy
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return float(loss_fn(model(x), y).data)
    finally:
        model.train(was_training)


def smooth(values, window: int = 25) -> list[float]:
    """Moving average over ``window`` steps (shorter at the start), for loss curves."""
    values = numpy.asarray(values, dtype=numpy.float64)
    if len(values) == 0:
        return []
    window = max(1, min(window, len(values)))
    cumulative = numpy.cumsum(numpy.insert(values, 0, 0.0))
    end = numpy.arange(1, len(values) + 1)
    start = numpy.maximum(0, end - window)
    out = (cumulative[end] - cumulative[start]) / (end - start)
    return out.tolist()


def tail_mean(values, share: float = 0.1) -> float:
    """Mean of the last ``share`` of ``values`` (at least one): a steady "final loss" of a noisy curve."""
    values = list(values)
    if not values:
        return float("nan")
    k = max(1, int(round(len(values) * share)))
    return float(numpy.mean(values[-k:]))


def linear_weights(model) -> list:
    """The weight Parameters of every Linear layer, input to output (what the book's per-layer plots use)."""
    from ..nn.layers import Linear
    return [m.weight for m in model.modules() if isinstance(m, Linear)]


def grad_norms(parameters) -> list[float]:
    """2-norm of each parameter's gradient (0 for a missing gradient)."""
    out = []
    for p in parameters:
        g = p.grad
        out.append(0.0 if g is None else float(numpy.linalg.norm((g.data if isinstance(g, Tensor) else g).ravel())))
    return out
