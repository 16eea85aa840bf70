"""``torch.utils``'s twin: ``gradkit.utils.data``."""
from . import data

__all__ = ["data"]
