"""The primitives: every derivative rule of gradkit lives in this file.

Each primitive is a ``Function`` with ``forward`` on arrays, ``backward`` and ``jvp`` on Tensors,
plus a lowercase function that lifts Python numbers and arrays to Tensors. Everything else
(``mean``, ``var``, ``sqrt``, ``softmax``, ``cross_entropy``...) is composed from these, except the
fused ops of ``gradkit.functional`` that say why they exist.

Rules skip the gradient of an input that does not require one (the ``x@W`` of a first layer
never computes d/dx of the data).
"""
from __future__ import annotations

import math

import numpy

from .. import backend, dtypes, threads
from . import _elementwise
from .function import Function
from .mode import Mode
from .tensor import Tensor


class ShapeError(ValueError, RuntimeError):
    """Operands whose shapes do not fit the op; the message names the op and the shapes.

    Both a ValueError (gradkit's type for bad arguments) and a RuntimeError (PyTorch's type for shape
    errors), so code written for either catches it."""


# Python numbers and NumPy scalars take part in type promotion as PyTorch's "wrapped numbers": they
# never widen a tensor of their own kind (float32 * 2.0 is float32; under NumPy 2 a NumPy scalar would
# otherwise promote float32 to float64).
_SCALARS = (bool, int, float, numpy.bool_, numpy.integer, numpy.floating)


def _lift(x, like: Tensor | None = None) -> Tensor:
    """A Tensor from x; a Python number takes the dtype of ``like`` where PyTorch's promotion says so."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, _SCALARS):
        dtype = dtypes.scalar_dtype(x, like.data.dtype, backend.get_default_dtype())
        return Tensor._make(backend.xp.asarray(x, dtype=dtype))
    return Tensor(x)


def _pair(a, b):
    """Both operands as Tensors of the dtype PyTorch's promotion gives ``a op b``; a conversion is a
    Cast node, so each gradient comes back in its operand's own dtype."""
    if type(b) is float and isinstance(a, Tensor) and a.data.dtype.kind == "f":  # the common x * 0.5
        return a, Tensor._make(backend.xp.asarray(b, dtype=a.data.dtype))
    if not isinstance(a, Tensor):
        a = _lift(a, b if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = _lift(b, a)
    da, db = a.data.dtype, b.data.dtype
    if da != db:
        dtype = dtypes.promote(a.data, b.data, backend.get_default_dtype())
        a, b = cast(a, dtype), cast(b, dtype)
    return a, b


def _call(function: Function, *inputs: Tensor):
    """Run a Function; a shape error from the array library is re-raised naming the op."""
    try:
        return function(*inputs)
    except ValueError as err:
        if isinstance(err, ShapeError):
            raise
        shapes = " and ".join(str(tuple(x.shape)) for x in inputs)
        raise ShapeError(f"{type(function).__name__}: cannot combine shapes {shapes}: {err}") from None


class DimError(ShapeError, IndexError):
    """A dim out of range: also an IndexError, PyTorch's type for it."""


def _axis(axis: int, ndim: int, op: str, shape=None) -> int:
    """``axis`` as a non-negative int. Out of range is an error: wrapped round (axis % ndim) it
    would silently pick another axis (sum(axis=2) of a matrix summing axis 0)."""
    if not -ndim <= axis < ndim:
        where = f"shape {tuple(shape)}" if shape is not None else f"{ndim} axes"
        raise DimError(f"{op}: axis {axis} is out of range for {where} (valid: {-ndim} to {ndim - 1})")
    return axis % ndim


def _axes(axis, ndim: int, op: str = "axis", shape=None):
    """Normalise an axis argument to a sorted tuple of non-negative ints (None stays None)."""
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(sorted(_axis(a, ndim, op, shape) for a in axis))
    return (_axis(axis, ndim, op, shape),)


def _unreduce(gy: Tensor, shape: tuple, axis, keepdims: bool) -> Tensor:
    """Broadcast the gradient of a reduction back to the input's shape."""
    if not keepdims:
        kept = [1 if axis is None or i in axis else n for i, n in enumerate(shape)]
        gy = reshape(gy, tuple(kept))
    return broadcast_to(gy, shape)


# ---------------------------------------------------------------------------- arithmetic
class Add(Function):
    """y = a + b (broadcasting); da = gy, db = gy, each summed back to its shape."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless

    def forward(self, a, b):
        y = _elementwise.add(a, b)  # large same-shape arrays (a residual sum): one pass, split over threads
        return a + b if y is None else y

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy, a.shape) if a.requires_grad else None,
                sum_to(gy, b.shape) if b.requires_grad else None)

    def jvp(self, ta, tb):
        return ta + tb


class Sub(Function):
    """y = a - b; da = gy, db = -gy."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy, a.shape) if a.requires_grad else None,
                sum_to(-gy, b.shape) if b.requires_grad else None)

    def jvp(self, ta, tb):
        return ta - tb


class Mul(Function):
    """y = a * b; da = gy * b, db = gy * a."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy * b, a.shape) if a.requires_grad else None,
                sum_to(gy * a, b.shape) if b.requires_grad else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        return ta * b + a * tb


class Div(Function):
    """y = a / b; da = gy / b, db = -gy a / b^2, computed as -gy ((a / b) / b) as torch does: b^2
    under- or overflows where the quotients do not (|b| below 1e-19 or above 1e19 in float32)."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy / b, a.shape) if a.requires_grad else None,
                sum_to(-gy * ((a / b) / b), b.shape) if b.requires_grad else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        return ta / b - tb * ((a / b) / b)


class Neg(Function):
    """y = -x; dx = -gy."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy

    def jvp(self, t):
        return -t


class Pow(Function):
    """y = x^c for a constant c; dx = gy c x^(c-1), and 0 for c = 0.

    x^-0.5 is computed as 1 / sqrt(x), as torch computes it: NaN at -inf and -inf at -0.0, where
    NumPy's pow gives 0 and +inf. It is also the derivative of x^0.5 (and so of sqrt)."""

    def __init__(self, c: float):
        self.c = c.item() if isinstance(c, numpy.generic) else c  # a NumPy scalar would promote float32

    def forward(self, x):
        if self.c == -0.5:
            return 1 / numpy.sqrt(x)
        return x ** self.c

    def _derivative(self) -> Tensor:
        (x,) = self.inputs
        return self.c * x ** (self.c - 1)

    def _zero(self) -> Tensor:
        """d(x^0)/dx: 0 everywhere, also where x or the incoming gradient is NaN or infinite (as PyTorch)."""
        return Tensor._make(numpy.zeros_like(self.inputs[0].data))

    def backward(self, gy):
        return self._zero() if self.c == 0 else gy * self._derivative()

    def jvp(self, t):
        return self._zero() if self.c == 0 else t * self._derivative()


class PowTensor(Function):
    """y = x^p for tensors x and p (broadcasting).

    dx = gy p x^(p-1) (0 where p = 0), dp = gy y ln x (0 where x = 0 and p >= 0, as PyTorch;
    NaN for x < 0, where x^p is not differentiable in p). As in torch, dx's zero is a select (a NaN
    gy does not reach it) and dp's a factor (gy * 0)."""

    def forward(self, x, p):
        return x ** p

    def _dx(self, g) -> Tensor:
        x, p = self.inputs
        return _select(p.data != 0, g * (p * x ** (p - 1)))

    def _dp(self, g) -> Tensor:
        x, p = self.inputs
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return g * where((x.data == 0) & (p.data >= 0), 0.0, x ** p * log(x))

    def backward(self, gy):
        x, p = self.inputs
        return (sum_to(self._dx(gy), x.shape) if x.requires_grad else None,
                sum_to(self._dp(gy), p.shape) if p.requires_grad else None)

    def jvp(self, tx, tp):
        return self._dx(tx) + self._dp(tp)


class Log1p(Function):
    """y = ln(1 + x), accurate for small x; dx = gy / (1 + x)."""

    def forward(self, x):
        return numpy.log1p(x)

    def backward(self, gy):
        return gy / (1 + self.inputs[0])

    def jvp(self, t):
        return t / (1 + self.inputs[0])


class Expm1(Function):
    """y = e^x - 1, accurate for small x; dx = gy (y + 1)."""

    saves_output = True

    def forward(self, x):
        self.y = numpy.expm1(x)
        return self.y

    def backward(self, gy):
        return gy * (self.output(self.y) + 1)

    def jvp(self, t):
        return t * (self.output(self.y) + 1)


class Exp(Function):
    """y = e^x; dx = gy y."""

    saves_output = True  # backward reads the output: changing it in place would corrupt the gradient

    def forward(self, x):
        self.y = numpy.exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.output(self.y)

    def jvp(self, t):
        return t * self.output(self.y)


class Log(Function):
    """y = ln x; dx = gy / x."""

    def forward(self, x):
        return numpy.log(x)

    def backward(self, gy):
        return gy / self.inputs[0]

    def jvp(self, t):
        return t / self.inputs[0]


class Sin(Function):
    """y = sin x; dx = gy cos x."""

    def forward(self, x):
        return numpy.sin(x)

    def backward(self, gy):
        return gy * cos(self.inputs[0])

    def jvp(self, t):
        return t * cos(self.inputs[0])


class Cos(Function):
    """y = cos x; dx = -gy sin x."""

    def forward(self, x):
        return numpy.cos(x)

    def backward(self, gy):
        return -gy * sin(self.inputs[0])

    def jvp(self, t):
        return -t * sin(self.inputs[0])


class Tanh(Function):
    """y = tanh x; dx = gy (1 - y^2)."""

    saves_output = True  # backward reads the output: changing it in place would corrupt the gradient

    def forward(self, x):
        self.y = numpy.tanh(x)
        return self.y

    def backward(self, gy):
        y = self.output(self.y)
        return gy * (1 - y * y)

    def jvp(self, t):
        y = self.output(self.y)
        return t * (1 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x); dx = gy y (1 - y).

    Computed from z = e^-|x| as 1 / (1 + z) for x >= 0 and z / (1 + z) for x < 0: no overflow, and
    full relative accuracy in both tails ((1 + tanh(x/2)) / 2 rounds sigmoid(-20) to 0 in float32)."""

    saves_output = True  # backward reads the output: changing it in place would corrupt the gradient

    def forward(self, x):
        z = numpy.exp(-numpy.abs(x))
        self.y = numpy.where(x >= 0, 1, z) / (1 + z)
        return self.y

    def backward(self, gy):
        y = self.output(self.y)
        return gy * y * (1 - y)

    def jvp(self, t):
        y = self.output(self.y)
        return t * y * (1 - y)


class ReLU(Function):
    """y = max(x, 0); dx = gy [x > 0] (0 at x = 0, and gy where x is NaN, as in PyTorch)."""

    saves_output = True  # backward reads the output: changing it in place would corrupt the gradient

    def forward(self, x):
        self.y = _elementwise.relu(x)
        if self.y is None:
            self.y = numpy.maximum(x, x.dtype.type(0))  # a float zero: the int 0 costs a cast (0.26 vs 0.17 ms)
        return self.y

    def backward(self, gy):
        if not (Mode.grad_enabled or Mode.forward_level):  # nothing to record: the array, no node
            return Tensor._make(ReLUGradient(self.y).forward(gy.data))
        return ReLUGradient(self.y)(gy)

    def jvp(self, t):
        return ReLUGradient(self.y)(t)


class ReLUGradient(Function):
    """gx = 0 where y <= 0, else gy, for a ReLU's output y (as torch's threshold_backward: a NaN unit
    passes gy): linear in gy and its own adjoint (a diagonal mask)."""

    def __init__(self, y):
        self.y = y

    def forward(self, gy):
        gx = _elementwise.relu_gradient(self.y, gy)
        if gx is not None:
            return gx
        mask = ~(self.y <= 0)
        if numpy.isfinite(gy).all():
            return gy * mask  # 13x faster than numpy.where at LeNet-5's first layer
        return numpy.where(mask, gy, gy.dtype.type(0))  # NaN * 0 is NaN: a select, as torch, gives 0

    def backward(self, ggx):
        return ReLUGradient(self.y)(ggx)

    def jvp(self, t):
        return ReLUGradient(self.y)(t)


def _sign(x):
    """torch.sign of an array: -1, 0 or 1, and 0 at NaN (NumPy's sign gives NaN there)."""
    s = numpy.asarray(numpy.sign(x))
    s[s != s] = 0
    return s


class Abs(Function):
    """y = |x|; dx = gy sign(x) (0 at x = 0, and at NaN, as torch's sgn)."""

    def forward(self, x):
        return numpy.abs(x)

    def backward(self, gy):
        return gy * Tensor._make(_sign(self.inputs[0].data))

    def jvp(self, t):
        return t * Tensor._make(_sign(self.inputs[0].data))


def _select(condition, g: Tensor, finite=None) -> Tensor:
    """g where condition, else 0: torch's select, which keeps a NaN or infinite g out of the zeros.

    While g is finite it is g * condition, the same numbers, which NumPy computes several times faster
    than numpy.where (0.8 against 6.8 ms on 1.6M float32); ``finite`` passes that check in when known."""
    if finite is None:
        finite = bool(numpy.isfinite(g.data).all())
    if finite:
        return g * Tensor._make(numpy.asarray(condition))
    return where(condition, g, 0.0)


class Maximum(Function):
    """y = max(a, b) elementwise; the gradient goes to the larger, split in half on ties (as PyTorch).

    As torch's rule, the gradients are selects: a's is 0 where a < b, b's is 0 where a > b, half of gy
    on ties, gy elsewhere; so where a or b is NaN (neither comparison holds) both get gy, and a NaN or
    infinite gy stays out of the input that is not the maximum."""

    def forward(self, a, b):
        return numpy.maximum(a, b)

    def _half_on_ties(self, g):
        a, b = self.inputs[0].data, self.inputs[1].data
        return where(a == b, g * 0.5, g)

    def backward(self, gy):
        a, b = self.inputs
        g = self._half_on_ties(gy)
        finite = bool(numpy.isfinite(gy.data).all())
        return (sum_to(_select(~(a.data < b.data), g, finite), a.shape) if a.requires_grad else None,
                sum_to(_select(~(a.data > b.data), g, finite), b.shape) if b.requires_grad else None)

    def jvp(self, ta, tb):
        a, b = self.inputs[0].data, self.inputs[1].data
        return tb + where(a < b, 0.0, self._half_on_ties(ta - tb))  # torch's forward-mode rule


class Where(Function):
    """y = a where cond else b; da = gy where cond else 0, db = gy where not cond else 0.

    The gradients are selects, as torch's: a NaN or infinite gy reaches only the input it was taken
    from (gy * [cond] would put NaN = inf * 0 in the other; ``_select``)."""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        return numpy.where(self.condition, a, b)

    def backward(self, gy):
        a, b = self.inputs
        finite = bool(numpy.isfinite(gy.data).all())
        return (sum_to(_select(self.condition, gy, finite), a.shape) if a.requires_grad else None,
                sum_to(_select(~self.condition, gy, finite), b.shape) if b.requires_grad else None)

    def jvp(self, ta, tb):
        return _call(Where(self.condition), ta, tb)


class MatMul(Function):
    """y = op(a) @ op(b), op transposing the last two axes where asked (2-D or batched).

    With A = op(a), B = op(b): dA = gy B^T and dB = A^T gy (summed over broadcast batch axes). Each
    of the four transpose combinations maps its gradients onto another MatMul, so backward needs no
    separate transpose op and ``x @ W.T`` (a linear layer) is one op forward and one per gradient.
    """

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False):
        self.ta, self.tb = transpose_a, transpose_b

    def forward(self, a, b):
        return threads.matmul(_swap(a) if self.ta else a, _swap(b) if self.tb else b)

    def backward(self, gy):
        a, b = self.inputs
        ta, tb = self.ta, self.tb
        ga = gb = None
        if a.requires_grad:
            ga = _mm(b, gy, tb, True) if ta else _mm(gy, b, False, not tb)
            ga = sum_to(ga, a.shape)
        if b.requires_grad:
            gb = _mm(gy, a, True, ta) if tb else _mm(a, gy, not ta, False)
            gb = sum_to(gb, b.shape)
        return ga, gb

    def jvp(self, ta, tb):
        a, b = self.inputs
        return _mm(ta, b, self.ta, self.tb) + _mm(a, tb, self.ta, self.tb)


class Affine(Function):
    """y = x W^T + b for x (M, K), W (N, K), b (N,): a linear layer as one node, not MatMul then Add.

    The same arithmetic as ``matmul(x, W, transpose_b=True) + b`` (bit for bit), with one node to
    record and run back through instead of two (an MLP step is mostly such bookkeeping at small
    sizes). dx = gy W, dW = gy^T x, db = gy summed over the rows, each an op of its own.
    """

    def forward(self, x, w, b):
        y = threads.matmul(x, w.T)
        y += b
        return y

    def backward(self, gy):
        x, w, b = self.inputs
        if not (Mode.grad_enabled or Mode.forward_level):
            # nothing to record (no create_graph, no tangents): the three arrays without their three
            # nodes, the same calls as MatMul's and SumTo's forward (2-3 us a node, 15 nodes an MLP step)
            g = gy.data
            return (Tensor._make(threads.matmul(g, w.data)) if x.requires_grad else None,
                    Tensor._make(threads.matmul(g.T, x.data)) if w.requires_grad else None,
                    Tensor._make(g.sum(axis=0)) if b.requires_grad else None)
        return (_mm(gy, w, False, False) if x.requires_grad else None,
                _mm(gy, x, True, False) if w.requires_grad else None,
                sum_to(gy, b.shape) if b.requires_grad else None)

    def jvp(self, tx, tw, tb):
        x, w = self.inputs[:2]
        return _mm(tx, w, False, True) + _mm(x, tw, False, True) + tb


def linear(x, weight, bias=None) -> Tensor:
    """y = x W^T (+ b) over the last axis; one node for a 2-D x and a bias of the same dtype."""
    x, weight = _pair(x, weight)
    if bias is not None and x.ndim == 2 and weight.ndim == 2 and x.dtype == weight.dtype == bias.dtype:
        return _call(Affine(), x, weight, bias)
    y = matmul(x, weight, transpose_b=True)
    return y if bias is None else y + bias


def _swap(x):
    """Swap the last two axes of an array."""
    return x.T if x.ndim == 2 else x.swapaxes(-1, -2)


def _mm(a: Tensor, b: Tensor, transpose_a: bool, transpose_b: bool) -> Tensor:
    return _call(MatMul(transpose_a, transpose_b), a, b)


# ---------------------------------------------------------------------------- reductions
class Sum(Function):
    """y = sum of x over axis; dx = gy broadcast back."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless

    def __init__(self, axis, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        return _unreduce(gy, self.inputs[0].shape, self.axis, self.keepdims)

    def jvp(self, t):
        return sum(t, self.axis, self.keepdims)


class Var(Function):
    """y = sum((x - mean x)^2) / (n - ddof) over axis; dx = gy 2 (x - mean x) / (n - ddof).

    A primitive for torch's gradient, which is this closed form: where a slice holds an infinity (or
    gy is infinite) it gives +-inf per element, where the composite's route through the mean summed
    them into NaN over the whole slice. The rule is built from ops with the mean recorded, so it is
    differentiable again (the Hessian keeps its -1/n term).
    """

    def __init__(self, axis, keepdims: bool, ddof):
        self.axis, self.keepdims, self.ddof = axis, keepdims, ddof

    def forward(self, x):
        self.n = n = int(numpy.prod([x.shape[i] for i in (range(x.ndim) if self.axis is None else self.axis)]))
        divisor = float(n - self.ddof if n > self.ddof else 0)  # torch's max(0, n - correction)
        with numpy.errstate(divide="ignore", invalid="ignore"):  # n <= ddof: inf or nan, as torch
            centred = x - x.sum(axis=self.axis, keepdims=True) / float(n)
            return (centred * centred).sum(axis=self.axis, keepdims=self.keepdims) / divisor

    def _scaled_centred(self) -> Tensor:
        """2 (x - mean x) / (n - ddof), a graph over x. For the variance of all elements with n <= ddof,
        torch's NaN where x == mean and inf elsewhere (over a dim it keeps 2 / (n - ddof))."""
        x = self.inputs[0]
        centred = x - sum(x, self.axis, keepdims=True) / float(self.n)
        if self.n <= self.ddof and (self.axis is None or x.ndim == 0):
            return Tensor._make(numpy.where(centred.data == 0, numpy.nan, numpy.inf).astype(x.dtype))
        with numpy.errstate(divide="ignore"):
            return centred * float(numpy.divide(2.0, self.n - self.ddof))

    def backward(self, gy):
        return _unreduce(gy, self.inputs[0].shape, self.axis, self.keepdims) * self._scaled_centred()

    def jvp(self, t):
        return sum(t * self._scaled_centred(), self.axis, self.keepdims)


class Max(Function):
    """y = max of x over axis. ``ties`` sends the gradient where the torch function of that name does:

    "first" (torch's max over a dim, which returns an index): all of gy to the first maximal element
    (the first NaN, if any); "split" (torch's max() and min() of all elements): gy shared evenly among
    the maximal elements, or among the NaNs where there are NaNs; both selects, so a NaN gy reaches no
    other element. "amax" (torch's amax and amin): gy / count times the mask x == y, so a slice holding
    NaN (count 0) gets NaN throughout. "norm" (torch's norm(p=+-inf)): the mask of "split", multiplied
    as "amax"'s, so a NaN gy reaches the whole slice.
    """

    def __init__(self, axis, keepdims: bool, ties: str = "first"):
        self.axis, self.keepdims, self.ties = axis, keepdims, ties

    def forward(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def _mask(self):
        """(mask, count): the elements that get the gradient, and per slice how many share it (None
        for "first": one)."""
        x = self.inputs[0].data
        axis = tuple(range(x.ndim)) if self.axis is None else self.axis
        if self.ties != "first":
            y = x.max(axis=axis, keepdims=True)
            mask = x == y
            if self.ties != "amax":
                mask |= numpy.isnan(x) & numpy.isnan(y)
            return mask, mask.sum(axis=axis, keepdims=True).astype(x.dtype)
        rest = [i for i in range(x.ndim) if i not in axis]
        moved = x.transpose(rest + list(axis))
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        first = flat.argmax(axis=-1)[..., None]
        mask = numpy.zeros(flat.shape, dtype=bool)
        numpy.put_along_axis(mask, first, True, axis=-1)
        return mask.reshape(moved.shape).transpose(numpy.argsort(rest + list(axis))), None

    def _distribute(self, g: Tensor) -> Tensor:
        """g (of x's shape) where the gradient goes, shared as ``ties`` says."""
        mask, count = self._mask()
        if count is None:
            return _select(mask, g)
        with numpy.errstate(divide="ignore", invalid="ignore"):  # amax over a slice with NaN: count 0
            share = g / Tensor._make(count)
            return _select(mask, share) if self.ties == "split" else share * Tensor._make(mask)

    def backward(self, gy):
        return self._distribute(_unreduce(gy, self.inputs[0].shape, self.axis, self.keepdims))

    def jvp(self, t):
        return sum(self._distribute(t), self.axis, self.keepdims)


# ---------------------------------------------------------------------------- shapes
class SumTo(Function):
    """Sum x down to ``shape`` (the inverse of broadcasting); dx = gy broadcast back."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        if lead == 1 and x.ndim == 2 and self.shape[0] == x.shape[1]:
            return x.sum(axis=0)  # a bias's gradient, every step of every layer: skip the general case's tuples
        axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(self.shape) if n == 1 and x.shape[i + lead] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape) if lead else y

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)

    def jvp(self, t):
        return sum_to(t, self.shape)


class BroadcastTo(Function):
    """Repeat x along new or length-1 axes to ``shape``; dx = gy summed back."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless
    is_view = True  # backward checks the output was not changed through this view

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return numpy.broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)

    def jvp(self, t):
        return broadcast_to(t, self.shape)


class Reshape(Function):
    """y = x with a new shape; dx = gy with x's shape."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless
    is_view = True  # backward checks the output was not changed through this view

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)

    def jvp(self, t):
        return reshape(t, self.shape)


class Transpose(Function):
    """Permute the axes; dx = gy permuted back."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless
    is_view = True  # backward checks the output was not changed through this view

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        inverse = None if self.axes is None else tuple(numpy.argsort(self.axes))
        return transpose(gy, inverse)

    def jvp(self, t):
        return transpose(t, self.axes)


class GetItem(Function):
    """y = x[key] (slices, integers, index arrays, masks); dx = gy scattered into zeros."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless
    is_view = True  # backward checks the output was not changed through this view

    def __init__(self, key):
        self.key = key

    def forward(self, x):
        return x[self.key]

    def backward(self, gy):
        x = self.inputs[0]
        return _call(GetItemGrad(self.key, x.shape), gy)

    def jvp(self, t):
        return _call(GetItem(self.key), t)


class GetItemGrad(Function):
    """Scatter-add gy into zeros of ``shape`` at ``key`` (repeated indices accumulate)."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless

    def __init__(self, key, shape):
        self.key, self.shape = key, shape

    def forward(self, gy):
        gx = numpy.zeros(self.shape, dtype=gy.dtype)
        if _is_basic(self.key):
            gx[self.key] = gy
        else:
            numpy.add.at(gx, self.key, gy)
        return gx

    def backward(self, ggx):
        return _call(GetItem(self.key), ggx)

    def jvp(self, t):
        return _call(GetItemGrad(self.key, self.shape), t)


def _is_basic(key) -> bool:
    """True when indexing by key selects each element at most once (no index arrays)."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, numpy.integer, slice)) or k is None or k is Ellipsis for k in parts)


class Concatenate(Function):
    """Join tensors along an axis; each input's gradient is its slice of gy."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        return numpy.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        axis = self.axis % gy.ndim
        grads, start = [], 0
        for x in self.inputs:
            stop = start + x.shape[axis]
            grads.append(getitem(gy, (slice(None),) * axis + (slice(start, stop),)) if x.requires_grad else None)
            start = stop
        return tuple(grads)

    def jvp(self, *ts):
        return _call(Concatenate(self.axis), *ts)


class Cast(Function):
    """Convert to another dtype; the gradient is converted back."""

    saves_inputs = False  # uses only shapes: changing the inputs in place later is harmless

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy):
        return cast(gy, self.inputs[0].dtype)

    def jvp(self, t):
        return cast(t, self.dtype)


# ---------------------------------------------------------------------------- lowercase functions
def add(a, b) -> Tensor:
    return _call(Add(), *_pair(a, b))


def sub(a, b) -> Tensor:
    return _call(Sub(), *_pair(a, b))


def mul(a, b) -> Tensor:
    return _call(Mul(), *_pair(a, b))


def div(a, b) -> Tensor:
    """a / b, true division: integer operands give the default float dtype (as torch)."""
    a, b = _pair(a, b)
    if a.data.dtype.kind not in "fc":
        a, b = cast(a, backend.get_default_dtype()), cast(b, backend.get_default_dtype())
    return _call(Div(), a, b)


def neg(x) -> Tensor:
    return Neg()(_lift(x))


def pow(x, exponent) -> Tensor:
    """x ** exponent, computed directly (a negative base with an integer exponent is exact).

    A Python-number exponent is the Pow primitive; a Tensor exponent (or base) is PowTensor, with
    PyTorch's dtype: ``int ** int`` stays an integer, ``float32 ** float32`` float32."""
    if isinstance(exponent, Tensor) or not isinstance(x, Tensor):
        return _call(PowTensor(), *_pair(x, exponent))
    if isinstance(exponent, _SCALARS) and x.data.dtype.kind in "biu" and dtypes.scalar_dtype(
            exponent, x.data.dtype, backend.get_default_dtype()) != x.data.dtype:
        x = cast(x, backend.get_default_dtype())  # int_tensor ** 0.5 is a float tensor, as torch
    return Pow(exponent)(x)


def exp(x) -> Tensor:
    return Exp()(_float(x))


def log1p(x) -> Tensor:
    return Log1p()(_float(x))


def expm1(x) -> Tensor:
    return Expm1()(_float(x))


def _float(x) -> Tensor:
    """x as a floating-point Tensor: torch's exp, log, sin... of an integer tensor are float32."""
    x = _lift(x)
    return x if x.data.dtype.kind in "fc" else cast(x, backend.get_default_dtype())


def log(x) -> Tensor:
    return Log()(_float(x))


def sin(x) -> Tensor:
    return Sin()(_float(x))


def cos(x) -> Tensor:
    return Cos()(_float(x))


def tanh(x) -> Tensor:
    return Tanh()(_float(x))


def sigmoid(x) -> Tensor:
    return Sigmoid()(_float(x))


def relu(x) -> Tensor:
    return ReLU()(_lift(x))


def abs(x) -> Tensor:
    return Abs()(_lift(x))


def maximum(a, b) -> Tensor:
    return _call(Maximum(), *_pair(a, b))


def where(condition, a, b) -> Tensor:
    """Elementwise ``a if condition else b``; the condition carries no gradient."""
    condition = condition.data if isinstance(condition, Tensor) else backend.xp.asarray(condition)
    return _call(Where(condition.astype(bool, copy=False)), *_pair(a, b))


def matmul(a, b, transpose_a: bool = False, transpose_b: bool = False) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands are promoted and the added axis dropped.

    ``transpose_a`` / ``transpose_b`` transpose the last two axes of a 2-D-or-more operand first,
    inside the one op (``matmul(x, w, transpose_b=True)`` is ``x @ w.T``)."""
    a, b = _pair(a, b)
    if transpose_a or transpose_b:
        if a.ndim < 2 or b.ndim < 2:
            raise ShapeError(f"MatMul: transposed operands need 2 or more axes, got shapes {a.shape} and {b.shape}")
        return _mm(a, b, transpose_a, transpose_b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"MatMul: needs at least 1-D operands, got shapes {a.shape} and {b.shape}")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise ShapeError(f"MatMul: cannot combine shapes {a.shape} and {b.shape}")
        return sum(a * b)
    if a.ndim == 1:
        y = _call(MatMul(), reshape(a, (1, -1)), b)
        return reshape(y, y.shape[:-2] + y.shape[-1:])
    if b.ndim == 1:
        y = _call(MatMul(), a, reshape(b, (-1, 1)))
        return reshape(y, y.shape[:-1])
    return _call(MatMul(), a, b)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:
    x = _lift(x)
    return _call(Sum(_axes(axis, x.ndim, "Sum", x.shape), keepdims), x)


def max(x, axis=None, keepdims: bool = False, ties: str = "first") -> Tensor:
    """The maximum over ``axis``; ``ties`` as ``Max`` (where the gradient goes)."""
    x = _lift(x)
    if x.data.size == 0:
        raise ShapeError("Max: cannot reduce an empty tensor")
    return _call(Max(_axes(axis, x.ndim, "Max", x.shape), keepdims, ties), x)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis``: sum((x - mean x)^2) / (n - ddof); integers are taken as the default float."""
    x = _float(x)
    return _call(Var(_axes(axis, x.ndim, "Var", x.shape), keepdims, ddof), x)


def sum_to(x, shape) -> Tensor:
    x = _lift(x)
    if x.shape == tuple(shape):
        return x
    return _call(SumTo(shape), x)


def broadcast_to(x, shape) -> Tensor:
    x = _lift(x)
    if x.shape == tuple(shape):
        return x
    return _call(BroadcastTo(shape), x)


def reshape(x, shape) -> Tensor:
    x = _lift(x)
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    if x.shape == shape:
        return x
    return _call(Reshape(shape), x)


def transpose(x, axes=None) -> Tensor:
    x = _lift(x)
    if axes is not None:
        axes = tuple(_axis(a, x.ndim, "Transpose", x.shape) for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ShapeError(f"Transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return _call(Transpose(axes), x)


def getitem(x, key) -> Tensor:
    if isinstance(key, Tensor):
        key = key.data
    elif isinstance(key, tuple):
        key = tuple(k.data if isinstance(k, Tensor) else k for k in key)
    elif isinstance(key, list):
        key = backend.xp.asarray(key)
    try:
        return GetItem(key)(_lift(x))
    except IndexError as err:
        raise IndexError(f"GetItem: index {key!r} does not fit shape {x.shape}: {err}") from None


def concatenate(xs, axis: int = 0) -> Tensor:
    xs = [_lift(x) for x in xs]
    if not xs:
        raise ShapeError("Concatenate: needs at least one tensor")
    return _call(Concatenate(axis), *xs)


def cast(x, dtype) -> Tensor:
    x = _lift(x)
    dtype = numpy.dtype(dtype)
    if x.dtype == dtype:
        return x
    return Cast(dtype)(x)


PRIMITIVES = (Add, Sub, Mul, Div, Neg, Pow, PowTensor, Log1p, Expm1, Exp, Log, Sin, Cos, Tanh, Sigmoid, ReLU, Abs, Maximum,
              Where, MatMul, Sum, Var, Max, SumTo, BroadcastTo, Reshape, Transpose, GetItem, GetItemGrad,
              Concatenate, Cast)

