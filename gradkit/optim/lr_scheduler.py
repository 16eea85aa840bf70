"""``torch.optim.lr_scheduler``'s twin: the schedules of ``gradkit.optim`` under PyTorch's module path.

Call ``scheduler.step()`` after ``optimizer.step()`` (once per epoch or per step, as the schedule
means); ``get_last_lr()`` gives the lrs it set; ``state_dict()`` / ``load_state_dict()`` resume it.
"""
from .plateau import ReduceLROnPlateau
from .schedule import (ChainedScheduler, ConstantLR, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR,
                       LRScheduler, MultiStepLR, SequentialLR, StepLR)

_LRScheduler = LRScheduler  # PyTorch's older name of the base class

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
           "CosineAnnealingLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau"]
