"""Symbolic differentiation with SymPy for ``autodiff-modes``: derivatives as expressions, their size as a
function deepens, and their values in a working precision.

SymPy is imported inside the functions (``import gradkit`` stays fast)."""
from __future__ import annotations

import numpy

# nested compositions f(f(...f(x))): name -> (f on Tensors, f on SymPy expressions)
NESTS = {
    # uses its argument twice (sin(u), exp(u/2)): the expression tree doubles with each level
    "sin(u) exp(u/2)": (lambda u: u.sin() * (u / 2).exp(), lambda sp, u: sp.sin(u) * sp.exp(u / 2)),
    # uses its argument once: the tree grows by one op per level, the derivative only quadratically
    "sin(u)": (lambda u: u.sin(), lambda sp, u: sp.sin(u)),
}


def derivative(build, x_symbol=None):
    """``(x, f, df/dx)`` for ``build(sympy, x)`` a SymPy expression in one real symbol x (df unsimplified:
    SymPy's differentiation rules applied as they come)."""
    import sympy
    x = x_symbol if x_symbol is not None else sympy.Symbol("x", real=True)
    f = build(sympy, x)
    return x, f, sympy.diff(f, x)


def evaluate(expr, x_symbol, values: numpy.ndarray) -> numpy.ndarray:
    """``expr`` at ``values`` through ``sympy.lambdify`` with NumPy, in the dtype of ``values`` (a constant
    expression is broadcast)."""
    import sympy
    fn = sympy.lambdify(x_symbol, expr, modules="numpy")
    return numpy.broadcast_to(numpy.asarray(fn(values), dtype=values.dtype), values.shape)


def exact(expr, x_symbol, values, digits: int = 30) -> numpy.ndarray:
    """``expr`` at ``values`` in ``digits``-digit arithmetic (mpmath), returned as long double."""
    import mpmath
    import sympy
    fn = sympy.lambdify(x_symbol, expr, modules="mpmath")
    with mpmath.workdps(digits):
        return numpy.array([numpy.longdouble(str(fn(mpmath.mpf(float(v))))) for v in values], dtype=numpy.longdouble)


def nest(build, depth: int):
    """``build`` composed ``depth`` times with itself: u -> build(build(...build(u)))."""
    def composed(sp, u):
        for _ in range(depth):
            u = build(sp, u)
        return u
    return composed


def sizes(df, simplify: bool) -> dict:
    """Operation counts of a derivative: as SymPy returns it (``sympy.count_ops``, the expression tree,
    shared subtrees counted each time they occur), with common subexpressions shared (``sympy.cse``:
    what a graph that saves intermediate results stores), and simplified (``sympy.simplify``, slow)."""
    import sympy
    replacements, (reduced,) = sympy.cse(df)
    out = {"tree": int(sympy.count_ops(df)),
           "shared": int(sum(sympy.count_ops(v) for _, v in replacements) + sympy.count_ops(reduced))}
    if simplify:
        out["simplified"] = int(sympy.count_ops(sympy.simplify(df)))
    return out
