"""Optimisers, learning-rate schedules and gradient clipping.

    >>> from gradkit import optim
    >>> opt = optim.Adam(params, lr=1e-3)
    >>> schedule = optim.CosineAnnealingLR(opt, T_max=100)
    >>> loss.backward(); optim.clip_grad_norm_(params, 1.0); opt.step(); opt.zero_grad(); schedule.step()

First order (PyTorch's names and update rules): SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW; the
book's Momentum and Nesterov; AdaGrad, RMSProp, AdaDelta are the same classes under the source
articles' spellings. Second order, with a closure: NewtonCG, LBFGS.
"""
from . import lr_scheduler
from .adaptive import Adadelta, Adagrad, Adam, AdamW, RMSprop
from .clip import clip_grad_norm_, clip_grad_value_
from .optimizer import Optimizer
from .plateau import ReduceLROnPlateau
from .schedule import (ChainedScheduler, ConstantLR, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR,
                       LRScheduler, MultiStepLR, SequentialLR, StepLR)
from .second_order import LBFGS, NewtonCG
from .sgd import SGD, Momentum, Nesterov

AdaGrad, RMSProp, AdaDelta = Adagrad, RMSprop, Adadelta

OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adagrad": Adagrad, "rmsprop": RMSprop,
              "adadelta": Adadelta, "adam": Adam, "adamw": AdamW, "lbfgs": LBFGS, "newton-cg": NewtonCG}


def create(name: str, params, **hyperparameters) -> Optimizer:
    """An optimiser by its lower-case name (``"adam"``, ``"sgd"`` ...), e.g. for a command line."""
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}") from None
    return cls(params, **hyperparameters)


__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "Adagrad", "AdaGrad", "RMSprop", "RMSProp", "Adadelta",
           "AdaDelta", "Adam", "AdamW", "NewtonCG", "LBFGS", "LRScheduler", "LambdaLR", "StepLR", "MultiStepLR",
           "ConstantLR", "LinearLR", "ExponentialLR", "CosineAnnealingLR", "SequentialLR", "ChainedScheduler",
           "ReduceLROnPlateau", "lr_scheduler", "clip_grad_norm_", "clip_grad_value_", "OPTIMIZERS", "create"]
