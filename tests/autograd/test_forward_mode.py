"""Forward mode: jvp against reverse mode (<u, J v> = <J^T u, v>) and finite differences; Dual numbers."""
import math

import numpy
import pytest

import gradkit as gk
from gradkit.autograd import Dual, jvp


def _point(case, dtype, seed=0):
    inputs, consts = case.inputs(dtype, seed)
    rng = numpy.random.default_rng(seed + 100)
    tangents = [rng.standard_normal(x.shape).astype(dtype) for x in inputs]
    return case.closed(consts), inputs, tangents


def test_jvp_agrees_with_vjp(case, close):
    """<u, J v> from one forward pass equals <J^T u, v> from one backward pass, for random u, v."""
    f, inputs, tangents = _point(case, numpy.float64)
    out, jv = jvp(f, tuple(gk.Tensor(x) for x in inputs), tuple(gk.Tensor(t) for t in tangents))
    xs = [gk.Tensor(x, requires_grad=True) for x in inputs]
    y = f(*xs)
    close(out, y.data, out.dtype, "jvp's primal output")
    assert jv.shape == y.shape and jv.dtype == y.dtype
    u = numpy.random.default_rng(7).standard_normal(y.shape).astype(y.dtype)
    vjps = gk.grad(y, xs, grad_outputs=gk.Tensor(u), allow_unused=True)
    forward = float((u * jv.data).sum())
    reverse = sum(float((g.data * t).sum()) for g, t in zip(vjps, tangents) if g is not None)
    close(numpy.float64(forward), numpy.float64(reverse), y.dtype, "<u, Jv> vs <J^T u, v>")  # y: float32 for cast


def test_jvp_matches_directional_differences(case):
    """J v = (f(x + h v) - f(x - h v)) / 2h in float64."""
    f, inputs, tangents = _point(case, numpy.float64, seed=3)
    _, jv = jvp(f, tuple(inputs), tuple(tangents))
    h = case.eps
    plus = f(*[gk.Tensor(x + h * t) for x, t in zip(inputs, tangents)]).data
    minus = f(*[gk.Tensor(x - h * t) for x, t in zip(inputs, tangents)]).data
    numpy.testing.assert_allclose(jv.data, (plus - minus) / (2 * h), rtol=1e-5, atol=1e-5)


def test_jvp_keeps_float32(case):
    f, inputs, tangents = _point(case, numpy.float32)
    out, jv = jvp(f, tuple(gk.Tensor(x) for x in inputs), tuple(gk.Tensor(t) for t in tangents))
    assert jv.dtype == out.dtype == f(*[gk.Tensor(x) for x in inputs]).dtype


def test_jvp_records_no_graph_and_leaves_inputs_untouched():
    x = gk.Tensor(numpy.array([0.5, 1.5]), requires_grad=True)
    out, jv = jvp(lambda x: (x * x).sin(), x, gk.Tensor(numpy.ones(2)))
    assert x.tangent is None and x.grad is None
    assert not out.requires_grad and not jv.requires_grad
    numpy.testing.assert_allclose(jv.data, numpy.cos(x.data ** 2) * 2 * x.data, rtol=1e-12)


def test_jvp_of_several_inputs_and_outputs():
    a, b = numpy.array([1.0, 2.0]), numpy.array([3.0, -1.0])
    (s, p), (ds, dp) = jvp(lambda a, b: (a + b, a * b), (a, b), (numpy.array([1.0, 0.0]), numpy.array([0.0, 2.0])))
    numpy.testing.assert_allclose(ds.data, [1.0, 2.0])
    numpy.testing.assert_allclose(dp.data, [1.0 * 3.0, 2.0 * 2.0])  # ta b + a tb
    numpy.testing.assert_allclose(s.data + p.data, a + b + a * b)


# ---------------------------------------------------------------------------- dual numbers
SCALAR_FUNCTIONS = {
    "cube": (lambda x: x * x * x, lambda x: 3 * x ** 2),
    "poly": (lambda x: 3.0 - 2.0 * x + x ** 4 / 4.0, lambda x: -2.0 + x ** 3),
    "reciprocal": (lambda x: 1.0 / x, lambda x: -1.0 / x ** 2),
    "exp_sin": (lambda x: x.sin().exp(), lambda x: math.cos(x) * math.exp(math.sin(x))),
    "log_cos": (lambda x: x.log() * x.cos(), lambda x: math.cos(x) / x - math.log(x) * math.sin(x)),
    "tanh": (lambda x: x.tanh(), lambda x: 1 - math.tanh(x) ** 2),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2),
    "sqrt": (lambda x: (x - 0.25).sqrt(), lambda x: 0.5 / math.sqrt(x - 0.25)),
    "self_power": (lambda x: x ** x, lambda x: x ** x * (math.log(x) + 1)),
}


@pytest.mark.parametrize("name", sorted(SCALAR_FUNCTIONS))
@pytest.mark.parametrize("x", [0.7, 1.9])
def test_dual_numbers_agree_with_jvp_and_the_closed_form(name, x):
    f, derivative = SCALAR_FUNCTIONS[name]
    d = f(Dual(numpy.float64(x), 1.0))
    _, jv = jvp(f, gk.Tensor(numpy.float64(x)), gk.Tensor(numpy.float64(1.0)))
    assert d.tangent == pytest.approx(jv.item(), rel=1e-12)
    assert d.tangent == pytest.approx(derivative(x), rel=1e-10)


def test_dual_exponent_carries_its_tangent():
    """d/dp x^p = x^p ln x: the exponent's tangent is not dropped."""
    d = Dual(numpy.float64(2.0), 0.0) ** Dual(numpy.float64(3.0), 1.0)
    assert d.primal == pytest.approx(8.0)
    assert d.tangent == pytest.approx(8.0 * math.log(2.0), rel=1e-12)


def test_dual_numbers_stay_float32():
    d = Dual(1.5, 1.0).sin() * 2.0
    assert d._t.dtype == numpy.float32 and d._t.tangent.dtype == numpy.float32
    assert d.tangent == pytest.approx(2 * math.cos(1.5), rel=1e-6)
