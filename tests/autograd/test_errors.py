"""Errors say what went wrong, where, with which shapes, and how to fix it."""
import re
import warnings

import numpy
import pytest

import gradkit as gk
from gradkit.autograd import AnomalyError, GradcheckError, ShapeError, detect_anomaly


def T(*shape, grad=True):
    return gk.Tensor(numpy.ones(shape), requires_grad=grad)


def _named(*parts):
    """A regex that matches a message containing every part, in any order."""
    return "".join(f"(?=[\\s\\S]*{re.escape(p)})" for p in parts)


@pytest.mark.parametrize("call, parts", [
    (lambda: T(2, 3) + T(4), ("Add", "(2, 3)", "(4,)")),
    (lambda: T(2, 3) - T(3, 2), ("Sub", "(2, 3)", "(3, 2)")),
    (lambda: T(2, 3) * T(4), ("Mul", "(2, 3)", "(4,)")),
    (lambda: T(2, 3) / T(2, 2), ("Div", "(2, 3)", "(2, 2)")),
    (lambda: gk.maximum(T(3), T(4)), ("Maximum", "(3,)", "(4,)")),
    (lambda: gk.where(numpy.ones(3, bool), T(2, 3), T(4)), ("Where", "(2, 3)", "(4,)")),
    (lambda: T(2, 3) @ T(4, 5), ("MatMul", "(2, 3)", "(4, 5)")),
    (lambda: T(3) @ T(4), ("MatMul", "(3,)", "(4,)")),
    (lambda: gk.matmul(T(3), T(3, 2), transpose_a=True), ("MatMul", "(3,)", "(3, 2)")),
    (lambda: gk.concatenate([T(2, 3), T(3, 3)], axis=1), ("Concatenate", "(2, 3)", "(3, 3)")),
    (lambda: gk.stack([T(2, 3), T(3, 2)]), ("stack", "(2, 3)", "(3, 2)")),
    (lambda: T(2, 3).reshape(4, 2), ("reshape", "(2, 3)", "[4, 2]")),
    (lambda: gk.broadcast_to(T(2, 3), (4, 3)), ("BroadcastTo", "(2, 3)", "(4,3)")),
    (lambda: T(2, 3).permute(0, 0), ("Transpose", "(2, 3)")),
    # an axis out of range is an error, never wrapped round onto another axis
    (lambda: T(2, 3).sum(axis=2), ("Sum", "axis 2", "(2, 3)")),
    (lambda: T(2, 3).max(axis=(0, -3)), ("Max", "axis -3", "(2, 3)")),
    (lambda: T(2, 3).mean(axis=2), ("axis 2", "(2, 3)")),
    (lambda: T(2, 3).transpose(1, 2), ("swapaxes", "axis 2", "(2, 3)")),
    (lambda: T(1, 3, 1).squeeze(3), ("squeeze", "axis 3", "(1, 3, 1)")),
    (lambda: T(2, 3).unsqueeze(4), ("unsqueeze", "axis 4", "(2, 3)")),
    (lambda: T(2, 3).flatten(2), ("flatten", "axis 2", "(2, 3)")),
    (lambda: T(2, 3).swapaxes(0, 2), ("swapaxes", "axis 2", "(2, 3)")),
    (lambda: gk.stack([T(2, 3), T(2, 3)], axis=3), ("stack", "axis 3", "(2, 3)")),
    (lambda: T(0).max(), ("Max", "empty")),
])
def test_shape_errors_name_the_op_and_the_shapes(call, parts):
    with pytest.raises(ValueError, match=_named(*parts)):
        call()


def test_shape_errors_are_shape_errors():
    with pytest.raises(ShapeError):
        T(2, 3) + T(4)


def test_index_out_of_range_names_getitem_and_the_shape():
    with pytest.raises(IndexError, match=_named("GetItem", "(2, 3)")):
        T(2, 3)[5]


def test_backward_on_a_non_scalar_says_how_to_fix_it():
    with pytest.raises(RuntimeError, match=_named("(2, 3)", "sum()", "gradient")):
        (T(2, 3) * 2).backward()


def test_backward_gradient_of_the_wrong_shape_names_both_shapes():
    with pytest.raises(ValueError, match=_named("(3,)", "(2, 3)")):
        (T(2, 3) * 2).backward(gk.Tensor(numpy.ones(3)))


def test_backward_without_a_graph_says_what_is_missing():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        gk.Tensor(numpy.ones(2)).sum().backward()
    with pytest.raises(RuntimeError, match="requires_grad=True"), gk.no_grad():
        T(2).sum().backward()


@pytest.mark.parametrize("make", [
    lambda: gk.Tensor([1, 2], requires_grad=True),
    lambda: gk.Tensor(numpy.array([True, False])).requires_grad_(),
    lambda: gk.arange(3).requires_grad_(),
])
def test_requires_grad_on_a_non_float_tensor_is_refused(make):
    with pytest.raises(RuntimeError, match="floating point"):  # torch's type and words
        make()


def test_second_backward_through_a_freed_graph_says_to_retain_it():
    x = T(3)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    z = (x.sin() * 2).sum()
    gk.grad(z, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        gk.grad(z, x)


def test_misuse_of_grad_hooks_and_retain_grad():
    x = gk.Tensor(numpy.ones(2))
    with pytest.raises(RuntimeError, match="require.?grad"):
        x.register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="require.?grad"):
        x.retain_grad()
    with pytest.raises(RuntimeError, match="require.?grad"):
        gk.grad((T(2) * 2).sum(), x)


def test_forward_mode_errors_name_the_shapes():
    with pytest.raises(ValueError, match=_named("jvp", "(3,)", "(2,)")):
        gk.jvp(lambda x: x * 2, gk.Tensor(numpy.ones(2)), gk.Tensor(numpy.ones(3)))
    with pytest.raises(ValueError, match=_named("hvp", "(2,)")):
        gk.autograd.hvp(lambda x: x * x, gk.Tensor(numpy.ones(2)), gk.Tensor(numpy.ones(2)))


# ---------------------------------------------------------------------------- anomaly detection
def test_anomaly_in_forward_names_the_op_and_the_shapes():
    x = gk.Tensor(numpy.array([[1.0, -1.0, 2.0]]), requires_grad=True)
    with warnings.catch_warnings(), pytest.raises(AnomalyError, match=_named("Log", "forward", "NaN", "(1, 3)")):
        warnings.simplefilter("ignore", RuntimeWarning)
        with detect_anomaly():
            x.log()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert numpy.isnan(x.log().data).any()      # off again: NaN passes silently


def test_anomaly_in_backward_names_the_op_being_differentiated():
    x = gk.Tensor(numpy.array([0.0, 1.0]), requires_grad=True)
    y = x.sqrt().sum()                              # fine forward; d sqrt / dx = Inf at 0
    with warnings.catch_warnings(), pytest.raises(AnomalyError, match=_named("Pow", "backward", "Inf", "(2,)")):
        warnings.simplefilter("ignore", RuntimeWarning)
        with detect_anomaly():
            y.backward()


# ---------------------------------------------------------------------------- gradcheck's report
class _WrongAtOneElement(gk.Function):
    """y = a * b with the gradient of b wrong at element (1, 0) only."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        mask = numpy.ones(b.shape)
        mask[1, 0] = 0.0
        return gy * b, gy * a * gk.Tensor(mask)


def test_gradcheck_failure_names_input_index_analytic_and_numerical():
    a, b = numpy.full((2, 2), 3.0), numpy.full((2, 2), 0.5)
    with pytest.raises(GradcheckError) as info:
        gk.autograd.gradcheck(lambda a, b: _WrongAtOneElement()(a, b), [a, b])
    message = str(info.value)
    assert "input 1" in message and "index (1, 0)" in message
    analytic, numerical = (float(re.search(rf"{w} (-?[\d.e+-]+)", message).group(1)) for w in ("analytic", "numerical"))
    assert analytic == 0.0 and numerical != pytest.approx(0.0)
