"""Numerical gradients by float64 central differences, and checks of analytic ones against them."""
from __future__ import annotations

import numpy

from .engine import grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical derivatives disagree; the message names the worst element."""


def _float64_inputs(inputs):
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    return [Tensor(numpy.array(x.data if isinstance(x, Tensor) else x, dtype=numpy.float64), requires_grad=True)
            for x in inputs]


def _projected(f, weights):
    """s(x) = sum_k w_k f(x)_k: one number whose gradient is J^T w."""
    def s(*xs):
        y = f(*xs)
        ys = y if isinstance(y, (tuple, list)) else (y,)
        total = None
        for out, w in zip(ys, weights(ys)):
            term = (out * Tensor._make(w)).sum()
            total = term if total is None else total + term
        return total
    return s


def _fixed_weights(rng):
    """weights(outputs): random projection weights drawn on the first call, the same ever after."""
    cache = []

    def weights(ys):
        if not cache:
            cache.extend(rng.standard_normal(y.shape) for y in ys)
        return cache
    return weights


def numerical_grad(f, inputs, eps: float = 1e-6):
    """d f / d inputs for a scalar f by central differences (f(x+h) - f(x-h)) / 2h, in float64."""
    xs = _float64_inputs(inputs)
    grads = []
    for x in xs:
        g = numpy.zeros_like(x.data)
        flat, gflat = x.data.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = float(f(*xs).data.sum())
            flat[i] = old - eps
            minus = float(f(*xs).data.sum())
            flat[i] = old
            gflat[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def _compare(analytic, numeric, atol, rtol, what):
    worst = None
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        err = numpy.abs(a - n) - (atol + rtol * numpy.abs(n))
        i = int(numpy.argmax(err)) if err.size else 0
        if err.size and err.reshape(-1)[i] > 0 and (worst is None or err.reshape(-1)[i] > worst[0]):
            worst = (err.reshape(-1)[i], k, numpy.unravel_index(i, a.shape), a.reshape(-1)[i], n.reshape(-1)[i])
    if worst is not None:
        _, k, index, a, n = worst
        raise GradcheckError(f"{what}: input {k} at index {tuple(int(j) for j in index)}: analytic {a:.10g}, "
                             f"numerical {n:.10g} (atol {atol}, rtol {rtol})")
    return True


def gradcheck(f, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check reverse-mode gradients of ``f`` against central differences in float64.

    A non-scalar output is projected on fixed random weights w, so the check covers J^T w.
    Raises GradcheckError naming the input, the index, the analytic and the numerical value of the
    worst element; returns True otherwise.
    """
    rng = numpy.random.default_rng(seed)
    s = _projected(f, _fixed_weights(rng))
    xs = _float64_inputs(inputs)
    analytic = [g.data if g is not None else numpy.zeros_like(x.data)
                for g, x in zip(grad(s(*xs), xs, allow_unused=True), xs)]
    return _compare(analytic, numerical_grad(s, xs, eps), atol, rtol, "gradcheck")


def gradgradcheck(f, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check second derivatives: gradcheck of x -> sum(v * grad(s, x, create_graph=True))."""
    rng = numpy.random.default_rng(seed + 1)
    xs0 = _float64_inputs(inputs)
    vs = [rng.standard_normal(x.shape) for x in xs0]
    s = _projected(f, _fixed_weights(rng))

    def first_derivative(*xs):
        gs = grad(s(*xs), xs, create_graph=True, allow_unused=True)
        total = Tensor._make(numpy.zeros(()))
        for g, v in zip(gs, vs):
            if g is not None:
                total = total + (g * Tensor._make(v)).sum()
        return total

    total = first_derivative(*xs0)
    # A linear f (add, reshape, sum...) has a gradient that does not depend on x: no graph, H = 0.
    seconds = grad(total, xs0, allow_unused=True) if total.requires_grad else [None] * len(xs0)
    analytic = [g.data if g is not None else numpy.zeros_like(x.data) for g, x in zip(seconds, xs0)]
    return _compare(analytic, numerical_grad(first_derivative, xs0, eps), atol, rtol, "gradgradcheck")
