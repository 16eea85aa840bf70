"""Custom autograd Functions written the PyTorch way, run by the same engine as the primitives.

    class Cube(gradkit.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x ** 2

    y = Cube.apply(x)

``Cube.apply`` makes a ``CustomNode``: an ordinary graph node (a ``Function`` instance) that is also
the ``ctx`` handed to the user's static methods. Its ``backward`` and ``jvp`` call the user's, so the
engine needs nothing new. forward receives Tensors (run without recording a graph) and may return
Tensors or arrays; backward receives and returns Tensors (None for an input without a gradient,
non-tensor arguments included); written with Tensor ops it is itself differentiable (double backward).
"""
from __future__ import annotations

import numpy

from .function import Function
from .mode import Mode, no_grad
from .tensor import Tensor


class CustomNode(Function):
    """The graph node and the ``ctx`` of one call of a user's torch-style Function."""

    def __init__(self, user_class, args):
        self.user_class = user_class
        self.args = args
        self.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        self.to_save = ()
        self.non_differentiable = set()
        self.materialize_grads = True

    # ------------------------------------------------------------------ the ctx API
    def save_for_backward(self, *tensors):
        """Keep tensors (or None) for backward; read them back as ``ctx.saved_tensors``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save Tensors or None, got {type(t).__name__}; "
                                "store other values as attributes of ctx")
        self.to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self.freed:
            raise RuntimeError("Trying to backward through the graph a second time: saved tensors were freed; "
                               "pass retain_graph=True to the first backward")
        return tuple(self.to_save)

    def mark_non_differentiable(self, *outputs):
        """These outputs get no gradient (integer indices, masks)."""
        self.non_differentiable.update(id(o) for o in outputs)

    def set_materialize_grads(self, value: bool):
        """Accepted; backward always receives zeros for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        raise NotImplementedError("mark_dirty: in-place custom Functions are not supported by gradkit; "
                                  "return a new tensor from forward")

    # ------------------------------------------------------------------ the engine's API
    def run(self):
        inputs = tuple(self.args[i] for i in self.tensor_positions)
        with no_grad():
            result = self.user_class.forward(self, *self.args)
        single = not isinstance(result, tuple)
        raw = (result,) if single else result
        outputs = []
        for r in raw:
            data = r.data if isinstance(r, Tensor) else numpy.asarray(r)
            outputs.append(Tensor._make(data))
        self.inputs = inputs
        # saved outputs are read back as the graph's outputs, so double backward sees through them
        swap = {id(r): o for r, o in zip(raw, outputs)}
        self.to_save = tuple(swap.get(id(t), t) if t is not None else None for t in self.to_save)
        if Mode.grad_enabled and any(x.requires_grad for x in inputs):
            self._link(outputs)
            for r, o in zip(raw, outputs):
                if id(r) in self.non_differentiable or o.data.dtype.kind not in "fc":
                    o.requires_grad = False
        if Mode.forward_level and any(x.tangent is not None for x in inputs):
            self._propagate_tangents(inputs, outputs)
        return outputs[0] if single else tuple(outputs)

    def backward(self, *gys):
        grads = self.user_class.backward(self, *gys)
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) != len(self.args):
            raise RuntimeError(f"{self.user_class.__name__}.backward returned {len(grads)} gradients, but forward "
                               f"took {len(self.args)} arguments (return None for the ones without a gradient)")
        out = []
        for i in self.tensor_positions:
            g = grads[i]
            if g is not None and not isinstance(g, Tensor):
                g = Tensor._make(numpy.asarray(g, dtype=self.args[i].dtype))
            if g is not None and g.shape != self.args[i].shape:
                raise RuntimeError(f"{self.user_class.__name__}.backward returned a gradient of shape {g.shape} "
                                   f"for argument {i} of shape {self.args[i].shape}")
            out.append(g)
        return tuple(out)

    def jvp(self, *tangents):
        rule = getattr(self.user_class, "jvp", None)
        if rule is None or rule is Function.jvp:
            raise NotImplementedError(f"{self.user_class.__name__} has no jvp staticmethod for forward mode")
        full = list(self.args)
        for position, t in zip(self.tensor_positions, tangents):
            full[position] = t
        return rule(self, *full)

    def release(self):
        keep = self.user_class
        super().release()
        self.user_class = keep

    def __repr__(self):
        return f"<{self.user_class.__name__}Backward generation={self.generation}>"


def apply(user_class, *args):
    """Run a torch-style Function: forward now, the user's backward when the engine reaches it."""
    return CustomNode(user_class, args).run()
