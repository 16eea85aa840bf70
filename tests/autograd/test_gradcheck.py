"""Reverse-mode gradients of every op against float64 central differences (gk.autograd.gradcheck)."""
import numpy
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import gradkit as gk
from gradkit.autograd import gradcheck, numerical_grad


def test_gradient_matches_central_differences(case):
    inputs, consts = case.inputs(numpy.float64)
    assert gradcheck(case.closed(consts), inputs, eps=case.eps)


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_broadcast_gradient_matches_central_differences(shapes, seed):
    rng = numpy.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    b = numpy.sign(b + 1e-9) * (numpy.abs(b) + 0.5)
    assert gradcheck(lambda a, b: gk.maximum(a * b - a / b, b - 3.0), [a, b])


def test_numerical_grad_is_exact_on_a_quadratic():
    """The reference itself: central differences of sum(x^2 w) are 2 x w up to rounding."""
    rng = numpy.random.default_rng(0)
    x, w = rng.standard_normal(5), rng.standard_normal(5)
    (g,) = numerical_grad(lambda x: (x * x * gk.Tensor(w)).sum(), [x])
    numpy.testing.assert_allclose(g, 2 * x * w, rtol=1e-7, atol=1e-8)


def test_gradcheck_catches_a_wrong_rule():
    class Wrong(gk.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy * self.inputs[0]  # should be 2 x gy

    with pytest.raises(gk.autograd.GradcheckError):
        gradcheck(lambda x: Wrong()(x), [numpy.array([0.5, -1.0, 2.0])])
