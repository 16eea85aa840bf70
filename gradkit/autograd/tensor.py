"""Tensor: an array that remembers the ops applied to it, so it can be differentiated."""
from __future__ import annotations

import numpy

from .. import backend
from .. import device as _device
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

    def size(self, dim: int | None = None):
        """The shape (a tuple), or the length of axis ``dim``, as torch's ``size()``."""
        if dim is None:
            return self.data.shape
        return self.data.shape[ops._axis(dim, self.data.ndim, "size", self.data.shape)]

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    nelement = numel

    def dim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        """Always the CPU (gradkit has no GPU device)."""
        return _device.CPU

    is_cuda = False

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    @property
    def grad_fn(self):
        return self.creator

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

    # ------------------------------------------------------------------ Python protocols
    __hash__ = object.__hash__  # comparisons are elementwise, identity is the hash

    def _one(self, what: str):
        if self.data.size != 1:
            if what == "bool":
                raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous "
                                   f"(shape {self.shape}); use .any() or .all()")
            raise ValueError(f"only one element tensors can be converted to Python scalars (shape {self.shape})")
        return self.data.reshape(()).item()

    def __bool__(self):
        return bool(self._one("bool"))

    def __float__(self):
        return float(self._one("Scalar"))

    def __int__(self):
        return int(self._one("Scalar"))

    def __index__(self):
        if self.data.ndim != 0 and self.data.size != 1 or self.data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._one("Scalar"))

    def __format__(self, spec):
        """A 0-d tensor formats as its number (f"{loss:.4f}"), as torch; others only without a spec."""
        if self.data.ndim == 0:
            return format(self.data.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return repr(self)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __contains__(self, element):
        return bool((self.data == _raw(element)).any())

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> numpy.ndarray:
        """The data as a NumPy array (shares memory on the CPU). Unlike torch, also on a tensor that
        requires grad (the array is outside the graph either way)."""
        return backend.to_numpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return self.data.item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def detach(self) -> "Tensor":
        """A tensor sharing the data, cut from the graph."""
        return Tensor._make(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients; this one is "
                               f"{self.data.dtype}. Convert it first, e.g. x.float()")
        if not requires_grad and self.creator is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; use detach()")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False (it does not require grad)")
        self._retain = True

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` with this tensor's gradient during backward; a non-None return
        value replaces the gradient. Returns a handle whose ``remove()`` undoes it.

        A non-leaf tensor's hooks are kept by the node that made it, so they fire even when the
        tensor itself is no longer referenced (as in PyTorch)."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.creator is not None:  # on the graph node, so the hook outlives this Python object
            hooks = self.creator.output_hooks(self._index)
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    # ------------------------------------------------------------------ autodiff
    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            gradient: d(loss)/d(self); may be omitted only for a one-element tensor.
            retain_graph: keep the graph for another backward (default: ``create_graph``).
            create_graph: record the backward pass itself, for higher derivatives.
            inputs: accumulate only into these tensors' ``.grad`` (default: every leaf).
        """
        retain = create_graph if retain_graph is None else retain_graph
        gradients = None if gradient is None else [gradient]
        if inputs is None:
            engine.backward([self], gradients, retain_graph=retain, create_graph=create_graph)
            return
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for x, g in zip(inputs, engine.backward([self], gradients, retain_graph=retain,
                                                create_graph=create_graph, inputs=inputs)):
            if g is not None:
                x.grad = g if x.grad is None else x.grad + g

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
    def __floordiv__(self, other): return pointwise.floor_divide(self, other)
    def __rfloordiv__(self, other): return pointwise.floor_divide(other, self)
    def __mod__(self, other): return pointwise.remainder(self, other)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __invert__(self): return pointwise.logical_not(self) if self.data.dtype.kind == "b" else Tensor._make(~self.data)
    def __and__(self, other): return Tensor._make(self.data & _raw(other))
    def __or__(self, other): return Tensor._make(self.data | _raw(other))
    def __xor__(self, other): return Tensor._make(self.data ^ _raw(other))
    def __getitem__(self, key): return ops.getitem(self, key)
    def __setitem__(self, key, value): inplace.setitem(self, key, value)

    # in place: the tensor itself changes, so every alias (views, from_numpy's array) sees it
    def __iadd__(self, other): return inplace.add_(self, other)
    def __isub__(self, other): return inplace.sub_(self, other)
    def __imul__(self, other): return inplace.mul_(self, other)
    def __itruediv__(self, other): return inplace.div_(self, other)
    def __ipow__(self, other): return inplace.pow_(self, other)

    # comparisons give boolean tensors outside the graph
    def __eq__(self, other): return Tensor._make(numpy.asarray(self.data == _raw(other)))
    def __ne__(self, other): return Tensor._make(numpy.asarray(self.data != _raw(other)))
    def __lt__(self, other): return Tensor._make(numpy.asarray(self.data < _raw(other)))
    def __le__(self, other): return Tensor._make(numpy.asarray(self.data <= _raw(other)))
    def __gt__(self, other): return Tensor._make(numpy.asarray(self.data > _raw(other)))
    def __ge__(self, other): return Tensor._make(numpy.asarray(self.data >= _raw(other)))


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


# The knot (docs/architecture.md): Tensor's operators are Functions and Functions build Tensors.
from . import composite, engine, inplace, ops, pointwise  # noqa: E402
from .methods import TorchMethods  # noqa: E402

for _name, _member in vars(TorchMethods).items():  # torch's methods, kept in methods.py
    if not _name.startswith("__"):
        setattr(Tensor, _name, _member)
