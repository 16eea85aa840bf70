"""Layers with weights (Linear, Conv2d), pooling, reshaping and containers (Sequential, Identity).

Weights follow PyTorch's shapes and default initialisation, so a model ported from PyTorch starts
from the same distributions: Linear weight (out, in), Conv2d weight (out, in / groups, KH, KW),
weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (``init.torch_default``) and biases likewise. Given an
``init=`` (a name or a callable), the weight comes from it and the bias starts at zero, as in the
papers that define those schemes (Glorot 2010, He 2015), unless ``bias_init=`` says otherwise.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from ..autograd.ops import ShapeError, linear, matmul, reshape
from . import init as initializers
from .module import Module, Parameter


def _pair(value, what: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return tuple(value)
    raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")


def _weight_and_bias(module, weight_shape, has_bias: bool, init, bias_init, rng):
    """Create ``module.weight`` and ``module.bias`` from the init rules of this file's docstring."""
    fan_in, _ = initializers.fans(weight_shape)
    weight_init = initializers.torch_default() if init is None else init
    if bias_init is None:
        bias_init = initializers.bias_uniform(fan_in) if init is None else initializers.zeros()
    name = type(module).__name__
    module.weight = Parameter(initializers.make(weight_init, weight_shape, rng, what=f"{name}.weight"))
    if has_bias:
        module.bias = Parameter(initializers.make(bias_init, (weight_shape[0],), rng, what=f"{name}.bias"))
    else:
        module.register_parameter("bias", None)


class Linear(Module):
    """Affine map y = x W^T + b over the last axis.

    Args:
        in_features: size of the last axis of the input.
        out_features: size of the last axis of the output.
        bias: learn an additive bias b of shape (out_features,).
        init: weight initialiser, a registered name ("he", "xavier", ...) or a callable
            (shape, rng) -> array; None gives PyTorch's default (see the module docstring).
        bias_init: bias initialiser (None: PyTorch's default, or zeros when ``init`` is given).
        rng: numpy Generator or seed for the initial values.

    Shapes: (..., in_features) -> (..., out_features); weight (out_features, in_features).

    Example:
        >>> layer = Linear(784, 100, init="he", rng=0)
        >>> layer(gk.zeros(32, 784)).shape
        (32, 100)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init=None, bias_init=None,
                 rng=None, device=None, dtype=None):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Linear: in_features and out_features must be positive, got {in_features}, "
                             f"{out_features}")
        self.in_features, self.out_features = in_features, out_features
        _weight_and_bias(self, (out_features, in_features), bias, init, bias_init, rng)
        _place(self, device, dtype)

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        shape = x.data.shape
        if not shape or shape[-1] != self.in_features:
            raise ShapeError(f"{self!r}: expected input of shape (..., {self.in_features}), got {x.shape}")
        if len(shape) == 1:
            y = matmul(x.reshape(1, -1), self.weight, transpose_b=True).reshape(self.out_features)
            return y if self.bias is None else y + self.bias
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D convolution (cross-correlation, as every framework) over NCHW input.

    y[n, o] = b[o] + sum_{c in group(o)} W[o, c] * x[n, c], with stride, zero padding, dilation and
    groups; output size floor((H + 2 p - d (k - 1) - 1) / s) + 1 per spatial axis.

    Args:
        in_channels, out_channels: C and O; both divisible by ``groups``.
        kernel_size, stride, padding, dilation: an int or a pair (height, width).
        groups: split the channels into this many independent convolutions.
        bias: learn a per-output-channel bias.
        init, bias_init, rng: as for ``Linear``; weight shape (O, C / groups, KH, KW).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None,
                 init=None, bias_init=None, rng=None):
        super().__init__()
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                             f"divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _pair(kernel_size, "Conv2d kernel_size")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode={padding_mode!r} is not supported (only 'zeros')")
        self.stride = _pair(stride, "Conv2d stride")
        self.dilation = _pair(dilation, "Conv2d dilation")
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self._padding_text = padding if isinstance(padding, str) else None  # for the repr, as PyTorch
        if isinstance(padding, str):  # 'valid' or 'same', resolved once from the kernel
            from .functional import _same_padding
            padding = _same_padding(padding, _Shape(shape), self.stride, self.dilation)
        self.padding = _pair(padding, "Conv2d padding")
        _weight_and_bias(self, shape, bias, init, bias_init, rng)
        _place(self, device, dtype)

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"{self!r}: expected input of shape (N, {self.in_channels}, H, W), got {x.shape}")
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self._padding_text is not None:
            text += f", padding={self._padding_text}"
        elif self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class _Shape:
    def __init__(self, shape):
        self.shape = shape


def _place(module, device, dtype) -> None:
    """Apply a layer's ``device=`` and ``dtype=`` arguments (PyTorch's factory keywords)."""
    if device is not None or dtype is not None:
        module.to(*(a for a in (device, dtype) if a is not None))


def _nchw(module, x) -> Tensor:
    """x as a Tensor, checked to be 4-D (N, C, H, W); the error names the module."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.ndim != 4:
        raise ShapeError(f"{module!r}: expected input of shape (N, C, H, W), got {x.shape}")
    return x


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        _pair(kernel_size, f"{name} kernel_size")  # checked here, used as given
        _pair(padding, f"{name} padding")
        if stride is not None and stride != []:
            _pair(stride, f"{name} stride")
        else:
            stride = kernel_size
        # kept as given, so the repr reads as PyTorch's (ints stay ints)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding


class MaxPool2d(_Pool2d):
    """Max over each kernel window (stride defaults to the kernel size); the gradient goes to one
    maximal element per window. ``dilation``, ``return_indices`` and ``ceil_mode`` other than
    PyTorch's defaults raise NotImplementedError."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding)
        if dilation != 1 or return_indices or ceil_mode:
            raise NotImplementedError("MaxPool2d: dilation, return_indices and ceil_mode are not supported "
                                      f"(got dilation={dilation}, return_indices={return_indices}, ceil_mode={ceil_mode})")
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, x):
        return F.max_pool2d(_nchw(self, x), self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool2d):
    """Mean over each kernel window (stride defaults to the kernel size; zero padding counts).
    ``ceil_mode``, ``count_include_pad=False`` and ``divisor_override`` raise NotImplementedError."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__(kernel_size, stride, padding)
        if ceil_mode or not count_include_pad or divisor_override is not None:
            raise NotImplementedError("AvgPool2d: ceil_mode, count_include_pad=False and divisor_override are not "
                                      "supported")

    def forward(self, x):
        return F.avg_pool2d(_nchw(self, x), self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size``: gradkit supports sizes that divide the input's
    height and width (``AdaptiveAvgPool2d(1)``, global average pooling, included); others raise
    ValueError. Output (N, C, oh, ow)."""

    def __init__(self, output_size=1):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(_nchw(self, x), self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class GlobalAvgPool2d(Module):
    """Mean over the spatial axes: (N, C, H, W) -> (N, C)."""

    def forward(self, x):
        return F.global_avg_pool2d(_nchw(self, x))


class Flatten(Module):
    """Merge the axes ``start_dim`` to ``end_dim`` (default 1 to -1: all but the batch axis) into one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim == 0:
            return reshape(x, (1,))
        start, end = self.start_dim, self.end_dim
        if not (-x.ndim <= start < x.ndim and -x.ndim <= end < x.ndim):
            raise ShapeError(f"{self!r}: dims out of range for input of shape {x.shape}")
        start, end = start % x.ndim, end % x.ndim
        if start > end:
            raise ShapeError(f"{self!r}: start_dim must not come after end_dim for input of shape {x.shape}")
        merged = 1
        for n in x.shape[start:end + 1]:
            merged *= n
        return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    """y = x (a placeholder, e.g. a shortcut that needs no projection)."""

    def forward(self, x):
        return x


class Sequential(Module):
    """Modules applied one after the other: y = f_n(... f_2(f_1(x))).

    Children are named "0", "1", ... (or by the keys of a dict given as the only argument).
    Supports ``len``, iteration, indexing (a slice gives a new Sequential sharing the modules),
    ``append`` and ``extend``.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, module in modules[0].items():
                self.add_module(str(name), module)
        else:
            for module in modules:
                self.append(module)

    def append(self, module: Module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: a Module is expected, got {type(module).__name__}")
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(dict(items[index]))
        try:
            return items[index][1]
        except (IndexError, TypeError):
            raise IndexError(f"Sequential index {index!r} out of range for {len(items)} modules") from None

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

