"""Activation modules: thin wrappers over ``gradkit.functional``, and the one registry of their names.

Each docstring gives f and f'; the functional version documents the numerics. ``get("relu")``
(or a Module class, or a factory returning a Module) gives a fresh module: builders call it once
per layer so every layer has its own module, its own hooks and, for PReLU, its own slopes.
"""
from __future__ import annotations

import numpy

from .. import backend
from .. import functional as F
from .layers import Identity
from .module import Module, Parameter


class Sigmoid(Module):
    """f(x) = 1 / (1 + e^-x); f' = f (1 - f) <= 1/4, the root of vanishing gradients in deep sigmoid nets."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """f(x) = tanh x; f' = 1 - f^2 <= 1 (zero-centred, still saturates)."""

    def forward(self, x):
        return F.tanh(x)


class ReLU(Module):
    """f(x) = max(x, 0); f' = [x > 0] (a unit that never fires gets no gradient: a "dead ReLU").

    ``inplace`` is accepted for PyTorch's signature; the output is always a new tensor."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x):
        return F.relu(x)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """f(x) = x for x > 0, a x otherwise; f' = 1 or a (Maas et al. 2013)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, bool(inplace)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """Leaky ReLU with learned slopes a (He et al. 2015): f(x) = max(x, 0) + a min(x, 0).

    Args:
        num_parameters: 1 (one slope shared by all channels) or C (one per channel, axis 1).
        init: the initial slope (0.25 in the paper and in PyTorch).
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        super().__init__()
        if num_parameters <= 0:
            raise ValueError(f"PReLU: num_parameters must be positive, got {num_parameters}")
        self.num_parameters = num_parameters
        self.weight = Parameter(numpy.full((num_parameters,), init, dtype=backend.get_default_dtype()))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """f(x) = x for x > 0, alpha (e^x - 1) otherwise; f' = 1 or f + alpha (Clevert et al. 2016)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Softplus(Module):
    """f(x) = log(1 + e^(beta x)) / beta, linear above ``threshold``; f' = sigmoid(beta x)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Maxout(Module):
    """Max over ``pieces`` groups of features along ``axis`` (Goodfellow et al. 2013): C -> C / pieces.

    The gradient flows to the winning piece of each group only."""

    def __init__(self, pieces: int, axis: int = 1):
        super().__init__()
        if pieces <= 0:
            raise ValueError(f"Maxout: pieces must be positive, got {pieces}")
        self.pieces, self.axis = pieces, axis

    def forward(self, x):
        return F.maxout(x, self.pieces, axis=self.axis)

    def extra_repr(self):
        return f"pieces={self.pieces}, axis={self.axis}"


class Softmax(Module):
    """softmax(x)_i = e^(x_i) / sum_j e^(x_j) along ``dim``; d/dx = diag(s) - s s^T.

    ``dim`` (PyTorch's name; ``axis=`` is gradkit's alias). Without either, PyTorch's implicit
    choice: axis 0 of 0-, 1- and 3-D input, else axis 1."""

    def __init__(self, dim: int | None = None, *, axis: int | None = None):
        super().__init__()
        if dim is not None and axis is not None and dim != axis:
            raise TypeError(f"{type(self).__name__}: give dim or axis, not both (got dim={dim}, axis={axis})")
        self.dim = dim if dim is not None else axis

    @property
    def axis(self):
        return self.dim

    def _dim(self, x):
        return self.dim if self.dim is not None else (0 if x.ndim in (0, 1, 3) else 1)

    def forward(self, x):
        return F.softmax(x, self._dim(x))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax(x)_i = x_i - logsumexp(x) along ``dim``; d/dx = I - softmax(x) (row-wise)."""

    def forward(self, x):
        return F.log_softmax(x, self._dim(x))


_REGISTRY = {
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "prelu": PReLU,
    "elu": ELU, "softplus": Softplus,
}


def names() -> list[str]:
    """The registered activation names (plus "identity" / "linear": no activation)."""
    return sorted(_REGISTRY) + ["identity", "linear"]


def get(activation) -> Module:
    """A fresh activation module from a name ("relu", "tanh", ...), a Module class, or a factory
    returning a Module (e.g. ``lambda: nn.LeakyReLU(0.1)``)."""
    if isinstance(activation, str):
        key = activation.lower()
        if key in ("identity", "linear", "none"):
            return Identity()
        if key not in _REGISTRY:
            raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(names())}")
        return _REGISTRY[key]()
    if isinstance(activation, Module):
        raise TypeError(f"activation: pass a name, a Module class or a factory, not the instance {activation!r}, "
                        "so that each layer gets its own module")
    if callable(activation):
        module = activation()
        if not isinstance(module, Module):
            raise TypeError(f"activation factory {activation!r} returned {type(module).__name__}, not a Module")
        return module
    raise TypeError(f"activation must be a name, a Module class or a factory, got {type(activation).__name__}")

