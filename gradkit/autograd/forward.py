"""Forward mode: tangents pushed through the same primitives, by their ``jvp`` rules.

A Tensor may carry a ``tangent`` (the directional derivative of its value). While forward mode is
on, every primitive applied to an input with a tangent computes its output's tangent with its jvp
rule. ``jvp`` packages that; ``Dual`` is the dual number a + b·ε of the textbooks, built on the
same mechanism: its arithmetic *is* the primitives' jvp rules.
"""
from __future__ import annotations

from .engine import grad
from .mode import forward_ad
from .tensor import Tensor


def _as_tuple(x):
    return (x,) if not isinstance(x, (tuple, list)) else tuple(x)


def jvp(f, primals, tangents):
    """Jacobian-vector product J_f(primals) · tangents in one forward pass.

    Args:
        f: function of Tensors returning a Tensor or a tuple of Tensors.
        primals: a Tensor (or array) or a tuple of them: the point.
        tangents: matching tangents: the direction.

    Returns:
        (outputs, output_tangents), detached from any graph.

    Example:
        >>> y, dy = jvp(lambda x: x ** 2, Tensor(3.0), Tensor(1.0))   # 9, 6
    """
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    inputs = []
    for p, t in zip(primals, tangents):
        x = Tensor(p).detach() if not isinstance(p, Tensor) else p.detach()
        tangent = t if isinstance(t, Tensor) else Tensor(t, dtype=x.dtype)
        if tangent.shape != x.shape:
            raise ValueError(f"jvp: tangent of shape {tangent.shape} for a primal of shape {x.shape}")
        x.tangent = tangent.detach()
        inputs.append(x)
    with forward_ad():
        outputs = f(*inputs)
    single = isinstance(outputs, Tensor)
    outs = _as_tuple(outputs)
    values = tuple(y.detach() for y in outs)
    derivs = tuple(y.tangent.detach() if y.tangent is not None else Tensor._make(y.data * 0) for y in outs)
    return (values[0], derivs[0]) if single else (values, derivs)


def hvp(f, inputs, v):
    """Hessian-vector product H_f(inputs) · v by double backward (Pearlmutter's trick).

    The gradient g(x) = ∇f is computed with ``create_graph=True``; then ∇(g · v) = H v.

    Returns:
        (f(inputs), Hv) with Hv a Tensor or a tuple matching ``inputs``.
    """
    single = not isinstance(inputs, (tuple, list))
    xs = [x if isinstance(x, Tensor) and x.requires_grad else Tensor(x, requires_grad=True)
          for x in _as_tuple(inputs)]
    vs = [t if isinstance(t, Tensor) else Tensor(t, dtype=x.dtype) for t, x in zip(_as_tuple(v), xs)]
    y = f(*xs)
    if y.data.size != 1:
        raise ValueError(f"hvp: f must return one number, got shape {y.shape}")
    gs = grad(y, xs, create_graph=True)
    dot = None
    for g, t in zip(gs, vs):
        term = (g * t).sum()
        dot = term if dot is None else dot + term
    hv = grad(dot, xs, allow_unused=True)
    hv = tuple(h.detach() if h is not None else Tensor._make(x.data * 0) for h, x in zip(hv, xs))
    return y.detach(), (hv[0] if single else hv)


class Dual:
    """A dual number a + b·ε (ε² = 0): ``primal`` a and ``tangent`` b, for teaching forward mode.

    Arithmetic on Duals runs the same primitives as everything else; their jvp rules carry the
    tangent, so f(Dual(x, 1)).tangent is f'(x).

    Example:
        >>> d = Dual(2.0, 1.0)
        >>> (d * d * d).tangent        # 3 x^2 at x = 2
        12.0
    """

    __slots__ = ("_t",)

    def __init__(self, primal, tangent=0.0):
        t = Tensor(primal).detach() if not isinstance(primal, Tensor) else primal.detach()
        t.tangent = Tensor(tangent, dtype=t.dtype) if not isinstance(tangent, Tensor) else tangent
        self._t = t

    @classmethod
    def _wrap(cls, t: Tensor) -> "Dual":
        d = object.__new__(cls)
        if t.tangent is None:
            t.tangent = Tensor._make(t.data * 0)
        d._t = t
        return d

    @property
    def primal(self):
        return self._t.item() if self._t.data.size == 1 else self._t.detach()

    @property
    def tangent(self):
        return self._t.tangent.item() if self._t.data.size == 1 else self._t.tangent

    def _apply(self, name, *others):
        args = [o._t if isinstance(o, Dual) else o for o in others]
        with forward_ad():
            return Dual._wrap(getattr(self._t, name)(*args))

    def __add__(self, o): return self._apply("__add__", o)
    def __radd__(self, o): return self._apply("__radd__", o)
    def __sub__(self, o): return self._apply("__sub__", o)
    def __rsub__(self, o): return self._apply("__rsub__", o)
    def __mul__(self, o): return self._apply("__mul__", o)
    def __rmul__(self, o): return self._apply("__rmul__", o)
    def __truediv__(self, o): return self._apply("__truediv__", o)
    def __rtruediv__(self, o): return self._apply("__rtruediv__", o)
    def __pow__(self, o): return self._apply("__pow__", o)
    def __neg__(self): return self._apply("__neg__")
    def exp(self): return self._apply("exp")
    def log(self): return self._apply("log")
    def sin(self): return self._apply("sin")
    def cos(self): return self._apply("cos")
    def tanh(self): return self._apply("tanh")
    def sigmoid(self): return self._apply("sigmoid")
    def sqrt(self): return self._apply("sqrt")

    def __repr__(self):
        return f"Dual({self.primal!r}, {self.tangent!r})"
