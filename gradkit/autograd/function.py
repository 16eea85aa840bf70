"""Function: one node of the graph, the base class of every primitive.

A primitive is a ``Function`` subclass with three methods:

* ``forward(*arrays)`` computes on raw arrays and may keep what backward needs on ``self``;
* ``backward(*grad_outputs)`` returns the gradients of the inputs, written with Tensor ops, so that
  ``backward(create_graph=True)`` records them and higher derivatives follow;
* ``jvp(*input_tangents)`` returns the tangent of the output (forward mode), also with Tensor ops.

Calling a Function on Tensors runs ``forward``, wraps the result in Tensors and, when a graph is
being recorded and some input requires grad, links the outputs to this node.
"""
from __future__ import annotations

import weakref

import numpy

from .mode import Mode


class AnomalyError(FloatingPointError):
    """An op produced NaN or Inf while anomaly detection was on."""


# In-place writes, for the check that backward reads no value changed since it was recorded.
# WRITES[0] counts writes; WRITTEN maps id(memory owner) -> (weakref to it, count at its last write).
# A node recorded at count c whose saved arrays' memory was written at a count > c is stale. While no
# in-place write happens after a node is recorded, backward checks one integer per node.
WRITES = [0]
WRITTEN: dict = {}


def memory_owner(array):
    """The array that owns ``array``'s memory (itself if it owns it)."""
    while isinstance(array.base, numpy.ndarray):
        array = array.base
    return array


def written_since(array, stamp: int) -> bool:
    """True when ``array``'s memory was written in place after write count ``stamp``."""
    owner = memory_owner(array)
    entry = WRITTEN.get(id(owner))
    return entry is not None and entry[1] > stamp and entry[0]() is owner


def check_unmodified(function: "Function") -> None:
    """Raise when a value ``function``'s backward reads was changed in place after it was recorded."""
    stamp = function._stamp
    suspects = []
    if function.saves_inputs:
        suspects += [(f"input {i}", x.data) for i, x in enumerate(function.inputs)]
    if function.saves_output or function.is_view:
        suspects += [(f"output {i}", ref().data) for i, ref in enumerate(function.outputs) if ref() is not None]
        y = function.__dict__.get("y")
        if isinstance(y, numpy.ndarray):
            suspects.append(("output", y))
    for what, array in suspects:
        if written_since(array, stamp):
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: the {what} of {type(function).__name__} (shape {tuple(array.shape)}) was changed "
                f"in place after {type(function).__name__} recorded it, so its gradient would be wrong. "
                f"Use the out-of-place form (y = y + 1, not y += 1), or clone() the tensor before changing it.")


class Function:
    """Base class of the primitives. Subclasses implement forward, backward and jvp."""

    generation = 0
    inputs = ()
    outputs = ()
    freed = False
    saves_inputs = True    # backward reads the inputs' values (False: only their shapes)
    saves_output = False   # backward reads the output's value (kept as ``self.y`` or via ``output()``)
    is_view = False        # the output may share the input's memory (reshape, transpose, basic indexing)
    _stamp = 0             # the count of in-place writes when this node was recorded

    def __call__(self, *inputs: "Tensor"):
        # The hot path of the whole library: plain loops, no generator expressions.
        ys = self.forward(*[x.data for x in inputs])
        self.inputs = inputs
        if type(ys) is tuple:
            outputs = tuple(_wrap(y) for y in ys)
        else:
            outputs = (_wrap(ys),)
        if Mode.anomaly:
            _check_finite(self, "forward", [o.data for o in outputs], inputs)
        if Mode.grad_enabled:
            for x in inputs:
                if x.requires_grad:
                    self._link(outputs)
                    break
        if Mode.forward_level:
            for x in inputs:
                if x.tangent is not None:
                    self._propagate_tangents(inputs, outputs)
                    break
        return outputs[0] if len(outputs) == 1 else outputs

    def _link(self, outputs):
        """Record this node as the creator of ``outputs``, one generation after its newest input."""
        generation = 0
        for x in self.inputs:
            if x.generation > generation:
                generation = x.generation
        self.generation = generation
        self._stamp = WRITES[0]
        for index, y in enumerate(outputs):
            y.requires_grad = True
            y.creator = self
            y.generation = generation + 1
            y._index = index
        self.outputs = tuple([weakref.ref(y) for y in outputs])

    @classmethod
    def apply(cls, *args):
        """PyTorch's style: ``MyFunction.apply(x, ...)`` for a subclass with ``@staticmethod``
        ``forward(ctx, ...)`` and ``backward(ctx, *grads)`` (see autograd/custom.py)."""
        from .custom import apply
        return apply(cls, *args)

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, *gys):
        raise NotImplementedError(f"{type(self).__name__} has no backward rule")

    def jvp(self, *tangents):
        raise NotImplementedError(f"{type(self).__name__} has no forward-mode (jvp) rule")

    def output(self, data, index: int = 0) -> "Tensor":
        """The output Tensor as recorded in the graph, or ``data`` as a constant once it is gone.

        Rules such as tanh' = 1 - y^2 use the output. While a graph is kept (create_graph) the
        output Tensor is alive and its use is recorded; otherwise a constant is exact."""
        if self.outputs:
            y = self.outputs[index]()
            if y is not None:
                return y
        return Tensor._make(data)

    def output_hooks(self, index: int) -> list:
        """The gradient hooks registered on output ``index`` (kept here, not on the Tensor)."""
        hooks = self.__dict__.setdefault("_output_hooks", {})
        return hooks.setdefault(index, [])

    def _propagate_tangents(self, inputs, outputs):
        if not self.outputs:
            self.outputs = tuple(weakref.ref(y) for y in outputs)
        tangents = [x.tangent if x.tangent is not None else Tensor._make(x.data * 0) for x in inputs]
        level, Mode.forward_level = Mode.forward_level, 0  # the rule itself runs on primals only
        try:
            out = self.jvp(*tangents)
        finally:
            Mode.forward_level = level
        for y, t in zip(outputs, out if isinstance(out, tuple) else (out,)):
            y.tangent = t

    def release(self):
        """Free what the graph held for backward; a second backward through here will say so."""
        self.__dict__.clear()
        self.freed = True

    def __repr__(self):
        return f"<{type(self).__name__} generation={self.generation}>"


def _wrap(y) -> "Tensor":
    """A Tensor around an op's result (NumPy reductions return scalars, not 0-d arrays)."""
    return Tensor._make(y if not isinstance(y, numpy.generic) else numpy.asarray(y))


def _check_finite(function, phase, arrays, inputs):
    for array in arrays:
        if array.dtype.kind in "fc" and not numpy.isfinite(array).all():
            bad = "NaN" if numpy.isnan(array).any() else "Inf"
            shapes = ", ".join(str(tuple(x.shape)) for x in inputs)
            raise AnomalyError(f"{type(function).__name__}.{phase} produced {bad} "
                               f"(input shapes {shapes}; output shape {tuple(array.shape)})")


# The knot docs/architecture.md names: Tensor's operators are Functions and Functions build Tensors.
from .tensor import Tensor  # noqa: E402
