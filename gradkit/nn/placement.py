"""Reading ``Module.to``'s arguments the way PyTorch takes them: dtypes, devices, tensors."""
from __future__ import annotations

import numpy

from ..autograd import Tensor


def to_dtype(args, kwargs):
    """The dtype asked for by ``Module.to``'s arguments (None: no change); a non-CPU device is an error."""
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, str) and arg.split(":")[0] in _DEVICE_NAMES or hasattr(arg, "type") and \
                not isinstance(arg, (type, numpy.dtype)):
            device = arg
        elif arg is not None:
            dtype = arg
    if device is not None:
        kind = device if isinstance(device, str) else getattr(device, "type", str(device))
        if kind.split(":")[0] != "cpu":
            raise RuntimeError(f"to(): gradkit runs on the CPU only; device {str(device)!r} is not available")
    if dtype is None:
        return None
    try:
        return numpy.dtype(getattr(dtype, "numpy_dtype", dtype))
    except TypeError:
        raise TypeError(f"to(): expected a dtype, a device or a Tensor, got {dtype!r}") from None


_DEVICE_NAMES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "vulkan")
