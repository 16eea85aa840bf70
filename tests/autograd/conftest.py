"""Shared helpers of the engine's tests: one table of ops, the torch oracle, tolerances.

``CASES`` lists every primitive of ``gradkit.autograd.ops`` and every composite of
``gradkit.autograd.composite`` once or more, each with its PyTorch twin and a recipe for inputs.
A test that takes a ``case`` argument runs on every row (see ``pytest_generate_tests``), so the
torch comparison, gradcheck, gradgradcheck and forward-mode tests all cover the same ops.
Helpers reach the tests as session fixtures because pytest's importlib mode makes conftest
modules non-importable.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy
import pytest
import torch

import gradkit as gk
from gradkit.autograd import ops

# float32 results within ~1e-5 relative of torch; float64 within 1e-10.
TOLERANCES = {numpy.dtype(numpy.float32): dict(rtol=1e-5, atol=1e-6),
              numpy.dtype(numpy.float64): dict(rtol=1e-10, atol=1e-12)}


def assert_close(actual, expected, dtype, what=""):
    """Compare two arrays with the tolerance of ``dtype``; the message says what was compared."""
    actual = actual.data if isinstance(actual, gk.Tensor) else actual
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    numpy.testing.assert_allclose(actual, expected, err_msg=what, **TOLERANCES[numpy.dtype(dtype)])


# ---------------------------------------------------------------------------- input recipes
def real(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    """Away from 0 (log, sqrt, x ** 2.5, division)."""
    return rng.uniform(0.5, 2.0, shape)


def nonzero(rng, shape):
    """|x| >= 0.3 with either sign: away from the kinks of abs and relu and the pole of 1/x."""
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)


def distinct(rng, shape):
    """Values on a grid of spacing 0.1 with a random jitter < 0.01, all distinct: no ties for max,
    maximum or clip, and no element within 0.01 of another, so central differences stay exact."""
    n = int(numpy.prod(shape))
    return (rng.permutation(n) * 0.1 - 0.05 * n + rng.uniform(0, 0.01, n)).reshape(shape)


@dataclasses.dataclass(frozen=True)
class OpCase:
    """One row of the table.

    ``gk(*tensors, *consts)`` and ``torch(*tensors, *consts)`` compute the same thing; ``shapes``
    and ``draw`` make the differentiable inputs, ``consts(rng)`` the constant ones (masks)."""

    name: str
    gk: Callable
    torch: Callable
    shapes: tuple
    draw: Callable = real
    consts: Callable | None = None
    eps: float = 1e-6   # central-difference step; larger only for ops that round to float32

    def inputs(self, dtype, seed: int = 0):
        rng = numpy.random.default_rng(seed)
        draws = self.draw if isinstance(self.draw, tuple) else (self.draw,) * len(self.shapes)
        arrays = [numpy.asarray(d(rng, s), dtype=dtype) for d, s in zip(draws, self.shapes)]
        return arrays, (self.consts(rng) if self.consts else ())

    def closed(self, consts):
        """The gradkit function of the differentiable inputs only (constants bound)."""
        return lambda *xs: self.gk(*xs, *consts)


def _flip_step2(t):                       # x[:, ::-2] in torch, which has no negative steps
    return t.flip(1)[:, ::2]


ROWS = numpy.array([0, 2, 0, 0, 3])
PAIRS = (numpy.array([1, 1, 0, 1]), numpy.array([2, 2, 0, 2]))


def _mask(rng):
    return (rng.random((4, 3)) > 0.4,)


def _other(x):
    return numpy.float32 if x.dtype == numpy.float64 else numpy.float64


def _torch_other(t):
    return t.float() if t.dtype == torch.float64 else t.double()


C = OpCase
CASES = [
    # arithmetic, with broadcasting
    C("add", lambda a, b: a + b, lambda a, b: a + b, ((2, 3), (3,))),
    C("sub", lambda a, b: a - b, lambda a, b: a - b, ((2, 1, 3), (4, 1))),
    C("mul", lambda a, b: a * b, lambda a, b: a * b, ((3, 4), (3, 1))),
    C("div", lambda a, b: a / b, lambda a, b: a / b, ((2, 3), (2, 3)), (real, nonzero)),
    C("neg", lambda x: -x, lambda x: -x, ((2, 3),)),
    C("pow_int", lambda x: x ** 3, lambda x: x ** 3, ((2, 3),)),
    C("pow_frac", lambda x: x ** 2.5, lambda x: x ** 2.5, ((2, 3),), positive),
    C("pow_negative", lambda x: x ** -1.5, lambda x: x ** -1.5, ((2, 3),), positive),
    C("pow_tensor", lambda x, p: x ** p, lambda x, p: x ** p, ((2, 3), (2, 3)), (positive, real)),
    C("pow_scalar_tensor", lambda x, p: x ** p, lambda x, p: x ** p, ((2, 3), ()), (positive, real)),
    C("rpow", lambda x: 2.0 ** x, lambda x: 2.0 ** x, ((2, 3),)),
    C("exp", gk.exp, torch.exp, ((2, 3),)),
    C("log", gk.log, torch.log, ((2, 3),), positive),
    C("log1p", gk.log1p, torch.log1p, ((2, 3),), positive),
    C("expm1", gk.expm1, torch.expm1, ((2, 3),)),
    C("pow_tensor_negative_base", lambda x, p: x ** p, lambda x, p: x ** p, ((2, 3), (2, 3)), (nonzero, positive)),
    C("sin", gk.sin, torch.sin, ((2, 3),)),
    C("cos", lambda x: x.cos(), torch.cos, ((2, 3),)),
    C("tanh", gk.tanh, torch.tanh, ((2, 3),)),
    C("sigmoid", gk.sigmoid, torch.sigmoid, ((2, 3),)),
    C("relu", lambda x: x.relu(), torch.relu, ((2, 3),), nonzero),
    C("abs", gk.abs, torch.abs, ((2, 3),), nonzero),
    C("maximum", gk.maximum, torch.maximum, ((2, 3), (3,)), distinct),
    C("where", lambda a, b, m: gk.where(m, a, b), lambda a, b, m: torch.where(torch.as_tensor(m), a, b),
      ((4, 3), (3,)), consts=_mask),
    # Python and NumPy scalars keep the tensor's dtype (float32 stays float32)
    C("scalar_mul", lambda x: x * 2.0, lambda x: x * 2.0, ((2, 3),)),
    C("scalar_rsub", lambda x: 1 - x, lambda x: 1 - x, ((2, 3),)),
    C("scalar_rdiv", lambda x: 3.0 / x, lambda x: 3.0 / x, ((2, 3),), nonzero),
    C("scalar_square", lambda x: x ** 2, lambda x: x ** 2, ((2, 3),)),
    C("numpy_int_scalar", lambda x: x / numpy.prod((2, 3)) + numpy.int64(1),
      lambda x: x / numpy.prod((2, 3)) + numpy.int64(1), ((2, 3),)),
    C("numpy_float_scalar", lambda x: x * numpy.float64(0.5) + x ** numpy.float64(2.0),
      lambda x: x * numpy.float64(0.5) + x ** 2.0, ((2, 3),)),
    # matrix products
    C("matmul", gk.matmul, torch.matmul, ((3, 4), (4, 2))),
    C("matmul_batched", lambda a, b: a @ b, lambda a, b: a @ b, ((2, 1, 3, 4), (3, 4, 2))),
    C("matmul_vec_mat", gk.matmul, torch.matmul, ((4,), (2, 4, 3))),
    C("matmul_mat_vec", gk.matmul, torch.matmul, ((2, 3, 4), (4,))),
    C("matmul_vec_vec", gk.matmul, torch.matmul, ((4,), (4,))),
    C("matmul_transpose_a", lambda a, b: gk.matmul(a, b, transpose_a=True), lambda a, b: a.mT @ b, ((4, 3), (4, 2))),
    C("matmul_transpose_b", lambda a, b: gk.matmul(a, b, transpose_b=True), lambda a, b: a @ b.mT,
      ((2, 3, 4), (5, 4))),
    C("matmul_transpose_both", lambda a, b: gk.matmul(a, b, transpose_a=True, transpose_b=True),
      lambda a, b: a.mT @ b.mT, ((2, 1, 4, 3), (2, 5, 4))),
    # reductions
    C("sum_all", lambda x: x.sum(), lambda x: x.sum(), ((2, 3, 4),)),
    C("sum_axis", lambda x: x.sum(axis=1), lambda x: x.sum(1), ((2, 3, 4),)),
    C("sum_tuple_keepdims", lambda x: x.sum(axis=(0, -1), keepdims=True),
      lambda x: x.sum((0, -1), keepdim=True), ((2, 3, 4),)),
    C("max_all", lambda x: x.max(), lambda x: x.max(), ((2, 3, 4),), distinct),
    C("max_axis", lambda x: x.max(axis=-1).values, lambda x: x.max(-1).values, ((2, 3, 4),), distinct),
    C("max_tuple_keepdims", lambda x: x.max(axis=(0, 2), keepdims=True),
      lambda x: x.amax((0, 2), keepdim=True), ((2, 3, 4),), distinct),
    C("sum_to", lambda x: gk.sum_to(x, (3, 1)), lambda x: x.sum(0).sum(-1, keepdim=True), ((2, 3, 4),)),
    # shapes
    C("broadcast_to", lambda x: gk.broadcast_to(x, (2, 3, 4)), lambda x: x.broadcast_to((2, 3, 4)), ((3, 1),)),
    C("reshape", lambda x: x.reshape(4, -1), lambda x: x.reshape(4, -1), ((2, 3, 4),)),
    C("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), ((2, 3, 4),)),
    C("transpose", lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2), ((2, 3, 4),)),
    C("transpose_T", lambda x: x.T, lambda x: x.permute(2, 1, 0), ((2, 3, 4),)),
    # from float64 the output is float32, so a 1e-6 step drowns in rounding; the op is linear, so a
    # big step is exact
    C("cast", lambda x: x.astype(_other(x)), _torch_other, ((2, 3),), eps=1e-2),
    # indexing
    C("getitem_slices", lambda x: x[1:, ::2], lambda x: x[1:, ::2], ((4, 5),)),
    C("getitem_negative_step", lambda x: x[::-1, ::-2], lambda x: _flip_step2(x.flip(0)), ((4, 5),)),
    C("getitem_int_newaxis_ellipsis", lambda x: x[-1, None, ..., 2], lambda x: x[-1, None, ..., 2], ((3, 4, 5),)),
    C("getitem_repeated_rows", lambda x: x[ROWS], lambda x: x[torch.as_tensor(ROWS)], ((4, 3),)),
    C("getitem_repeated_pairs", lambda x: x[PAIRS], lambda x: x[tuple(map(torch.as_tensor, PAIRS))], ((4, 3),)),
    C("getitem_list_columns", lambda x: x[:, [2, 2, 0]], lambda x: x[:, [2, 2, 0]], ((4, 3),)),
    C("getitem_bool_mask", lambda x, m: x[gk.Tensor(m)], lambda x, m: x[torch.as_tensor(m)], ((4, 3),), consts=_mask),
    C("getitem_grad", lambda g: ops.GetItemGrad(ROWS, (4, 3))(g),
      lambda g: torch.zeros((4, 3), dtype=g.dtype).index_put((torch.as_tensor(ROWS),), g, accumulate=True),
      ((5, 3),)),
    C("concatenate", lambda a, b, c: gk.concatenate([a, b, c], axis=-1),
      lambda a, b, c: torch.cat([a, b, c], -1), ((2, 3), (2, 1), (2, 2))),
    # composites
    C("mean_all", gk.mean, torch.mean, ((2, 3, 4),)),
    C("mean_tuple_keepdims", lambda x: x.mean(axis=(0, 2), keepdims=True),
      lambda x: x.mean((0, 2), keepdim=True), ((2, 3, 4),)),
    C("var_all", lambda x: gk.var(x, correction=0), lambda x: x.var(correction=0), ((2, 3, 4),)),
    C("var_unbiased", gk.var, torch.var, ((2, 3, 4),)),
    C("var_tuple", lambda x: x.var(axis=(0, 2), ddof=0), lambda x: x.var((0, 2), correction=0), ((2, 3, 4),)),
    C("var_axis_ddof", lambda x: x.var(axis=1, keepdims=True, ddof=1),
      lambda x: x.var(1, keepdim=True, correction=1), ((2, 3, 4),)),
    C("min_axis", lambda x: x.min(axis=0).values, lambda x: x.min(0).values, ((3, 4),), distinct),
    C("min_all", gk.min, torch.min, ((3, 4),), distinct),
    C("min_tuple_keepdims", lambda x: x.min(axis=(0, -1), keepdims=True), lambda x: x.amin((0, -1), keepdim=True),
      ((2, 3, 4),), distinct),
    C("minimum", gk.minimum, torch.minimum, ((3, 1), (4,)), distinct),
    C("sqrt", gk.sqrt, torch.sqrt, ((2, 3),), positive),
    C("clip", lambda x: x.clip(-0.52, 0.43), lambda x: x.clamp(-0.52, 0.43), ((3, 4),), distinct),
    C("clip_low", lambda x: gk.clip(x, min=0.13), lambda x: x.clamp(min=0.13), ((3, 4),), distinct),
    C("clip_numpy_bounds", lambda x: x.clip(numpy.float64(-0.52), numpy.float64(0.43)),
      lambda x: x.clamp(-0.52, 0.43), ((3, 4),), distinct),
    C("clip_high", lambda x: gk.clip(x, high=-0.17), lambda x: x.clamp(max=-0.17), ((3, 4),), distinct),
    C("squeeze_all", gk.squeeze, torch.squeeze, ((1, 3, 1, 2),)),
    C("squeeze_axis", lambda x: x.squeeze(-2), lambda x: x.squeeze(-2), ((1, 3, 1, 2),)),
    C("unsqueeze", lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1), ((2, 3),)),
    C("flatten", lambda x: x.flatten(1), lambda x: x.flatten(1), ((2, 3, 4),)),
    C("stack", lambda a, b: gk.stack([a, b], axis=1), lambda a, b: torch.stack([a, b], 1), ((2, 3), (2, 3))),
    C("swapaxes", lambda x: x.swapaxes(0, -1), lambda x: x.swapaxes(0, -1), ((2, 3, 4),)),
]
CASES_BY_NAME = {case.name: case for case in CASES}
assert len(CASES_BY_NAME) == len(CASES), "case names must be unique"


def pytest_generate_tests(metafunc):
    """Run every test that takes ``case`` on each row of CASES."""
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[case.name for case in CASES])


# ---------------------------------------------------------------------------- the torch oracle
def _torch_dtype(dtype):
    return {numpy.dtype(numpy.float32): torch.float32, numpy.dtype(numpy.float64): torch.float64}[numpy.dtype(dtype)]


def run_against_torch(fn_gk, fn_torch, inputs, consts=(), seed: int = 1):
    """Forward and backward of ``fn_gk`` and ``fn_torch`` on the same arrays; asserts that values,
    shapes, dtypes and the gradients of every input agree.

    The backward pass is seeded with the same random d(loss)/d(output) on both sides and goes
    through ``Tensor.backward`` (so ``.grad`` accumulation on leaves is what is compared)."""
    xs = [gk.Tensor(a.copy(), requires_grad=True) for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    y, yt = fn_gk(*xs, *consts), fn_torch(*ts, *consts)
    assert y.shape == tuple(yt.shape), f"shape {y.shape} != torch {tuple(yt.shape)}"
    assert _torch_dtype(y.dtype) == yt.dtype, f"output dtype {y.dtype} != torch {yt.dtype}"
    assert_close(y, yt, y.dtype, "forward")
    u = numpy.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)
    y.backward(gk.Tensor(u))
    yt.backward(torch.from_numpy(u))
    for k, (x, t) in enumerate(zip(xs, ts)):
        expected = t.grad if t.grad is not None else torch.zeros_like(t)
        assert x.grad is not None, f"input {k} got no gradient"
        assert x.grad.dtype == x.dtype, f"input {k}: gradient dtype {x.grad.dtype} != input dtype {x.dtype}"
        assert x.grad.shape == x.shape
        assert_close(x.grad, expected, x.dtype, f"gradient of input {k}")
    return y, xs


@pytest.fixture(scope="session")
def compare_with_torch():
    """``compare_with_torch(fn_gk, fn_torch, inputs, consts=())``: see ``run_against_torch``."""
    return run_against_torch


@pytest.fixture(scope="session")
def close():
    """``close(actual, expected, dtype, what)``: assert_close with the tolerance of dtype."""
    return assert_close


@pytest.fixture(scope="session")
def cases_by_name():
    return CASES_BY_NAME
