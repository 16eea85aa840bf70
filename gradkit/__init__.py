"""gradkit: a deep-learning framework written from scratch on NumPy, with a laboratory and a doctor.

    >>> import gradkit as gk
    >>> x = gk.tensor([1.0, 2.0], requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad
    tensor([2., 4.])
"""
from . import _malloc  # freed memory kept between training steps (glibc; see the module)
from . import backend
from .autograd import (Dual, Function, Tensor, detect_anomaly, enable_grad, grad, is_grad_enabled, jvp,
                       no_grad, set_grad_enabled)
from .autograd.composite import minimum, sqrt
from .autograd.ops import (abs, broadcast_to, concatenate, cos, exp, expm1, log, log1p, matmul, maximum, neg, pow,
                           sigmoid, sin, sum_to, tanh, where)
from .backend import get_default_dtype, set_default_dtype
from .creation import arange, as_tensor, ones, ones_like, rand, randn, tensor, zeros, zeros_like

# ---- PyTorch's names (docs/pytorch.md): dtypes, devices, creation, reductions, shapes, pointwise
from . import accelerator, backends, cuda
from .device import device
from .dtypes import (bool, double, float, float16, float32, float64, half, int, int8, int16, int32, int64, long,
                     short, uint8)
from .creation import (empty, empty_like, eye, from_numpy, full, full_like, linspace, logspace, manual_seed, normal,
                       randint, randperm)
from .autograd.reductions import (all, amax, amin, any, argmax, argmin, argsort, gather, logsumexp, max, mean, min,
                                  norm, prod, sort, std, sum, topk, var)
from .autograd.shaping import (cat, chunk, expand, flatten, movedim, permute, repeat, reshape, split, squeeze, stack,
                               t, transpose, unflatten, unsqueeze, view)
from .autograd.pointwise import (allclose, ceil, clamp, eq, equal, floor, floor_divide, frac, ge, gt, isclose,
                                 isfinite, isinf, isnan, le, log2, log10, logical_and, logical_not, logical_or,
                                 logical_xor, lt, masked_fill, ne, reciprocal, remainder, round, rsqrt, sign, square,
                                 tan, trunc)
concat = cat
clip = clamp
# ---- end of PyTorch's names
from . import autograd, functional
from .autograd.ops import relu  # torch.relu (the nn names live in gradkit.nn, gradkit.nn.functional)
from .errors import GradkitError


# saving (gradkit.serialization): safetensors + JSON, never pickle; imported on first use
def save(obj, path) -> str:
    """``gradkit.save(model.state_dict(), "model.pt")``: tensors and nested state, as safetensors."""
    from .serialization import save as _save
    return _save(obj, path)


def load(path):
    """Read what :func:`save` wrote, or any safetensors file (a dict of name -> Tensor)."""
    from .serialization import load as _load
    return _load(path)

__version__ = "0.1.0"

_SUBPACKAGES = ("nn", "optim", "data", "train", "lab", "doctor", "tune", "threads", "utils")


def __getattr__(name):
    """Import the upper floors on first use, so ``import gradkit`` stays fast."""
    if name in _SUBPACKAGES:
        import importlib
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'gradkit' has no attribute {name!r}")
