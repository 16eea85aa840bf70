"""Creation functions, default dtypes and type promotion against torch."""
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

CREATION = [  # fn(m) -> what to compare (values where deterministic, else dtype and shape)
    ("tensor_float", lambda m: m.tensor([1.0, 2.0])),
    ("tensor_int", lambda m: m.tensor([1, 2])),
    ("tensor_bool", lambda m: m.tensor([True, False])),
    ("tensor_nested", lambda m: m.tensor([[1, 2], [3, 4]], dtype=m.float64)),
    ("tensor_scalar", lambda m: m.tensor(3.5)),
    ("tensor_of_tensors", lambda m: m.tensor([m.tensor(1.0), m.tensor(2.0)])),
    ("zeros_args", lambda m: m.zeros(2, 3)),
    ("zeros_tuple", lambda m: m.zeros((2, 3), dtype=m.int64)),
    ("ones", lambda m: m.ones([3], dtype=m.double)),
    ("empty_shape", lambda m: m.empty(2, 3).shape),
    ("empty_dtype", lambda m: m.empty(2, dtype=m.long).dtype),
    ("full", lambda m: m.full((2, 2), 7.0)),
    ("full_int", lambda m: m.full((2,), 3)),
    ("full_bool", lambda m: m.full((2,), True)),
    ("eye", lambda m: m.eye(3)),
    ("eye_rect", lambda m: m.eye(2, 3, dtype=m.int32)),
    ("arange_int", lambda m: m.arange(5)),
    ("arange_float", lambda m: m.arange(0, 1, 0.25)),
    ("arange_start_stop", lambda m: m.arange(2, 8, 2)),
    ("arange_float_end", lambda m: m.arange(3.0)),
    ("arange_dtype", lambda m: m.arange(4, dtype=m.float64)),
    ("linspace", lambda m: m.linspace(0, 1, 5)),
    ("logspace", lambda m: m.logspace(0, 2, 3)),
    ("zeros_like", lambda m: m.zeros_like(m.tensor([1, 2]))),
    ("ones_like_dtype", lambda m: m.ones_like(m.tensor([1.0]), dtype=m.float64)),
    ("full_like", lambda m: m.full_like(m.tensor([1.0, 2.0]), 4.0)),
    ("empty_like_shape", lambda m: m.empty_like(m.ones(2, 3)).shape),
    ("rand_shape", lambda m: (m.rand(2, 3).shape, m.rand(2, 3).dtype, m.randn((4,)).dtype)),
    ("randint", lambda m: (m.randint(0, 10, (3, 2)).dtype, m.randint(5, (4,)).shape)),
    ("randperm", lambda m: (m.randperm(5).dtype, m.randperm(5).sort().values)),
    ("normal", lambda m: (m.normal(0.0, 1.0, (3,)).dtype, m.normal(m.zeros(2), m.ones(2)).shape)),
    ("as_tensor", lambda m: m.as_tensor([1, 2, 3])),
    ("as_tensor_dtype", lambda m: m.as_tensor(numpy.arange(3), dtype=m.float32)),
    ("from_numpy", lambda m: m.from_numpy(numpy.arange(3.0))),
    ("dtype_names", lambda m: (m.float32, m.float, m.float64, m.double, m.int64, m.long, m.int32, m.int, m.bool,
                               m.uint8, m.int16, m.int8)),
    ("dtype_compare", lambda m: (m.ones(1).dtype == m.float32, m.ones(1).dtype == m.float64,
                                 m.tensor([1]).dtype == m.long)),
    ("requires_grad_kw", lambda m: m.zeros(2, requires_grad=True).requires_grad),
    ("int_requires_grad", lambda m: m.zeros(2, dtype=m.int64, requires_grad=True)),
]

PROMOTION = [  # a op b for the dtypes torch promotes
    ("f32*f64", lambda m: m.ones(2) * m.ones(2, dtype=m.float64)),
    ("f32*f64_0d", lambda m: m.ones(2) * m.tensor(2.0, dtype=m.float64)),
    ("i64*f32", lambda m: m.tensor([1, 2]) * m.ones(2)),
    ("i64*f64_0d", lambda m: m.tensor([1, 2]) * m.tensor(1.5, dtype=m.float64)),
    ("i32+i64_0d", lambda m: m.tensor([1, 2], dtype=m.int32) + m.tensor(2)),
    ("i32+i64", lambda m: m.tensor([1, 2], dtype=m.int32) + m.tensor([2, 3])),
    ("i64/i64", lambda m: m.tensor([1, 2]) / m.tensor([2, 4])),
    ("i64*float", lambda m: m.tensor([1, 2]) * 2.5),
    ("i32*int", lambda m: m.tensor([1, 2], dtype=m.int32) * 3),
    ("f32*float", lambda m: m.ones(2) * 1e-3),
    ("f64*float", lambda m: m.ones(2, dtype=m.float64) * 0.1),
    ("f32+numpy_float64", lambda m: m.ones(2) + numpy.float64(0.5)),
    ("bool+int", lambda m: m.tensor([True]) + 1),
    ("bool+bool_tensor", lambda m: m.tensor([True]) * m.tensor([2])),
    ("u8+i8", lambda m: m.tensor([1], dtype=m.uint8) + m.tensor([1], dtype=m.int8)),
    ("i64**float", lambda m: m.tensor([4]) ** 0.5),
    ("float**i64", lambda m: 2.0 ** m.tensor([1, 2])),
    ("int**i64", lambda m: 2 ** m.tensor([1, 2])),
    ("exp_int", lambda m: m.tensor([0, 1]).exp()),
    ("where_mixed", lambda m: m.where(m.tensor([True, False]), m.ones(2), m.zeros(2, dtype=m.float64))),
    ("cat_mixed", lambda m: m.cat([m.ones(1), m.ones(1, dtype=m.float64)])),
    ("sum_bool", lambda m: m.tensor([True, True]).sum()),
    ("sum_int32", lambda m: m.tensor([1, 2], dtype=m.int32).sum()),
]


@pytest.mark.parametrize("name, fn", CREATION + PROMOTION, ids=[c[0] for c in CREATION + PROMOTION])
def test_creation_and_promotion_match_torch(name, fn):
    tc.run_case(lambda m: fn(m), [], grad=False)


def test_grad_of_mixed_dtype_ops_comes_back_in_each_leafs_dtype():
    tc.run_case(lambda m, a, b: a * b + a.double() ** 2, [numpy.ones(3, numpy.float32), numpy.ones(3)])
    tc.run_case(lambda m, a, b: m.cat([a, b]).sum(), [numpy.ones(2, numpy.float32), numpy.ones(3)])


def test_dtype_objects_print_and_compare_like_numpys():
    assert gk.float32 == numpy.float32 and gk.ones(1).dtype == gk.float32
    assert str(gk.int64) == "int64" and gk.long is gk.int64 and gk.double is gk.float64


def test_explicit_rng_still_works():
    a = gk.randn(3, rng=5)
    b = gk.randn(3, rng=numpy.random.default_rng(5))
    c = gk.randn(3, generator=numpy.random.default_rng(5))
    numpy.testing.assert_array_equal(a.data, b.data)
    numpy.testing.assert_array_equal(a.data, c.data)
    gk.manual_seed(3)
    d = gk.rand(2)
    gk.manual_seed(3)
    numpy.testing.assert_array_equal(d.data, gk.rand(2).data)


def test_from_numpy_shares_memory_both_ways():
    array = numpy.zeros(3)
    t = gk.from_numpy(array)
    array[0] = 5
    t[1] = 7
    assert t.tolist() == [5.0, 7.0, 0.0] and array.tolist() == [5.0, 7.0, 0.0]


def test_half_precision_is_refused_clearly():
    with pytest.raises(TypeError, match="half precision"):
        gk.ones(2).half()
    with pytest.raises(TypeError, match="half precision"):
        gk.zeros(2, dtype=gk.float16)


def test_the_comparison_itself_can_fail():
    """The helper is strict: a wrong dtype, value, container or error type is reported."""
    with pytest.raises(AssertionError, match="dtype"):
        tc.compare(gk.ones(2), torch.ones(2, dtype=torch.float64))
    with pytest.raises(AssertionError):
        tc.compare(gk.ones(2), torch.ones(2) * (1 + 1e-4))
    with pytest.raises(AssertionError, match="fields"):
        tc.compare(tuple(gk.max(gk.ones(2, 2), 1)), torch.max(torch.ones(2, 2), 1))
    with pytest.raises(AssertionError, match="torch raised"):
        tc.run_case(lambda m: m.ones(2).view(3) if m is torch else m.ones(3), [])
