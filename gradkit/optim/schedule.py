"""Learning-rate schedules: the lr of each parameter group as a function of the step (or epoch).

The same sequences as ``torch.optim.lr_scheduler``, computed the same way (most schedules update
the current lr multiplicatively, which is what lets them be chained). Call ``scheduler.step()``
after ``optimizer.step()``; constructing a scheduler sets the lr for step 0.

Learning-rate decay (the source articles' 学习率衰减): large steps early, small ones once the noise
of mini-batches dominates. Example, five warm-up epochs then cosine decay::

    warmup = LinearLR(opt, start_factor=0.1, total_iters=5)
    cosine = CosineAnnealingLR(opt, T_max=95)
    schedule = SequentialLR(opt, [warmup, cosine], milestones=[5])
"""
from __future__ import annotations

import copy
import math

from .optimizer import Optimizer, check_count, check_range


class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and writes ``get_lr()`` into the groups.

    Args:
        optimizer: the optimiser whose groups' ``lr`` it sets (each group remembers ``initial_lr``).
        last_epoch: -1 to start; a saved value to resume (the groups must then hold ``initial_lr``).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr' to resume from "
                               f"(last_epoch={last_epoch}); load the optimizer's state_dict first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def _lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_lr(self) -> list:
        """The lrs for ``last_epoch`` (already advanced); subclasses implement it."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step (or epoch) and set the groups' lrs."""
        self._step_count += 1
        self.last_epoch += 1
        self._set(self.get_lr())

    def _jump(self, epoch: int) -> None:
        """Set ``last_epoch`` to ``epoch`` and the lrs from the closed form (as SequentialLR needs)."""
        self.last_epoch = epoch
        self._set(self.closed_form() if hasattr(self, "closed_form") else self.get_lr())

    def _set(self, values) -> None:
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = self._lrs()

    def get_last_lr(self) -> list:
        """The lrs the last ``step`` set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimiser (and functions), as plain data."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in self._not_saved}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(copy.deepcopy({k: v for k, v in state_dict.items() if k not in self._not_saved}))

    _not_saved = ("optimizer",)


class LambdaLR(LRScheduler):
    """lr = base_lr · f(epoch) for a function f (the function itself is not saved in state_dict)."""

    _not_saved = ("optimizer", "lr_lambda")

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        if not callable(lr_lambda):
            raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(lr_lambda).__name__}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * self.lr_lambda(self.last_epoch) for base in self.base_lrs]


class StepLR(LRScheduler):
    """lr = base_lr · γ^⌊epoch / step_size⌋: multiply by γ every ``step_size`` epochs."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = check_count("StepLR", "step_size", step_size)
        self.gamma = check_range("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]

    def closed_form(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr = base_lr · γ^(number of milestones <= epoch): multiply by γ at each milestone."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones = sorted(check_count("MultiStepLR", "milestone", m, low=0) for m in milestones)
        self.gamma = check_range("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        hits = self.milestones.count(self.last_epoch)
        if not hits:
            return self._lrs()
        return [lr * self.gamma ** hits for lr in self._lrs()]

    def closed_form(self):
        passed = sum(1 for m in self.milestones if m <= self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """lr = base_lr · factor for the first ``total_iters`` epochs, base_lr afterwards."""

    def __init__(self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        self.factor = check_range("ConstantLR", "factor", factor, 0.0, 1.0, low_open=True)
        self.total_iters = check_count("ConstantLR", "total_iters", total_iters, low=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._lrs()]
        if self.last_epoch != self.total_iters:
            return self._lrs()
        return [lr * (1.0 / self.factor) for lr in self._lrs()]

    def closed_form(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Linear ramp of the factor from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs.

    lr = base_lr · (s + (e - s) · min(epoch, total_iters) / total_iters). With s < e = 1 it is a
    linear warm-up (Goyal et al., "Accurate, Large Minibatch SGD", 2017).
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1):
        self.start_factor = check_range("LinearLR", "start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = check_range("LinearLR", "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = check_count("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._lrs()
        rise = self.end_factor - self.start_factor
        ratio = 1.0 + rise / (self.total_iters * self.start_factor + (self.last_epoch - 1) * rise)
        return [lr * ratio for lr in self._lrs()]

    def closed_form(self):
        rise = self.end_factor - self.start_factor
        return [base * (self.start_factor + rise * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """lr = base_lr · γ^epoch."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = check_range("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]

    def closed_form(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""lr = η_min + (base_lr - η_min) (1 + cos(π epoch / T_max)) / 2, computed recursively.

    Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts" (ICLR 2017),
    without restarts. As in PyTorch, each step rescales the current lr by the ratio of
    consecutive cosine factors, so that other schedules can be chained with it; past T_max the
    lr climbs back up along the same cosine.
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max = check_count("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = check_range("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, period, low = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._lrs()
        if self._step_count == 1 and t > 0:
            return [low + (base - low) * (1 + math.cos(t * math.pi / period)) / 2 for base in self.base_lrs]
        if (t - 1 - period) % (2 * period) == 0:
            return [lr + (base - low) * (1 - math.cos(math.pi / period)) / 2
                    for base, lr in zip(self.base_lrs, self._lrs())]
        return [(1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period)) * (lr - low) + low
                for lr in self._lrs()]

    def closed_form(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


def _check_members(owner: str, optimizer, schedulers) -> list:
    schedulers = list(schedulers)
    if not schedulers:
        raise ValueError(f"{owner}: expected at least one scheduler, got none")
    for i, scheduler in enumerate(schedulers):
        if not isinstance(scheduler, LRScheduler) or not hasattr(scheduler, "get_lr"):
            raise TypeError(f"{owner}: schedulers[{i}] is a {type(scheduler).__name__}, expected an LRScheduler")
        if type(scheduler).__name__ == "ReduceLROnPlateau":
            raise ValueError(f"{owner}: schedulers[{i}] is a ReduceLROnPlateau, whose step needs a metric; "
                             "step it separately")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{owner}: schedulers[{i}] ({type(scheduler).__name__}) drives another optimizer")
    return schedulers


class _Composite(LRScheduler):
    """Shared state handling of the schedules made of other schedules."""

    _not_saved = ("optimizer", "_schedulers")

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for scheduler, saved in zip(self._schedulers, state_dict["_schedulers"]):
            scheduler.load_state_dict(saved)


class SequentialLR(_Composite):
    """One schedule after another: ``schedulers[i]`` runs from ``milestones[i - 1]`` on.

    At a milestone the next schedule starts afresh from its own epoch 0 (its closed form), from
    the groups' ``initial_lr``. Example: ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5),
    CosineAnnealingLR(opt, T_max=95)], milestones=[5])`` warms up for 5 epochs, then anneals.
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        self._schedulers = _check_members("SequentialLR", optimizer, schedulers)
        self._milestones = [check_count("SequentialLR", "milestone", m, low=0) for m in milestones]
        if len(self._milestones) != len(self._schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(self._schedulers)} schedulers need "
                             f"{len(self._schedulers) - 1} milestones, got {len(self._milestones)}")
        self.optimizer = optimizer
        self.last_epoch = last_epoch + 1
        # the members' constructors each took a first step: undo them and start the first one again
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:
            _rewind(scheduler)
        self._active(0)._initial_step()
        self._last_lr = self._active(0).get_last_lr()

    def _active(self, epoch: int) -> LRScheduler:
        return self._schedulers[sum(1 for m in self._milestones if m <= epoch)]

    def step(self) -> None:
        self.last_epoch += 1
        scheduler = self._active(self.last_epoch)
        if self.last_epoch in self._milestones:
            scheduler._jump(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


def _rewind(scheduler) -> None:
    """Take back one epoch of a scheduler (and of the members of a composite)."""
    if hasattr(scheduler, "_schedulers"):
        for member in scheduler._schedulers:
            _rewind(member)
    else:
        scheduler.last_epoch -= 1


class ChainedScheduler(_Composite):
    """Several schedules at once: each ``step`` steps every one of them, in order.

    Works with the multiplicative schedules (all but LambdaLR): e.g. ConstantLR for a warm-up
    period times ExponentialLR decay.
    """

    def __init__(self, schedulers, optimizer: Optimizer | None = None):
        schedulers = list(schedulers)
        optimizer = optimizer if optimizer is not None else (schedulers[0].optimizer if schedulers else None)
        self._schedulers = _check_members("ChainedScheduler", optimizer, schedulers)
        self.optimizer = optimizer
        self._last_lr = self._lrs()

    def step(self) -> None:
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._lrs()
