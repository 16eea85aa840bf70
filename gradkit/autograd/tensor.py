"""Tensor: an array that remembers the ops applied to it, so it can be differentiated."""
from __future__ import annotations

import numpy

from .. import backend
from .mode import Mode


def _to_array(data, dtype=None):
    """An array of the active module from a Tensor, array, list or scalar.

    Python floats and lists of floats get the default dtype (float32); arrays keep theirs unless
    ``dtype`` is given."""
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.xp
    if isinstance(data, numpy.ndarray):
        array = data if xp is numpy else xp.asarray(data)
    elif xp is not numpy and isinstance(data, xp.ndarray):
        array = data
    else:
        array = xp.asarray(data)
        if dtype is None and array.dtype.kind == "f" and not isinstance(data, numpy.generic):
            dtype = backend.get_default_dtype()
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


def _fill(t: "Tensor", data) -> None:
    """Set every slot of a new Tensor: ``data`` and a blank autodiff state."""
    t.data = data
    t.grad = None
    t.requires_grad = False
    t.creator = None
    t.generation = 0
    t.name = None
    t.tangent = None
    t._index = 0
    t._retain = False
    t._hooks = None


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` takes the hook away."""

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Tensor:
    """A multi-dimensional array with reverse- and forward-mode automatic differentiation.

    Args:
        data: array, list or scalar. Python floats become float32 (the default dtype).
        requires_grad: record operations on this tensor so ``backward`` fills ``.grad``.
        dtype: convert the data to this dtype.

    Example:
        >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "generation", "name", "tangent",
                 "_index", "_retain", "_hooks", "__weakref__")
    __array_ufunc__ = None  # numpy defers to Tensor's reflected operators: ndarray + Tensor -> Tensor

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        _fill(self, _to_array(data, dtype))
        self.name = name
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data) -> "Tensor":
        """Wrap an array without checks (the ops' fast path)."""
        t = object.__new__(cls)
        _fill(t, data)
        return t

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    @property
    def grad_fn(self):
        return self.creator

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = numpy.array2string(backend.to_numpy(self.data), separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype != backend.get_default_dtype() and self.data.dtype.kind != "b":
            extra += f", dtype={self.data.dtype}"
        if self.creator is not None:
            extra += f", grad_fn={type(self.creator).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    __hash__ = object.__hash__  # comparisons are elementwise, identity is the hash

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use .any() or .all() on .numpy()")
        return bool(self.data)

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> numpy.ndarray:
        """The data as a NumPy array (shares memory on the CPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """A tensor sharing the data, cut from the graph."""
        return Tensor._make(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients; this one is {self.data.dtype}. "
                            "Convert it first, e.g. x.astype('float32')")
        if not requires_grad and self.creator is not None:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors; use detach()")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retain = True

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` with this tensor's gradient during backward; a non-None return
        value replaces the gradient. Returns a handle whose ``remove()`` undoes it.

        A non-leaf tensor's hooks are kept by the node that made it, so they fire even when the
        tensor itself is no longer referenced (as in PyTorch)."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self.creator is not None:  # on the graph node, so the hook outlives this Python object
            hooks = self.creator.output_hooks(self._index)
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def astype(self, dtype) -> "Tensor":
        return ops.cast(self, dtype)

    def float(self) -> "Tensor":
        return ops.cast(self, numpy.float32)

    def double(self) -> "Tensor":
        return ops.cast(self, numpy.float64)

    # ------------------------------------------------------------------ autodiff
    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            gradient: d(loss)/d(self); may be omitted only for a one-element tensor.
            retain_graph: keep the graph for another backward (default: ``create_graph``).
            create_graph: record the backward pass itself, for higher derivatives.
        """
        engine.backward([self], None if gradient is None else [gradient],
                        retain_graph=create_graph if retain_graph is None else retain_graph,
                        create_graph=create_graph)

    def zero_grad(self) -> None:
        self.grad = None

    # ------------------------------------------------------------------ operators
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __getitem__(self, key): return ops.getitem(self, key)

    # comparisons give boolean tensors outside the graph
    def __eq__(self, other): return Tensor._make(self.data == _raw(other))
    def __ne__(self, other): return Tensor._make(self.data != _raw(other))
    def __lt__(self, other): return Tensor._make(self.data < _raw(other))
    def __le__(self, other): return Tensor._make(self.data <= _raw(other))
    def __gt__(self, other): return Tensor._make(self.data > _raw(other))
    def __ge__(self, other): return Tensor._make(self.data >= _raw(other))

    # ------------------------------------------------------------------ methods
    def reshape(self, *shape): return ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
    def transpose(self, *axes): return ops.transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else (axes or None))
    def swapaxes(self, axis1, axis2): return composite.swapaxes(self, axis1, axis2)
    @property
    def T(self): return ops.transpose(self, None)
    def flatten(self, start_axis: int = 0): return composite.flatten(self, start_axis)
    def squeeze(self, axis=None): return composite.squeeze(self, axis)
    def unsqueeze(self, axis): return composite.unsqueeze(self, axis)
    def broadcast_to(self, shape): return ops.broadcast_to(self, shape)
    def sum_to(self, shape): return ops.sum_to(self, shape)
    def sum(self, axis=None, keepdims=False): return ops.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return composite.mean(self, axis, keepdims)
    def var(self, axis=None, keepdims=False, ddof=0): return composite.var(self, axis, keepdims, ddof)
    def max(self, axis=None, keepdims=False): return ops.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return composite.min(self, axis, keepdims)
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return composite.sqrt(self)
    def abs(self): return ops.abs(self)
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)
    def clip(self, low=None, high=None): return composite.clip(self, low, high)
    def matmul(self, other): return ops.matmul(self, other)
    def maximum(self, other): return ops.maximum(self, other)
    def minimum(self, other): return composite.minimum(self, other)
    def argmax(self, axis=None): return Tensor._make(self.data.argmax(axis=axis))
    def argmin(self, axis=None): return Tensor._make(self.data.argmin(axis=axis))


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


# The knot docs/architecture.md names: Tensor's operators are Functions and Functions build Tensors.
from . import composite, engine, ops  # noqa: E402
