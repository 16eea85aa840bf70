"""The differentiable ops added for PyTorch parity against float64 central differences (first and
second derivatives), and forward mode against reverse mode."""
from __future__ import annotations

import numpy
import pytest

import gradkit as gk
from gradkit.autograd import gradcheck, gradgradcheck

R = numpy.random.default_rng(3)


def distinct(*shape):
    n = int(numpy.prod(shape))
    return ((R.permutation(n) - n / 2 + 0.37) * 0.11).reshape(shape)


def pos(*shape):
    return R.uniform(0.5, 2.0, shape)


OPS = [  # (name, f, inputs)
    ("pow_tensor", lambda x, p: x ** p, [pos(2, 3), distinct(2, 3)]),
    ("rpow_tensor", lambda p: 2.0 ** p, [distinct(3)]),
    ("log1p", lambda x: x.log1p(), [pos(3)]),
    ("expm1", lambda x: x.expm1(), [distinct(3)]),
    ("clamp_tensor_bounds", lambda x, lo, hi: x.clamp(lo, hi), [distinct(3, 2), distinct(3, 2) - 0.6, distinct(3, 2) + 0.6]),
    ("norm", lambda x: x.norm(dim=1), [distinct(3, 4)]),
    ("norm_p3", lambda x: x.norm(p=3), [pos(3, 4)]),
    ("logsumexp", lambda x: x.logsumexp(0), [distinct(3, 4)]),
    ("prod", lambda x: x.prod(1), [distinct(3, 4)]),
    ("std", lambda x: x.std(0), [distinct(3, 4)]),
    ("max_dim_values", lambda x: x.max(1).values, [distinct(3, 4)]),
    ("sort_values", lambda x: x.sort(0, descending=True).values, [distinct(3, 4)]),
    ("topk_values", lambda x: x.topk(2).values, [distinct(3, 4)]),
    ("gather", lambda x: x.gather(1, gk.tensor([[0, 0, 2], [1, 3, 1], [2, 2, 2]])), [distinct(3, 4)]),
    ("repeat", lambda x: x.repeat(2, 1, 3), [distinct(2, 3)]),
    ("expand", lambda x: x.expand(2, 3, 4), [distinct(3, 1)]),
    ("permute_transpose", lambda x: x.permute(2, 0, 1).transpose(0, 1), [distinct(2, 3, 4)]),
    ("split_chunk", lambda x: x.split([1, 2], 1)[1] * x.chunk(3, 1)[0], [distinct(2, 3)]),
    ("cat_stack", lambda x, y: gk.stack([gk.cat([x, y]), gk.cat([y, x])], 2), [distinct(2, 3), distinct(2, 3)]),
    ("masked_fill", lambda x: x.masked_fill(gk.tensor([[True, False], [False, True]]), 2.0), [distinct(2, 2)]),
    ("frac_reciprocal_rsqrt", lambda x: x.frac() + x.reciprocal() + x.rsqrt(), [pos(4)]),
    ("tan_log2_log10_square", lambda x: x.tan() + x.log2() + x.log10() + x.square(), [pos(4) * 0.5]),
    ("outer_dot", lambda x, y: x.outer(y) * x.dot(y), [distinct(3), distinct(3)]),
    ("remainder", lambda x, y: x % y, [distinct(4), pos(4) + 1.0]),
    ("clone_view", lambda x: x.clone().view(3, 2).t().contiguous(), [distinct(2, 3)]),
    ("unflatten_flatten", lambda x: x.unflatten(1, (2, 2)).flatten(0, 1), [distinct(3, 4)]),
]


@pytest.mark.parametrize("name, f, inputs", OPS, ids=[o[0] for o in OPS])
def test_gradient_and_second_derivative_match_finite_differences(name, f, inputs):
    gradcheck(f, inputs)
    gradgradcheck(f, inputs)


@pytest.mark.parametrize("name, f, inputs", OPS, ids=[o[0] for o in OPS])
def test_forward_mode_matches_reverse_mode(name, f, inputs):
    tangents = [R.standard_normal(x.shape) for x in inputs]
    primals = [gk.tensor(x) for x in inputs]
    y, jt = gk.jvp(f, tuple(primals), tuple(gk.tensor(t) for t in tangents))
    weights = R.standard_normal(y.shape)
    xs = [gk.tensor(x, requires_grad=True) for x in inputs]
    grads = gk.grad((f(*xs) * gk.tensor(weights)).sum(), xs, allow_unused=True)
    reverse = sum(float((g.data * t).sum()) for g, t in zip(grads, tangents) if g is not None)
    numpy.testing.assert_allclose(float((jt.data * weights).sum()), reverse, rtol=1e-10, atol=1e-12)
