"""ReduceLROnPlateau: lower the lr when a watched metric stops improving."""
from __future__ import annotations

import math

from .optimizer import Optimizer, check_count, check_range
from .schedule import LRScheduler


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` after more than ``patience`` epochs without improvement.

    Exactly ``torch.optim.lr_scheduler.ReduceLROnPlateau``. A metric m improves on the best b when
    m < b (1 - threshold) (mode "min", threshold_mode "rel"), m < b - threshold ("abs"), and
    mirrored for mode "max". After a reduction, ``cooldown`` epochs pass before bad epochs count
    again; the lr never goes below ``min_lr`` and changes smaller than ``eps`` are skipped.

    Args:
        optimizer: the optimiser.
        mode: "min" (a loss) or "max" (an accuracy).
        factor: in [0, 1).
        patience: bad epochs tolerated before a reduction.
        threshold, threshold_mode: what counts as an improvement.
        cooldown: epochs to wait after a reduction.
        min_lr: a floor, one for all groups or a list with one per group.
        eps: the smallest change of lr worth making.

    Example:
        >>> schedule = ReduceLROnPlateau(opt, patience=2)
        >>> schedule.step(val_loss)       # once per epoch, with the metric
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0.0,
                 eps: float = 1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected an Optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: invalid mode = {mode!r}; expected 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: invalid threshold_mode = {threshold_mode!r}; expected 'rel' or 'abs'")
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"ReduceLROnPlateau: expected {groups} min_lr values (one per group), got {len(min_lr)}")
            self.min_lrs = [check_range("ReduceLROnPlateau", "min_lr", m) for m in min_lr]
        else:
            self.min_lrs = [check_range("ReduceLROnPlateau", "min_lr", min_lr)] * groups
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = check_range("ReduceLROnPlateau", "factor", factor, 0.0, 1.0, high_open=True)
        self.patience = check_count("ReduceLROnPlateau", "patience", patience, low=0)
        self.threshold = check_range("ReduceLROnPlateau", "threshold", threshold)
        self.cooldown = check_count("ReduceLROnPlateau", "cooldown", cooldown, low=0)
        self.eps = check_range("ReduceLROnPlateau", "eps", eps)
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0
        self._last_lr = self._lrs()

    def is_better(self, value: float, best: float) -> bool:
        if self.mode == "min":
            return value < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else value < best - self.threshold
        return value > best * (1.0 + self.threshold) if self.threshold_mode == "rel" else value > best + self.threshold

    def step(self, metric) -> None:
        """Record this epoch's metric (a number or a one-element Tensor) and reduce the lr if due."""
        current = metric.item() if hasattr(metric, "item") else float(metric)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, floor)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._lrs()
