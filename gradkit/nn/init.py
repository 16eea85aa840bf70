"""Initialisers: pure functions of a shape (through its fans), a gain and a random generator.

Each factory below (``normal(std=0.01)``, ``he_normal()``, ...) returns an ``Initializer``: a
callable ``(shape, rng=None, dtype=None) -> array`` with its hyperparameters bound and no side
effects. A layer's ``init=`` takes such a callable, any function ``(shape, rng) -> array``, or a
registered name (see ``names()``): "zeros", "normal", "xavier", "xavier_uniform", "lecun", "he",
"he_uniform", "default" ...

Fans follow PyTorch: for a weight of shape (out, in, *kernel), fan_in = in * prod(kernel) and
fan_out = out * prod(kernel); a grouped conv's weight (O, C/groups, KH, KW) thus has fan_in
(C/groups) KH KW.

    >>> w = he_normal()((256, 784), rng=0)          # std sqrt(2/784)
    >>> init_(layer.weight, "xavier", rng=0)        # in place, on a Parameter
"""
from __future__ import annotations

import math

import numpy

from .. import backend

_LINEAR_LIKE = ("linear", "identity", "conv1d", "conv2d", "conv3d", "sigmoid")


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel), as PyTorch computes them.

    fan_in = in * prod(kernel), fan_out = out * prod(kernel). Needs at least 2 dimensions."""
    shape = tuple(int(n) for n in shape)
    if len(shape) < 2:
        raise ValueError(f"fans: a weight needs at least 2 dimensions (out, in, *kernel), got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps the variance of activations through ``nonlinearity`` (as PyTorch).

    linear / conv / sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu with slope a (default 0.01):
    sqrt(2 / (1 + a^2)); selu: 3/4.
    """
    name = nonlinearity.lower()
    if name in _LINEAR_LIKE:
        return 1.0
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain('leaky_relu'): negative slope must be a number, got {slope!r}")
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    if name == "selu":
        return 0.75
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
                     f"{', '.join(_LINEAR_LIKE + ('tanh', 'relu', 'leaky_relu', 'selu'))}")


class Initializer:
    """A pure function ``(shape, rng=None, dtype=None) -> array`` with its hyperparameters bound.

    Args:
        name: the factory's name, for the repr.
        sample: ``sample(shape, rng) -> float64 array``.
        params: the hyperparameters (shown in the repr).
    """

    def __init__(self, name: str, sample, **params):
        self.name, self._sample, self.params = name, sample, params

    def __call__(self, shape, rng=None, dtype=None) -> numpy.ndarray:
        shape = (int(shape),) if isinstance(shape, (int, numpy.integer)) else tuple(int(n) for n in shape)
        array = numpy.asarray(self._sample(shape, backend.resolve_rng(rng)), dtype=numpy.float64)
        return array.astype(backend.get_default_dtype() if dtype is None else dtype)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


def zeros() -> Initializer:
    """All zeros (biases; a weight of zeros makes every unit of a layer identical)."""
    return Initializer("zeros", lambda shape, rng: numpy.zeros(shape))


def constant(value: float) -> Initializer:
    """Every element equal to ``value``."""
    return Initializer("constant", lambda shape, rng: numpy.full(shape, float(value)), value=value)


def normal(std: float = 1.0, mean: float = 0.0) -> Initializer:
    """N(mean, std^2). The book's experiments use std 1 and std 0.01 ("normal" in the registry is 0.01)."""
    if std < 0:
        raise ValueError(f"normal: std must be >= 0, got {std}")
    return Initializer("normal", lambda shape, rng: mean + std * rng.standard_normal(shape), std=std, mean=mean)


def uniform(low: float = 0.0, high: float = 1.0) -> Initializer:
    """U(low, high); variance (high - low)^2 / 12."""
    if high < low:
        raise ValueError(f"uniform: needs low <= high, got low={low}, high={high}")
    return Initializer("uniform", lambda shape, rng: rng.uniform(low, high, shape), low=low, high=high)


def _gain(gain, nonlinearity, param):
    return calculate_gain(nonlinearity, param) if gain is None else float(gain)


def xavier_normal(gain: float = 1.0) -> Initializer:
    """Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward neural networks".

    N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)): the variance keeps activations in the
    forward pass and gradients in the backward pass, for tanh/sigmoid-like units near 0.
    """
    def sample(shape, rng):
        fan_in, fan_out = fans(shape)
        return gain * math.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal(shape)
    return Initializer("xavier_normal", sample, gain=gain)


def xavier_uniform(gain: float = 1.0) -> Initializer:
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)),
    i.e. Var = gain^2 * 2 / (fan_in + fan_out)."""
    def sample(shape, rng):
        fan_in, fan_out = fans(shape)
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, shape)
    return Initializer("xavier_uniform", sample, gain=gain)


def lecun_normal(gain: float = 1.0) -> Initializer:
    """LeCun, Bottou, Orr & Mueller (1998), "Efficient BackProp": N(0, std^2), std = gain * sqrt(1 / fan_in).

    This is what *Deep Learning from Scratch* (and source article 002) calls "Xavier": it keeps the
    forward variance only; Glorot's formula averages fan_in and fan_out (``xavier_normal``).
    """
    def sample(shape, rng):
        fan_in, _ = fans(shape)
        return gain * math.sqrt(1.0 / fan_in) * rng.standard_normal(shape)
    return Initializer("lecun_normal", sample, gain=gain)


def he_normal(gain: float | None = None, nonlinearity: str = "relu", param: float | None = None,
              mode: str = "fan_in") -> Initializer:
    """He, Zhang, Ren & Sun (2015), "Delving Deep into Rectifiers" (Kaiming init).

    N(0, std^2), std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, param) unless given;
    for ReLU and mode fan_in, Var = 2 / fan_in: a ReLU halves the second moment, the 2 restores it.
    """
    g = _gain(gain, nonlinearity, param)

    def sample(shape, rng):
        return g / math.sqrt(_fan(shape, mode)) * rng.standard_normal(shape)
    return Initializer("he_normal", sample, gain=g, mode=mode)


def he_uniform(gain: float | None = None, nonlinearity: str = "relu", param: float | None = None,
               mode: str = "fan_in") -> Initializer:
    """He et al. (2015), uniform: U(-b, b), b = gain * sqrt(3 / fan), so Var = gain^2 / fan (2 / fan_in for ReLU).

    ``he_uniform(nonlinearity="leaky_relu", param=sqrt(5))`` is PyTorch's default for Linear and Conv
    weights: gain^2 = 1/3, so b = 1 / sqrt(fan_in) and Var = 1 / (3 fan_in).
    """
    g = _gain(gain, nonlinearity, param)

    def sample(shape, rng):
        bound = g * math.sqrt(3.0 / _fan(shape, mode))
        return rng.uniform(-bound, bound, shape)
    return Initializer("he_uniform", sample, gain=g, mode=mode)


def _fan(shape, mode: str) -> int:
    fan_in, fan_out = fans(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"he init: mode must be 'fan_in' or 'fan_out', got {mode!r}")


def torch_default() -> Initializer:
    """PyTorch's default for Linear / Conv weights: he_uniform(leaky_relu, a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    return he_uniform(nonlinearity="leaky_relu", param=math.sqrt(5.0))


def bias_uniform(fan_in: int) -> Initializer:
    """PyTorch's default bias of a layer with ``fan_in`` inputs: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform(-bound, bound)


_REGISTRY = {
    "zeros": zeros,
    "normal": lambda: normal(std=0.01),
    "xavier": xavier_normal,
    "xavier_normal": xavier_normal,
    "glorot": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "lecun": lecun_normal,
    "lecun_normal": lecun_normal,
    "he": he_normal,
    "he_normal": he_normal,
    "kaiming": he_normal,
    "he_uniform": he_uniform,
    "default": torch_default,
}


def names() -> list[str]:
    """The registered initialiser names."""
    return sorted(_REGISTRY)


def register(name: str, factory) -> None:
    """Register ``factory() -> (shape, rng) -> array`` under ``name`` for use as ``init=name``."""
    if not callable(factory):
        raise TypeError(f"register({name!r}): factory must be callable, got {type(factory).__name__}")
    _REGISTRY[name] = factory


def get(init):
    """An initialiser from a registered name or a callable ``(shape, rng) -> array`` (returned as is)."""
    if isinstance(init, str):
        try:
            return _REGISTRY[init]()
        except KeyError:
            raise ValueError(f"unknown initialiser {init!r}; registered: {', '.join(names())}") from None
    if callable(init):
        return init
    raise TypeError(f"init must be a registered name or a callable (shape, rng) -> array, got {type(init).__name__}")


def make(init, shape, rng=None, dtype=None, what: str = "init") -> numpy.ndarray:
    """Run ``init`` (a name or callable) on ``shape`` and check the result's shape; cast to ``dtype``."""
    array = numpy.asarray(get(init)(tuple(shape), backend.resolve_rng(rng)))
    if array.shape != tuple(shape):
        raise ValueError(f"{what}: initialiser {init!r} returned shape {array.shape}, expected {tuple(shape)}")
    return backend.xp.asarray(array.astype(backend.get_default_dtype() if dtype is None else dtype))


def init_(tensor, init, rng=None):
    """Fill ``tensor`` (e.g. a Parameter) in place from ``init`` (a name or callable); returns it."""
    tensor.data[...] = make(init, tensor.shape, rng, tensor.dtype)
    return tensor


# ---------------------------------------------------------------------------- PyTorch's in-place spellings
# ``torch.nn.init``'s functions: each fills a tensor in place (under no gradient) and returns it,
# drawing from ``generator`` (a numpy Generator or a seed) or, when None, gradkit's global generator
# (``gradkit.manual_seed``). They only bind the factories above, so each formula lives once.

def _fill(tensor, initializer, generator):
    from ..autograd import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{initializer.name}_: expected a Tensor to fill in place, got {type(tensor).__name__}")
    tensor.data[...] = make(initializer, tensor.shape, generator, tensor.dtype)
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with U(a, b)."""
    return _fill(tensor, uniform(a, b), generator)


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with N(mean, std^2)."""
    return _fill(tensor, normal(std, mean), generator)


def constant_(tensor, val: float):
    """Fill with ``val``."""
    return _fill(tensor, constant(val), None)


def zeros_(tensor):
    return _fill(tensor, zeros(), None)


def ones_(tensor):
    return _fill(tensor, constant(1.0), None)


def eye_(tensor):
    """The identity matrix (a 2-D tensor only)."""
    if len(tensor.shape) != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    return _fill(tensor, Initializer("eye", lambda shape, rng: numpy.eye(*shape)), None)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot uniform: U(-a, a), a = gain sqrt(6 / (fan_in + fan_out))."""
    return _fill(tensor, xavier_uniform(gain), generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot normal: N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out))."""
    return _fill(tensor, xavier_normal(gain), generator)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None):
    """He uniform: U(-b, b), b = gain sqrt(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    return _fill(tensor, he_uniform(nonlinearity=nonlinearity, param=a, mode=mode), generator)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None):
    """He normal: N(0, std^2), std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    return _fill(tensor, he_normal(nonlinearity=nonlinearity, param=a, mode=mode), generator)


def orthogonal_(tensor, gain: float = 1.0, generator=None):
    """Saxe et al. (2014): a (semi-)orthogonal matrix times ``gain``, from the QR decomposition of a
    Gaussian matrix with the signs of R's diagonal folded in (so it is uniform over orthogonal
    matrices); trailing axes are flattened as PyTorch does."""
    if len(tensor.shape) < 2:
        raise ValueError(f"orthogonal_: needs at least 2 dimensions, got shape {tensor.shape}")

    def sample(shape, rng):
        rows, cols = shape[0], math.prod(shape[1:])
        flat = rng.standard_normal((rows, cols))
        q, r = numpy.linalg.qr(flat.T if rows < cols else flat)
        q *= numpy.sign(numpy.diag(r))
        return gain * (q.T if rows < cols else q).reshape(shape)
    return _fill(tensor, Initializer("orthogonal", sample, gain=gain), generator)


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator=None):
    """N(mean, std^2) restricted to [a, b], by redrawing the values that fall outside."""
    if not a < b:
        raise ValueError(f"trunc_normal_: needs a < b, got a={a}, b={b}")

    def sample(shape, rng):
        values = mean + std * rng.standard_normal(shape)
        outside = (values < a) | (values > b)
        while outside.any():
            values[outside] = mean + std * rng.standard_normal(int(outside.sum()))
            outside = (values < a) | (values > b)
        return values
    return _fill(tensor, Initializer("trunc_normal", sample, mean=mean, std=std, a=a, b=b), generator)
