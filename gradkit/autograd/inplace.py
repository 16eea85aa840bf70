"""In-place operations: the tensor's own array changes, so every alias of it sees the change.

``w -= lr * w.grad`` under ``no_grad`` updates the parameter object itself, as in PyTorch. The rules:

* a leaf that requires grad may only be changed inside ``no_grad`` (PyTorch's error otherwise);
* a tensor inside a graph (it requires grad and has a creator) changed while recording: the op is
  recorded, the tensor takes the new node as its creator, and the node that made it keeps a copy of
  its old value. Views of graph tensors are refused (gradkit does not track views in the graph);
* every write is counted (``function.WRITES``); backward refuses a node whose saved values were
  written after it was recorded, instead of returning a wrong gradient.
"""
from __future__ import annotations

import weakref

import numpy

from .. import backend
from .function import WRITES, WRITTEN, memory_owner
from .mode import Mode
from .tensor import Tensor

_LEAF = "a leaf Variable that requires grad is being used in an in-place operation."


def mark_written(array) -> None:
    """Count one in-place write to ``array``'s memory."""
    WRITES[0] += 1
    owner = memory_owner(array)
    key = id(owner)
    # the entry goes when the memory does, so a loop writing into fresh arrays does not grow the table
    WRITTEN[key] = (weakref.ref(owner, lambda _, key=key: WRITTEN.pop(key, None)), WRITES[0])


def _records(t: Tensor, operands) -> bool:
    """Whether the write must be recorded in the graph; raises where PyTorch does or gradkit cannot."""
    if not Mode.grad_enabled:
        return False
    involved = t.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in operands)
    if not involved:
        return False
    if t.requires_grad and t.creator is None:
        raise RuntimeError(_LEAF + " Wrap the update in `with gradkit.no_grad():`.")
    if isinstance(t.data.base, numpy.ndarray):
        raise RuntimeError("in-place operation on a view of another tensor while recording a graph: gradkit does "
                           "not track views in the graph. Use the out-of-place form (y = y + 1) or clone() first.")
    return True


def _write(t: Tensor, value, op: str, casting: str = "same_kind") -> Tensor:
    """Copy ``value`` (an array or number) into ``t``'s array, with PyTorch's casting rule: arithmetic
    may not turn a float result into an integer tensor; copies and fills may."""
    if not t.data.flags.writeable:
        raise RuntimeError(f"{op}: this tensor's memory is read-only (an expand()ed or broadcast tensor): "
                           "clone() it first")
    value = value.data if isinstance(value, Tensor) else value
    shape = numpy.shape(value)
    if numpy.broadcast_shapes(shape, t.shape) != t.shape:
        raise RuntimeError(f"{op}: output with shape {list(t.shape)} doesn't match the broadcast shape "
                           f"{list(numpy.broadcast_shapes(shape, t.shape))}")
    try:
        numpy.copyto(t.data, value, casting=casting)
    except TypeError as err:
        raise RuntimeError(f"{op}: result type {numpy.result_type(value)} can't be cast to the desired output "
                           f"type {t.dtype}") from err
    mark_written(t.data)
    return t


def _adopt(t: Tensor, new: Tensor, op: str) -> Tensor:
    """Make graph tensor ``t`` the output of ``new``'s node: its old value moves to a copy that the
    node that made it keeps, its array receives the new value."""
    from .ops import cast
    if new.dtype != t.dtype:
        new = cast(new, t.dtype)
    old = Tensor._make(t.data.copy())
    old.requires_grad, old.creator, old.generation, old._index = t.requires_grad, t.creator, t.generation, t._index
    if t.creator is not None and t.creator.outputs:
        outputs = list(t.creator.outputs)
        outputs[t._index] = weakref.ref(old)
        t.creator.outputs = tuple(outputs)
    node = new.creator
    node.inputs = tuple(old if x is t else x for x in node.inputs)
    node.outputs = (weakref.ref(t),)
    _write(t, new.data, op)
    t.requires_grad, t.creator, t.generation, t._index = True, node, new.generation, 0
    return t


def _apply(t: Tensor, op: str, compute, *operands, casting: str = "same_kind") -> Tensor:
    """Run ``compute(t)`` (an out-of-place op) and store its result in ``t`` itself."""
    if _records(t, operands):
        return _adopt(t, compute(t), op)
    with _no_grad():
        return _write(t, compute(t).data, op, casting)


def _no_grad():
    from .mode import no_grad
    return no_grad()


def add_(t, other, alpha=1):
    return _apply(t, "add_", lambda x: x + (other if alpha == 1 else other * alpha), other)


def sub_(t, other, alpha=1):
    return _apply(t, "sub_", lambda x: x - (other if alpha == 1 else other * alpha), other)


def mul_(t, other):
    return _apply(t, "mul_", lambda x: x * other, other)


def div_(t, other):
    if t.data.dtype.kind not in "fc":
        raise RuntimeError(f"div_: result type Float can't be cast to the desired output type {t.dtype}")
    return _apply(t, "div_", lambda x: x / other, other)


def pow_(t, exponent):
    return _apply(t, "pow_", lambda x: x ** exponent, exponent)


def clamp_(t, min=None, max=None):
    from .pointwise import clamp
    return _apply(t, "clamp_", lambda x: clamp(x, min, max), min, max)


def masked_fill_(t, mask, value):
    from .pointwise import masked_fill
    return _apply(t, "masked_fill_", lambda x: masked_fill(x, mask, value), value)


def _replace(x, value):
    """``value`` broadcast to x's shape, as a graph op (x gets a zero gradient, value its own)."""
    from .ops import where
    return where(numpy.ones(x.shape, dtype=bool), value, x)


def copy_(t, source):
    """Copy ``source``'s values (broadcast, cast to t's dtype) into ``t``."""
    if not _records(t, (source,)):
        return _write(t, source, "copy_", "unsafe")
    return _apply(t, "copy_", lambda x: _replace(x, source), source)


def fill_(t, value):
    if not _records(t, (value,)):
        return _write(t, value, "fill_", "unsafe")
    return _apply(t, "fill_", lambda x: _replace(x, value), value)


def zero_(t):
    _records(t, ())
    return _write(t, 0, "zero_")


def _generator(generator, rng):
    return backend.resolve_rng(rng if rng is not None else generator)


def uniform_(t, a: float = 0.0, b: float = 1.0, generator=None, *, rng=None):
    """Fill with samples of U(a, b) from ``generator``/``rng`` (a numpy Generator or seed; the global
    generator, set by ``manual_seed``, when neither is given)."""
    _records(t, ())
    return _write(t, _generator(generator, rng).uniform(a, b, t.shape), "uniform_")


def normal_(t, mean: float = 0.0, std: float = 1.0, generator=None, *, rng=None):
    """Fill with samples of N(mean, std^2) from ``generator``/``rng`` (or the global generator)."""
    _records(t, ())
    return _write(t, _generator(generator, rng).normal(mean, std, t.shape), "normal_")


def setitem(t, key, value):
    """``t[key] = value`` in place (integers, slices, masks and index arrays)."""
    key = key.data if isinstance(key, Tensor) else (
        tuple(k.data if isinstance(k, Tensor) else k for k in key) if isinstance(key, tuple) else key)
    if _records(t, (value,)):
        from .pointwise import index_put
        return _adopt(t, index_put(t, key, value), "__setitem__")
    if not t.data.flags.writeable:
        raise RuntimeError("__setitem__: this tensor's memory is read-only (an expand()ed tensor): clone() it first")
    value = value.data if isinstance(value, Tensor) else value
    try:
        t.data[key] = numpy.asarray(value).astype(t.dtype, copy=False)
    except TypeError as err:
        raise RuntimeError(f"__setitem__: can't assign a {numpy.result_type(value)} value to a {t.dtype} tensor") \
            from err
    mark_written(t.data)
    return t
