"""The silent bugs of issue 16 that gave wrong numbers without an error (bug 2 is in test_inplace.py)."""
from __future__ import annotations

import numpy
import torch

import gradkit as gk


def test_tensor_power_of_a_negative_base_is_computed_directly():
    """Bug 1: x ** p for a Tensor p was exp(p log x): [-2, 3] ** [2, 2] gave [nan, 9]."""
    y = gk.tensor([-2.0, 3.0]) ** gk.tensor([2.0, 2.0])
    numpy.testing.assert_array_equal(y.data, [4.0, 9.0])
    assert y.dtype == gk.float32                                   # not float64


def test_tensor_power_keeps_integers_exact_and_matches_torchs_gradients():
    big = gk.tensor([3, 7, -5]) ** gk.tensor([20, 11, 3])         # int64 ** int64: exact integers
    assert big.dtype == gk.int64 and big.tolist() == [3 ** 20, 7 ** 11, -125]
    # gradients as torch, including its conventions at x = 0 and x < 0
    xs = numpy.array([0.0, 0.0, -1.5, 2.0, 0.5]), numpy.array([0.0, 2.0, 3.0, 0.5, -1.0])
    for dtype in (numpy.float32, numpy.float64):
        grads = []
        for m in (torch, gk):
            x = m.tensor(xs[0].astype(dtype), requires_grad=True)
            p = m.tensor(xs[1].astype(dtype), requires_grad=True)
            (x ** p).sum().backward()
            grads.append((x.grad.numpy(), p.grad.numpy()))
        numpy.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-6, equal_nan=True)
        numpy.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-6, equal_nan=True)


def test_tensor_power_passes_gradcheck_and_forward_mode():
    rng = numpy.random.default_rng(0)
    x, p = rng.uniform(0.5, 2.0, (2, 3)), rng.standard_normal((2, 3))
    gk.autograd.gradcheck(lambda a, b: a ** b, (x, p))
    gk.autograd.gradgradcheck(lambda a, b: a ** b, (x, p))
    tx, tp = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    _, forward = gk.jvp(lambda a, b: a ** b, (gk.tensor(x), gk.tensor(p)), (gk.tensor(tx), gk.tensor(tp)))
    a, b = gk.tensor(x, requires_grad=True), gk.tensor(p, requires_grad=True)
    ga, gb = gk.grad((a ** b).sum(), (a, b))                        # J^T 1, then J t = sum of columns
    gk_ref = (a.detach() ** b.detach())
    numpy.testing.assert_allclose(forward.data, (b.data * x ** (p - 1) * tx + gk_ref.data * numpy.log(x) * tp),
                                  rtol=1e-12)
    numpy.testing.assert_allclose(ga.data, b.data * x ** (p - 1), rtol=1e-12)


def test_max_over_a_dim_unpacks_to_values_and_indices():
    """Bug 3: ``values, indices = gk.max(out, 1)`` on a batch of 2 unpacked the two values."""
    out = numpy.array([[0.1, 0.7, 0.2], [0.9, 0.05, 0.05]], dtype=numpy.float32)
    values, indices = gk.max(gk.tensor(out), 1)
    numpy.testing.assert_array_equal(values.data, out.max(axis=1))
    assert indices.dtype == gk.int64 and indices.tolist() == [1, 0]
    values, indices = gk.tensor(out).min(dim=1)
    assert indices.tolist() == [0, 1]
    _, predicted = torch.max(torch.tensor(out), 1)
    assert predicted.tolist() == gk.max(gk.tensor(out), 1)[1].tolist()


def test_a_leaf_gradient_keeps_the_leafs_dtype():
    for m in (torch, gk):
        w = m.ones(3, requires_grad=True)                              # float32
        (w * m.tensor([1.0, 2.0, 3.0], dtype=m.float64)).sum().backward()
        assert str(w.grad.dtype).endswith("float32") and tuple(w.grad.shape) == (3,)
