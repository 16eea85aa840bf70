"""Reverse mode: run the graph backwards, in generation order, with an explicit heap.

One routine serves ``Tensor.backward`` (accumulate into the leaves' ``.grad``) and ``grad``
(return the gradients of chosen tensors and touch no ``.grad``). No recursion, so a chain of any
length works; without ``retain_graph`` each node frees what it held as soon as it has run.
"""
from __future__ import annotations

import heapq
import itertools

from ..backend import get_array_module
from .function import WRITES, _check_finite, check_unmodified
from .ops import cast
from .mode import Mode, set_grad_enabled
from .tensor import Tensor

_FREED = ("Trying to backward through the graph a second time: its saved values were freed by "
          "the first backward. Pass retain_graph=True to the first backward (or to gradkit.grad) "
          "if you need to backward through it again.")


def _as_gradient(gradient, output: Tensor) -> Tensor:
    g = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=output.dtype)
    if g.shape != output.shape:
        raise ValueError(f"gradient has shape {g.shape} but the output it belongs to has shape {output.shape}")
    return g


def _seed(outputs, gradients):
    if gradients is None:
        gradients = [None] * len(outputs)
    if len(gradients) != len(outputs):
        raise ValueError(f"got {len(gradients)} gradients for {len(outputs)} outputs")
    seeded = []
    for y, g in zip(outputs, gradients):
        if not isinstance(y, Tensor):
            raise TypeError(f"backward needs Tensors, got {type(y).__name__}")
        if not y.requires_grad:
            raise RuntimeError("backward on a tensor that does not require grad and has no graph: "
                               "set requires_grad=True on the inputs you differentiate with respect to "
                               "(and compute it outside no_grad)")
        if g is None:
            if y.data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a one-element output, but this one has "
                                   f"shape {y.shape}. Reduce it first (y.sum().backward()) or pass the gradient "
                                   f"of the loss with respect to it: y.backward(gradient=...)")
            g = Tensor._make(get_array_module(y.data).ones_like(y.data))  # 1, even where y is NaN or inf
        else:
            g = _as_gradient(g, y)
            g = Tensor._make(g.data.copy()) if not g.requires_grad else g
        seeded.append(g)
    return seeded


def _run_hooks(hooks: list, g: Tensor) -> Tensor:
    for hook in list(hooks):
        result = hook(g)
        if result is not None:
            g = result
    return g


def backward(outputs, gradients=None, retain_graph: bool = False, create_graph: bool = False, inputs=None):
    """Back-propagate from ``outputs``.

    With ``inputs`` (a sequence of tensors), return their total gradients (None where no path
    leads) and leave every ``.grad`` untouched; otherwise accumulate into the leaves' ``.grad``.
    """
    gradients = _seed(outputs, gradients)
    wanted = None if inputs is None else {id(t): i for i, t in enumerate(inputs)}
    captured = None if inputs is None else [None] * len(inputs)
    pending = {}        # Function -> list of gradients of its outputs, summed as they arrive
    leaves = {}         # id(leaf) -> [leaf, summed gradient]
    heap, order = [], itertools.count()
    owned = set()       # ids of arrays already stored as some tensor's .grad in this pass

    def own(g: Tensor) -> Tensor:
        """A gradient to store as a .grad: never a view, never an array another .grad holds,
        so an in-place edit of one gradient (clipping, say) cannot change another."""
        if id(g.data) in owned or g.data.base is not None:
            g = g * 1 if create_graph else Tensor._make(g.data.copy())
        owned.add(id(g.data))
        return g

    def deliver(x: Tensor, g: Tensor):
        f = x.creator
        if f is None:
            entry = leaves.get(id(x))
            if entry is None:
                leaves[id(x)] = [x, g]
            else:
                entry[1] = entry[1] + g
            return
        if f.freed:
            raise RuntimeError(_FREED)
        slot = pending.get(f)
        if slot is None:
            slot = pending[f] = [None] * len(f.outputs)
            heapq.heappush(heap, (-f.generation, next(order), f))
        slot[x._index] = g if slot[x._index] is None else slot[x._index] + g

    with set_grad_enabled(create_graph):
        for y, g in zip(outputs, gradients):
            deliver(y, g)
        while heap:
            f = heapq.heappop(heap)[2]
            if f._stamp != WRITES[0]:  # some tensor was changed in place since f was recorded
                check_unmodified(f)
            gys = pending.pop(f)
            hooks = f.__dict__.get("_output_hooks")
            for i, ref in enumerate(f.outputs):
                if hooks and gys[i] is not None and hooks.get(i):
                    gys[i] = _run_hooks(hooks[i], gys[i])
                y = ref()
                if y is None:
                    continue
                if gys[i] is None:
                    gys[i] = Tensor._make(y.data * 0)
                    continue
                if wanted is not None:
                    if id(y) in wanted:
                        captured[wanted[id(y)]] = gys[i]
                elif y._retain:
                    y.grad = own(gys[i]) if y.grad is None else y.grad + gys[i]
            if Mode.anomaly:  # check the rule's result as a whole, naming the op being differentiated
                Mode.anomaly = False
                try:
                    gxs = f.backward(*gys)
                finally:
                    Mode.anomaly = True
                gxs = gxs if isinstance(gxs, tuple) else (gxs,)
                _check_finite(f, "backward", [g.data for g in gxs if g is not None], f.inputs)
            else:
                gxs = f.backward(*gys)
                if not isinstance(gxs, tuple):
                    gxs = (gxs,)
            for x, gx in zip(f.inputs, gxs):
                if gx is not None and x.requires_grad:
                    deliver(x, gx)
            if not retain_graph:
                f.release()

        for x, g in leaves.values():
            if g.data.dtype != x.data.dtype:  # a leaf's gradient has the leaf's dtype, as in torch
                g = cast(g, x.data.dtype)
            if x._hooks:
                g = _run_hooks(x._hooks, g)
            if wanted is not None:
                if id(x) in wanted:
                    captured[wanted[id(x)]] = g
                continue
            if x.grad is None:
                x.grad = own(g)
            elif create_graph or x.grad.requires_grad or x.grad.shape != g.shape:
                x.grad = x.grad + g
            else:
                x.grad.data += g.data
    return captured


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors that require grad.
        grad_outputs: d(loss)/d(output) for each output (None for one-element outputs).
        retain_graph: keep the graph (default: ``create_graph``).
        create_graph: record the gradient computation, for higher derivatives.
        allow_unused: return None for an input no output depends on, instead of raising.

    Example:
        >>> x = Tensor(3.0, requires_grad=True)
        >>> (dy,) = grad(x ** 3, x, create_graph=True)     # 3 x^2 = 27
        >>> (d2y,) = grad(dy, x)                             # 6 x = 18
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad: one of the inputs does not require grad")
    if grad_outputs is not None and isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    result = backward(outputs, grad_outputs, retain_graph=create_graph if retain_graph is None else retain_graph,
                      create_graph=create_graph, inputs=inputs)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {inputs[i].shape}) is not used to compute the outputs; "
                               "pass allow_unused=True to get None for it")
    return tuple(result)
