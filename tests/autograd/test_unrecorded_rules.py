"""The backward rules of a training step's hottest ops (linear, ReLU, cross-entropy) compute their
arrays directly when nothing is recorded: the same bits as the recorded rule, and no nodes."""
import numpy
import pytest

import gradkit as gk
from gradkit import functional as F
from gradkit.autograd import ops


def _grads(build, leaves, create_graph):
    for leaf in leaves:
        leaf.grad = None
    build().sum().backward(create_graph=create_graph)
    return [None if leaf.grad is None else leaf.grad.data.copy() for leaf in leaves]


def _leaves(rng, shapes, dtype, requires):
    return [gk.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=r) for shape, r in zip(shapes, requires)]


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("requires", [(True, True, True), (False, True, True), (True, False, False), (True, True, False)])
def test_linear_gradients_unrecorded_equal_the_recorded_rule(dtype, requires):
    rng = numpy.random.default_rng(0)
    x, w, b = _leaves(rng, [(37, 29), (13, 29), (13,)], dtype, requires)
    scale = gk.tensor(rng.standard_normal((37, 13)).astype(dtype))  # a gradient that is not all ones
    fast = _grads(lambda: ops.linear(x, w, b) * scale, [x, w, b], create_graph=False)
    recorded = _grads(lambda: ops.linear(x, w, b) * scale, [x, w, b], create_graph=True)
    for got, expected, r in zip(fast, recorded, requires):
        assert (got is None) == (not r)
        if r:
            assert got.dtype == dtype
            numpy.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("shape", [(7, 5), (300, 400)])  # NumPy's path and the compiled one (>= 2^16 elements)
def test_relu_gradient_unrecorded_equals_the_recorded_rule_and_masks_nan(shape):
    rng = numpy.random.default_rng(1)
    x = gk.tensor(rng.standard_normal(shape).astype(numpy.float32), requires_grad=True)
    x.data[0, 0] = 0.0
    weight = rng.standard_normal(shape).astype(numpy.float32)
    weight[x.data <= 0] = numpy.nan  # NaN gradient where the unit is off: 0, as PyTorch's select
    fast = _grads(lambda: F.relu(x) * gk.tensor(weight), [x], create_graph=False)[0]
    recorded = _grads(lambda: F.relu(x) * gk.tensor(weight), [x], create_graph=True)[0]
    numpy.testing.assert_array_equal(fast, recorded)
    assert numpy.isfinite(fast).all() and (fast[x.data <= 0] == 0).all()


def test_unrecorded_linear_and_relu_backward_build_no_nodes(monkeypatch):
    calls = []
    for cls in (ops.MatMul, ops.SumTo, ops.ReLUGradient):
        original = cls.__call__
        monkeypatch.setattr(cls, "__call__", lambda self, *a, _o=original: calls.append(type(self).__name__) or _o(self, *a))
    rng = numpy.random.default_rng(2)
    x, w, b = _leaves(rng, [(8, 6), (4, 6), (4,)], numpy.float32, (True, True, True))
    F.relu(ops.linear(x, w, b)).sum().backward()
    assert calls == []
    F.relu(ops.linear(x, w, b)).sum().backward(create_graph=True)  # recorded: the rules' ops are nodes
    assert sorted(set(calls)) == ["MatMul", "ReLUGradient", "SumTo"]


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_cross_entropy_per_sample_loss_is_minus_the_picked_log_softmax_bit_for_bit(dtype):
    rng = numpy.random.default_rng(3)
    x = (rng.standard_normal((50, 10)) * 20).astype(dtype)
    t = rng.integers(0, 10, 50)
    z = x - x.max(axis=1, keepdims=True)
    log_softmax = z - numpy.log(numpy.exp(z).sum(axis=1, keepdims=True))
    got = F.cross_entropy(gk.tensor(x), t, reduction="none").data
    numpy.testing.assert_array_equal(got, -log_softmax[numpy.arange(50), t])
    assert got.dtype == dtype


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_gradient_unrecorded_matches_the_recorded_rule(reduction):
    rng = numpy.random.default_rng(4)
    x = gk.tensor(rng.standard_normal((40, 7)).astype(numpy.float32), requires_grad=True)
    t = rng.integers(0, 7, 40)
    fast = _grads(lambda: F.cross_entropy(x, t, reduction=reduction) * 3.0, [x], create_graph=False)[0]
    recorded = _grads(lambda: F.cross_entropy(x, t, reduction=reduction) * 3.0, [x], create_graph=True)[0]
    numpy.testing.assert_allclose(fast, recorded, rtol=1e-6, atol=1e-7)  # p - onehot vs softmax(x) - onehot
