"""Parity of Tensor methods and gradkit functions with PyTorch: one table, the same code on both.

Each row is ``fn(m, *tensors)`` run with ``m = torch`` and ``m = gradkit`` on copies of the same
NumPy arrays; values, dtypes, shapes, containers, gradients and error types must agree.
"""
from __future__ import annotations

import importlib.util
import pathlib

import numpy
import pytest

_spec = importlib.util.spec_from_file_location("_torch_compare", pathlib.Path(__file__).with_name("_torch_compare.py"))
tc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tc)

R = numpy.random.default_rng(7)


def a(*shape):
    """Distinct values (no ties, so max/sort/clamp gradients are unambiguous), away from 0."""
    n = int(numpy.prod(shape))
    return ((R.permutation(n) - n / 2 + 0.37) * 0.11).reshape(shape)


def pos(*shape):
    return R.uniform(0.5, 2.0, shape)


def ints(*shape):
    return R.integers(-5, 6, shape).astype(numpy.int64)


FLOAT = [  # (name, fn(m, *xs), [arrays]) run in float32 and float64
    # reductions with dim= / keepdim=
    ("sum", lambda m, x: x.sum(), [a(2, 3)]),
    ("sum_dim", lambda m, x: x.sum(1), [a(2, 3, 4)]),
    ("sum_dim_keepdim", lambda m, x: x.sum(dim=(0, 2), keepdim=True), [a(2, 3, 4)]),
    ("m.sum", lambda m, x: m.sum(x, dim=-1), [a(2, 3)]),
    ("mean_dim", lambda m, x: x.mean(dim=0, keepdim=True), [a(3, 4)]),
    ("m.mean", lambda m, x: m.mean(x, 1), [a(3, 4)]),
    ("var_default", lambda m, x: x.var(), [a(3, 4)]),
    ("var_dim", lambda m, x: x.var(1), [a(3, 4)]),
    ("var_unbiased_false", lambda m, x: x.var(1, unbiased=False, keepdim=True), [a(3, 4)]),
    ("var_correction", lambda m, x: x.var(dim=0, correction=0), [a(3, 4)]),
    ("std", lambda m, x: x.std(), [a(3, 4)]),
    ("std_dim", lambda m, x: m.std(x, dim=1, keepdim=True), [a(3, 4)]),
    ("max_all", lambda m, x: x.max(), [a(3, 4)]),
    ("max_dim", lambda m, x: x.max(1), [a(3, 4)]),
    ("max_dim_keepdim", lambda m, x: x.max(dim=0, keepdim=True), [a(3, 4)]),
    ("m.max_dim", lambda m, x: m.max(x, 1), [a(2, 5)]),
    ("m.max_unpack", lambda m, x: tuple(m.max(x, 1)), [a(2, 5)]),
    ("m.max_values", lambda m, x: m.max(x, -1).values, [a(2, 5)]),
    ("m.max_indices", lambda m, x: m.max(x, -1).indices, [a(2, 5)]),
    ("m.max_binary", lambda m, x, y: m.max(x, y), [a(2, 3), a(2, 3)]),
    ("min_dim", lambda m, x: x.min(0), [a(3, 4)]),
    ("m.min_all", lambda m, x: m.min(x), [a(3, 4)]),
    ("amax", lambda m, x: x.amax((0, 1)), [a(2, 3, 4)]),
    ("amin", lambda m, x: m.amin(x, 1, keepdim=True), [a(2, 3, 4)]),
    ("argmax", lambda m, x: x.argmax(), [a(3, 4)]),
    ("argmax_dim", lambda m, x: x.argmax(1), [a(3, 4)]),
    ("argmax_keepdim", lambda m, x: m.argmax(x, dim=0, keepdim=True), [a(3, 4)]),
    ("argmin_dim", lambda m, x: x.argmin(dim=1), [a(3, 4)]),
    ("logsumexp", lambda m, x: x.logsumexp(1), [a(3, 4)]),
    ("m.logsumexp_keepdim", lambda m, x: m.logsumexp(x, dim=0, keepdim=True), [a(3, 4)]),
    ("norm", lambda m, x: x.norm(), [a(3, 4)]),
    ("norm_dim", lambda m, x: x.norm(dim=1), [a(3, 4)]),
    ("norm_p1", lambda m, x: x.norm(p=1, dim=0), [a(3, 4)]),
    ("prod", lambda m, x: x.prod(), [a(2, 3)]),
    ("prod_dim", lambda m, x: x.prod(1, keepdim=True), [a(2, 3)]),
    ("all_any", lambda m, x: ((x > 0).all(), (x > 0).any(1)), [a(3, 4)]),
    ("sort", lambda m, x: x.sort(), [a(3, 4)]),
    ("sort_desc", lambda m, x: m.sort(x, dim=0, descending=True), [a(3, 4)]),
    ("argsort", lambda m, x: x.argsort(dim=1), [a(3, 4)]),
    ("topk", lambda m, x: x.topk(2), [a(3, 4)]),
    ("topk_smallest", lambda m, x: m.topk(x, 2, dim=0, largest=False), [a(3, 4)]),
    # shapes
    ("view", lambda m, x: x.view(3, 2), [a(2, 3)]),
    ("view_tuple", lambda m, x: x.view((3, -1)), [a(2, 3)]),
    ("view_as", lambda m, x, y: x.view_as(y), [a(2, 3), a(6)]),
    ("view_noncontiguous_error", lambda m, x: x.t().view(6), [a(2, 3)]),
    ("reshape", lambda m, x: x.reshape(3, 2), [a(2, 3)]),
    ("reshape_tuple", lambda m, x: x.reshape((-1,)), [a(2, 3)]),
    ("m.reshape", lambda m, x: m.reshape(x, (3, -1)), [a(2, 3)]),
    ("reshape_bad", lambda m, x: x.reshape(4, 2), [a(2, 3)]),
    ("permute", lambda m, x: x.permute(2, 0, 1), [a(2, 3, 4)]),
    ("permute_tuple", lambda m, x: x.permute((1, 2, 0)), [a(2, 3, 4)]),
    ("m.permute", lambda m, x: m.permute(x, (1, 0, 2)), [a(2, 3, 4)]),
    ("transpose", lambda m, x: x.transpose(0, 2), [a(2, 3, 4)]),
    ("transpose_negative", lambda m, x: x.transpose(-1, -2), [a(2, 3, 4)]),
    ("m.transpose", lambda m, x: m.transpose(x, 0, 1), [a(2, 3)]),
    ("t", lambda m, x: x.t(), [a(2, 3)]),
    ("m.t", lambda m, x: m.t(x), [a(3)]),
    ("T", lambda m, x: x.T, [a(2, 3)]),
    ("mT", lambda m, x: x.mT, [a(2, 3, 4)]),
    ("contiguous", lambda m, x: x.t().contiguous(), [a(2, 3)]),
    ("expand", lambda m, x: x.expand(2, 3, 4), [a(3, 1)]),
    ("expand_keep", lambda m, x: x.expand(-1, 4), [a(3, 1)]),
    ("expand_bad", lambda m, x: x.expand(3, 4), [a(2, 4)]),
    ("expand_as", lambda m, x, y: x.expand_as(y), [a(1, 3), a(4, 3)]),
    ("repeat", lambda m, x: x.repeat(2, 3), [a(2, 3)]),
    ("repeat_more_dims", lambda m, x: x.repeat(2, 1, 2), [a(2, 3)]),
    ("flatten", lambda m, x: x.flatten(), [a(2, 3, 4)]),
    ("flatten_range", lambda m, x: x.flatten(1, 2), [a(2, 3, 4, 2)]),
    ("m.flatten", lambda m, x: m.flatten(x, start_dim=1), [a(2, 3, 4)]),
    ("unflatten", lambda m, x: x.unflatten(1, (3, 4)), [a(2, 12)]),
    ("m.cat", lambda m, x, y: m.cat([x, y]), [a(2, 3), a(4, 3)]),
    ("m.cat_dim", lambda m, x, y: m.cat((x, y), dim=1), [a(2, 3), a(2, 1)]),
    ("m.concat", lambda m, x, y: m.concat([x, y], 1), [a(2, 3), a(2, 2)]),
    ("m.cat_bad", lambda m, x, y: m.cat([x, y]), [a(2, 3), a(2, 2)]),
    ("m.stack", lambda m, x, y: m.stack([x, y]), [a(2, 3), a(2, 3)]),
    ("m.stack_dim", lambda m, x, y: m.stack([x, y], dim=2), [a(2, 3), a(2, 3)]),
    ("split_int", lambda m, x: x.split(2), [a(5, 3)]),
    ("split_list", lambda m, x: x.split([1, 2], dim=1), [a(2, 3)]),
    ("m.split", lambda m, x: m.split(x, 2, 1), [a(2, 5)]),
    ("chunk", lambda m, x: x.chunk(3), [a(7, 2)]),
    ("chunk_fewer", lambda m, x: m.chunk(x, 4, dim=1), [a(2, 6)]),
    ("squeeze", lambda m, x: x.squeeze(), [a(1, 3, 1)]),
    ("squeeze_dim", lambda m, x: x.squeeze(0), [a(1, 3, 1)]),
    ("squeeze_not_one", lambda m, x: x.squeeze(1), [a(1, 3, 1)]),
    ("unsqueeze", lambda m, x: x.unsqueeze(1), [a(2, 3)]),
    ("m.unsqueeze", lambda m, x: m.unsqueeze(x, -1), [a(2, 3)]),
    ("clone", lambda m, x: x.clone() * 2, [a(2, 3)]),
    ("detach", lambda m, x: x.detach() * x, [a(2, 3)]),
    ("getitem", lambda m, x: x[0, 1:], [a(2, 3)]),
    ("getitem_mask", lambda m, x: x[x > 0], [a(2, 3)]),
    ("gather", lambda m, x: x.gather(1, m.tensor([[0, 2], [1, 1]])), [a(2, 3)]),
    ("m.gather", lambda m, x: m.gather(x, 0, m.tensor([[1, 0, 1]])), [a(2, 3)]),
    # math
    ("pow_tensor", lambda m, x, p: x ** p, [pos(2, 3), a(2, 3)]),
    ("pow_method", lambda m, x: x.pow(2), [a(2, 3)]),
    ("m.pow", lambda m, x, p: m.pow(x, p), [pos(3), a(3)]),
    ("rpow", lambda m, x: 2 ** x, [a(2, 3)]),
    ("clamp", lambda m, x: x.clamp(-0.2, 0.3), [a(3, 4)]),
    ("clamp_min", lambda m, x: x.clamp(min=0.1), [a(3, 4)]),
    ("clamp_max", lambda m, x: m.clamp(x, max=-0.1), [a(3, 4)]),
    ("clamp_tensor", lambda m, x, lo: x.clamp(min=lo), [a(3, 4), a(3, 4)]),
    ("clip", lambda m, x: x.clip(-0.2, 0.3), [a(3, 4)]),
    ("m.clip", lambda m, x: m.clip(x, -0.2, 0.3), [a(3, 4)]),
    ("sign", lambda m, x: x.sign(), [a(3, 4)]),
    ("floor", lambda m, x: x.floor(), [a(3, 4)]),
    ("ceil", lambda m, x: m.ceil(x), [a(3, 4)]),
    ("round", lambda m, x: (x * 10).round(), [a(3, 4)]),
    ("round_half_even", lambda m, x: m.round(x), [numpy.array([0.5, 1.5, 2.5, -0.5, -1.5])]),
    ("trunc", lambda m, x: x.trunc(), [a(3, 4)]),
    ("frac", lambda m, x: x.frac(), [a(3, 4)]),
    ("reciprocal", lambda m, x: x.reciprocal(), [a(3, 4)]),
    ("rsqrt", lambda m, x: x.rsqrt(), [pos(3, 4)]),
    ("square", lambda m, x: x.square(), [a(3, 4)]),
    ("exp", lambda m, x: x.exp(), [a(3, 4)]),
    ("log", lambda m, x: x.log(), [pos(3, 4)]),
    ("log1p", lambda m, x: x.log1p(), [pos(3, 4)]),
    ("expm1", lambda m, x: m.expm1(x), [a(3, 4)]),
    ("log2", lambda m, x: x.log2(), [pos(3, 4)]),
    ("log10", lambda m, x: m.log10(x), [pos(3, 4)]),
    ("sin_cos_tan", lambda m, x: (x.sin(), m.cos(x), x.tan()), [a(3, 4)]),
    ("sqrt", lambda m, x: x.sqrt(), [pos(3, 4)]),
    ("abs_neg", lambda m, x: (x.abs(), x.neg(), -x, abs(x)), [a(3, 4)]),
    ("sigmoid_tanh_relu", lambda m, x: (x.sigmoid(), x.tanh(), x.relu()), [a(3, 4)]),
    ("softmax", lambda m, x: (x.softmax(1), x.log_softmax(dim=0)), [a(3, 4)]),
    ("matmul", lambda m, x, y: (x.matmul(y), x @ y, m.matmul(x, y)), [a(2, 3), a(3, 4)]),
    ("mm", lambda m, x, y: x.mm(y), [a(2, 3), a(3, 4)]),
    ("bmm", lambda m, x, y: m.bmm(x, y) if hasattr(m, "bmm") else x.bmm(y), [a(2, 2, 3), a(2, 3, 4)]),
    ("dot", lambda m, x, y: x.dot(y), [a(3), a(3)]),
    ("outer", lambda m, x, y: x.outer(y), [a(3), a(4)]),
    ("masked_fill", lambda m, x: x.masked_fill(x > 0, 0.5), [a(3, 4)]),
    ("m.where", lambda m, x, y: m.where(x > 0, x, y), [a(3, 4), a(3, 4)]),
    ("m.where_scalar", lambda m, x: m.where(x > 0, x, 0.0), [a(3, 4)]),
    ("add_alpha", lambda m, x, y: x.add(y, alpha=2), [a(3), a(3)]),
    ("sub_mul_div", lambda m, x, y: (x.sub(y), x.mul(y), x.div(y)), [a(3), a(3)]),
    ("floordiv_mod", lambda m, x, y: (x.detach() // y.detach(), x % y), [a(3, 4), pos(3, 4)]),
    ("maximum_minimum", lambda m, x, y: (x.maximum(y), m.minimum(x, y)), [a(3), a(3)]),
    # comparisons and tests
    ("compare_ops", lambda m, x, y: (x == y, x != y, x < y, x <= y, x > y, x >= y), [a(3), a(3)]),
    ("compare_methods", lambda m, x, y: (x.eq(y), x.ne(y), x.gt(y), x.ge(y), x.lt(y), x.le(y)), [a(3), a(3)]),
    ("m.compare", lambda m, x: (m.eq(x, 0.11), m.gt(x, 0), m.le(x, 0)), [a(3)]),
    ("equal", lambda m, x, y: (x.equal(y), x.equal(x), m.equal(x, x)), [a(3), a(3)]),
    ("allclose", lambda m, x, y: (x.allclose(y), m.allclose(x, x + 1e-9), m.isclose(x, y)), [a(3), a(3)]),
    ("isnan_isinf", lambda m, x: ((x / 0).isnan(), m.isinf(x / 0), (x / 0).isfinite()), [numpy.array([0.0, 1.0, -1.0])]),
    ("logical", lambda m, x: (m.logical_not(x > 0), m.logical_and(x > 0, x < 1), (x > 0).logical_or(x < -1),
                              ~(x > 0), (x > 0) & (x < 1), (x > 0) | (x < 1)), [a(6)]),
    # conversions
    ("long_int_bool", lambda m, x: (x.long(), x.int(), x.bool(), (x * 10).long().float()), [a(6)]),
    ("double_float", lambda m, x: (x.double(), x.float(), x.to(m.float64), x.to(dtype=m.float32)), [a(6)]),
    ("type_as", lambda m, x, y: x.type_as(y.long()), [a(3), a(3)]),
    ("type_dtype", lambda m, x: x.type(m.int64), [a(3)]),
    ("to_other", lambda m, x, y: x.to(y.double()), [a(3), a(3)]),
    ("item_tolist", lambda m, x: (x.sum().item(), x.tolist()), [numpy.array([0.5, 1.25])]),
    ("size_numel_dim", lambda m, x: (x.size(), x.size(1), x.size(-1), x.numel(), x.dim(), x.ndim, x.shape, len(x)),
     [a(2, 3)]),
    ("size_bad_dim", lambda m, x: x.size(2), [a(2, 3)]),
    ("python_protocols", lambda m, x: (float(x[0]), int(x[1]), bool(x[0]), f"{x[0]:.2f}", [float(v) for v in x]),
     [numpy.array([1.25, 2.75])]),
    ("bool_ambiguous", lambda m, x: bool(x), [a(2)]),
    ("format_0d", lambda m, x: (f"{x.sum():.3f}", f"{x[0]}", "{:>8.2e}".format(x.mean())), [a(2)]),
    ("format_1d_spec_error", lambda m, x: f"{x:.2f}", [a(1)]),
    ("contains_iter", lambda m, x: (0.75 in m.tensor([0.5, 0.75]), 3.0 in x, list(iter(x))), [numpy.array([1.0, 3.0])]),
    ("hash_identity", lambda m, x: (len({x, x.clone()}), {x: 1}[x]), [a(2)]),
    ("float_of_many", lambda m, x: float(x), [a(2)]),
    ("index_of_float", lambda m, x: [1, 2, 3][x[0]], [a(2)]),
]

INT = [  # integer inputs
    ("int_sum", lambda m, x: (x.sum(), x.sum(0)), [ints(3, 4)]),
    ("int_div", lambda m, x, y: x / (y.abs() + 1), [ints(3), ints(3)]),
    ("int_max", lambda m, x: x.max(1), [ints(3, 4)]),
    ("int_pow", lambda m, x: (x ** 2, x.abs() ** m.tensor(2)), [ints(3)]),
    ("int_index", lambda m, x: [10, 20, 30][x[0].abs() % 3], [ints(2)]),
    ("int_float_scalar", lambda m, x: x * 2.5, [ints(3)]),
    ("int_mean_error", lambda m, x: x.mean(), [ints(3)]),
    ("int_clamp", lambda m, x: x.clamp(-2, 2), [ints(6)]),
    ("int_float_mix", lambda m, x, y: x * y, [ints(3), a(3).astype(numpy.float32)]),
]


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("name, fn, arrays", FLOAT, ids=[row[0] for row in FLOAT])
def test_float_call_matches_torch(name, fn, arrays, dtype):
    tc.run_case(fn, [x.astype(dtype) for x in arrays])


@pytest.mark.parametrize("name, fn, arrays", INT, ids=[row[0] for row in INT])
def test_integer_call_matches_torch(name, fn, arrays):
    tc.run_case(fn, arrays)
