"""In-place operations: the tensor itself changes (every alias sees it), torch's errors, the write check."""
from __future__ import annotations

import importlib.util
import pathlib

import numpy
import pytest
import torch

import gradkit as gk

_spec = importlib.util.spec_from_file_location("_torch_compare", pathlib.Path(__file__).with_name("_torch_compare.py"))
tc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tc)

X = numpy.array([[0.5, -1.25, 2.0], [3.5, -0.75, 1.0]])

CASES = [  # fn(m, x) changes x in place and returns (what it returned, x)
    ("iadd", lambda m, x: _aug(x, "+=", 2.0)),
    ("isub_tensor", lambda m, x: _aug(x, "-=", m.ones(3))),
    ("imul", lambda m, x: _aug(x, "*=", 3)),
    ("idiv", lambda m, x: _aug(x, "/=", 4.0)),
    ("ipow", lambda m, x: _aug(x, "**=", 2)),
    ("add_alpha", lambda m, x: (x.add_(m.ones(3), alpha=2), x)),
    ("sub_", lambda m, x: (x.sub_(1.5), x)),
    ("mul_", lambda m, x: (x.mul_(x), x)),
    ("div_", lambda m, x: (x.div_(2), x)),
    ("pow_", lambda m, x: (x.pow_(3), x)),
    ("zero_", lambda m, x: (x.zero_(), x)),
    ("fill_", lambda m, x: (x.fill_(7.5), x)),
    ("copy_", lambda m, x: (x.copy_(m.arange(3.0)), x)),
    ("clamp_", lambda m, x: (x.clamp_(-1, 1), x)),
    ("clamp_min_", lambda m, x: (x.clamp_(min=0), x)),
    ("masked_fill_", lambda m, x: (x.masked_fill_(x > 1, -9.0), x)),
    ("setitem_int", lambda m, x: _set(x, 0, 1.0)),
    ("setitem_slice", lambda m, x: _set(x, (slice(None), 1), m.tensor([8.0, 9.0], dtype=x.dtype))),
    ("setitem_mask", lambda m, x: _set(x, x < 0, 0.0)),
    ("view_alias", lambda m, x: _view_alias(x)),
    ("int_add_float_error", lambda m, x: (x.long().add_(1.5),)),
    ("broadcast_shape_error", lambda m, x: (x[0].add_(m.ones(2, 3)),)),
]


def _aug(x, op, value):
    y = x
    exec(f"y {op} value", {}, {"y": y, "value": value})
    return (x,)


def _set(x, key, value):
    x[key] = value
    return (x,)


def _view_alias(x):
    v = x.view(-1)
    v.add_(1)
    row = x[1]
    row.mul_(2)
    return (x, v, row)


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("name, fn", CASES, ids=[c[0] for c in CASES])
def test_inplace_matches_torch(name, fn, dtype):
    tc.run_case(fn, [X.astype(dtype)], grad=False)


def test_inplace_returns_the_same_object_and_aliases_see_it():
    array = numpy.zeros(3, dtype=numpy.float32)
    x = gk.from_numpy(array)
    y = x.add_(1)
    assert y is x
    x += 1
    numpy.testing.assert_array_equal(array, [2, 2, 2])   # from_numpy shares memory, as torch


# ---------------------------------------------------------------------------- silent bug 2
def test_manual_sgd_update_under_no_grad_changes_the_parameter_itself():
    """``w -= lr * w.grad`` under no_grad used to rebind ``w`` to a new tensor: the model kept its old
    parameter and training "ran" with a constant loss. It must update the object in place."""
    w = gk.tensor([1.0, -2.0], requires_grad=True)
    params = [w]
    (w * w).sum().backward()
    with gk.no_grad():
        for p in params:
            p -= 0.1 * p.grad
    assert params[0] is w
    numpy.testing.assert_allclose(w.data, [0.8, -1.6], rtol=1e-6)
    assert w.requires_grad and w.is_leaf
    # the same loop as torch, step for step
    tw = torch.tensor([1.0, -2.0], requires_grad=True)
    gw = gk.tensor([1.0, -2.0], requires_grad=True)
    for _ in range(3):
        for m, p in ((torch, tw), (gk, gw)):
            loss = (p ** 3).sum()
            loss.backward()
            with m.no_grad():
                p -= 0.05 * p.grad
                p.grad.zero_()
    tc.compare(gw, tw.detach())


def test_inplace_on_a_leaf_that_requires_grad_raises_torchs_error():
    for m in (torch, gk):
        w = m.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            w += 1
        with pytest.raises(RuntimeError, match="leaf Variable"):
            w.mul_(2)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            w[0] = 3.0


def test_random_fills_use_the_explicit_generator_or_the_global_seed():
    a = gk.zeros(4).normal_(rng=numpy.random.default_rng(3))
    b = gk.zeros(4).normal_(generator=numpy.random.default_rng(3))
    numpy.testing.assert_array_equal(a.data, b.data)
    gk.manual_seed(11)
    c = gk.zeros(4).uniform_(-1, 1)
    gk.manual_seed(11)
    d = gk.zeros(4).uniform_(-1, 1)
    numpy.testing.assert_array_equal(c.data, d.data)
    assert c.data.min() >= -1 and c.data.max() < 1 and len(set(c.data.tolist())) == 4


# ---------------------------------------------------------------------------- the write check
def test_backward_refuses_a_saved_value_changed_in_place():
    for m in (torch, gk):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()           # exp's backward reads its output
        with m.no_grad():
            y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        w = m.tensor([1.0, 2.0], requires_grad=True)
        loss = (w * w).sum()  # mul's backward reads w
        with m.no_grad():
            w -= 1
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


def test_a_change_backward_does_not_need_is_allowed():
    for m in (torch, gk):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        c = m.tensor([3.0, 4.0])
        y = x + c             # add's backward reads neither input
        c.mul_(2)
        y.sum().backward()
        numpy.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_inplace_on_a_graph_tensor_is_recorded_like_torch():
    results = []
    for m in (torch, gk):
        x = m.tensor([0.5, -1.5, 2.0], requires_grad=True)
        h = x * 2
        h += x ** 2           # recorded: h is now x*2 + x^2
        h.mul_(x)             # and then (x*2 + x^2) * x
        h.sum().backward()
        results.append((h.detach().numpy().copy(), x.grad.numpy().copy()))
    for ours, theirs in zip(results[1], results[0]):
        numpy.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_inplace_on_a_view_of_a_graph_tensor_is_refused_clearly():
    x = gk.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 2).reshape(2, 1)
    with pytest.raises(RuntimeError, match="view"):
        h[0].add_(1)
