"""The engine: Tensor, Function, reverse mode (backward, grad, hvp), forward mode (jvp, Dual), gradcheck."""
from .function import AnomalyError, Function
from .tensor import Tensor, RemovableHandle
from . import composite, ops
from .engine import backward, grad
from .forward import Dual, hvp, jvp
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from .mode import detect_anomaly, enable_grad, forward_ad, is_grad_enabled, no_grad, set_grad_enabled
from .ops import ShapeError

__all__ = ["Tensor", "Function", "backward", "grad", "hvp", "jvp", "Dual", "gradcheck", "gradgradcheck",
           "numerical_grad", "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "forward_ad", "detect_anomaly", "AnomalyError", "ShapeError", "RemovableHandle", "ops", "composite"]
