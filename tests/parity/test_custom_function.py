"""Custom autograd Functions written the torch way run on gradkit's one engine."""
from __future__ import annotations

import numpy
import pytest
import torch

import gradkit as gk


def make_functions(m):
    """The same user code for both libraries (as a converted program would have it)."""

    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return scale * x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * ctx.scale * x ** 2, None

    class SplitSigns(m.autograd.Function):
        """Two outputs, one of them non-differentiable; needs_input_grad read."""

        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            ctx.flags = ctx.needs_input_grad
            mask = a > 0
            ctx.mark_non_differentiable(mask)
            return a * b, mask

        @staticmethod
        def backward(ctx, grad, grad_mask):
            a, b = ctx.saved_tensors
            return (grad * b if ctx.needs_input_grad[0] else None,
                    grad * a if ctx.needs_input_grad[1] else None)

    return Cube, SplitSigns


X = numpy.array([0.5, -1.5, 2.0])
Y = numpy.array([1.25, 0.5, -3.0])


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_custom_function_values_and_gradients_match_torch(dtype):
    out = {}
    for m in (torch, gk):
        cube, split = make_functions(m)
        x = m.tensor(X.astype(dtype), requires_grad=True)
        y = m.tensor(Y.astype(dtype), requires_grad=True)
        c = cube.apply(x, 2.0)
        p, mask = split.apply(x, y)
        (c.sum() + (p * p).sum()).backward()
        out[m.__name__] = (c.detach().numpy(), p.detach().numpy(), mask.numpy(), mask.requires_grad,
                           x.grad.numpy(), y.grad.numpy())
    tol = 1e-6 if dtype == numpy.float32 else 1e-12
    for ours, theirs in zip(out["gradkit"], out["torch"]):
        if isinstance(theirs, bool):
            assert ours == theirs
        else:
            numpy.testing.assert_allclose(ours, theirs, rtol=tol)


def test_needs_input_grad_and_non_tensor_arguments():
    _, split = make_functions(gk)
    x = gk.tensor(X, requires_grad=True)
    y = gk.tensor(Y)
    p, _ = split.apply(x, y)
    p.sum().backward()
    assert x.grad is not None and y.grad is None
    numpy.testing.assert_allclose(x.grad.data, Y)


def test_double_backward_through_a_custom_function():
    results = []
    for m in (torch, gk):
        cube, _ = make_functions(m)
        x = m.tensor(X, requires_grad=True)
        (g,) = m.autograd.grad(cube.apply(x, 1.5).sum(), x, create_graph=True)   # 4.5 x^2
        (h,) = m.autograd.grad(g.sum(), x)                                        # 9 x
        results.append((g.detach().numpy(), h.numpy()))
    numpy.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
    numpy.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)


def test_custom_function_node_is_an_engine_function():
    cube, _ = make_functions(gk)
    y = cube.apply(gk.tensor(X, requires_grad=True), 1.0)
    assert isinstance(y.grad_fn, gk.autograd.Function)
    assert "Cube" in repr(y.grad_fn)


def test_wrong_number_of_gradients_is_a_clear_error():
    class Bad(gk.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, grad):
            return grad

    y = Bad.apply(gk.tensor(X, requires_grad=True), 2.0)
    with pytest.raises(RuntimeError, match="returned 1 gradients, but forward took 2 arguments"):
        y.sum().backward()


def test_autograd_grad_with_torchs_arguments():
    for m in (torch, gk):
        x = m.tensor(X, requires_grad=True)
        z = m.tensor(Y, requires_grad=True)
        y = x * x
        (gx, gz) = m.autograd.grad(outputs=[y], inputs=[x, z], grad_outputs=[m.ones_like(y)], retain_graph=True,
                                   allow_unused=True)
        numpy.testing.assert_allclose(gx.detach().numpy(), 2 * X)
        assert gz is None
        with pytest.raises(RuntimeError):
            m.autograd.grad(y.sum(), [x, z])


def test_a_jvp_staticmethod_serves_forward_mode():
    class Square(gk.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

        @staticmethod
        def jvp(ctx, tangent):
            (x,) = ctx.saved_tensors
            return 2 * x * tangent

    _, tangent = gk.jvp(lambda x: Square.apply(x), gk.tensor(X), gk.tensor(Y))
    numpy.testing.assert_allclose(tangent.data, 2 * X * Y)


def test_backward_inputs_accumulates_only_into_the_named_tensors():
    for m in (torch, gk):
        a = m.tensor(X, requires_grad=True)
        b = m.tensor(Y, requires_grad=True)
        (a * b).sum().backward(inputs=[a])
        numpy.testing.assert_allclose(a.grad.numpy(), Y)
        assert b.grad is None
