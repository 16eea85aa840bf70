"""Training: the Trainer loop, its callbacks, and atomic checkpoints in a safe format."""
from .callbacks import Callback, Checkpoint, EarlyStopping, History, LRSchedulerCallback, ProgressBar, TerminateOnNaN
from .checkpoint import CheckpointError
from .trainer import METRICS, Trainer, accuracy

__all__ = ["Trainer", "Callback", "History", "ProgressBar", "EarlyStopping", "Checkpoint", "LRSchedulerCallback",
           "TerminateOnNaN", "CheckpointError", "METRICS", "accuracy"]
