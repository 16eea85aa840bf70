"""Every op against PyTorch: forward values, gradients, dtypes, on fixed and on random broadcast shapes."""
import numpy
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import gradkit as gk
from gradkit.autograd import composite, ops

DTYPES = [numpy.float32, numpy.float64]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_op_matches_torch(case, dtype, compare_with_torch):
    inputs, consts = case.inputs(dtype)
    compare_with_torch(case.gk, case.torch, inputs, consts)


def _functions_in_graph(tensors):
    """Names of the Function classes reachable from ``tensors`` through their creators."""
    seen, names, stack = set(), set(), [t for t in tensors if t is not None]
    while stack:
        f = stack.pop().creator
        if f is None or id(f) in seen:
            continue
        seen.add(id(f))
        names.add(type(f).__name__)
        stack.extend(f.inputs)
    return names


def test_table_covers_every_primitive_and_composite(cases_by_name):
    """The table of cases, forward and (recorded) backward, reaches every primitive; every
    composite has a row named after it."""
    reached = set()
    for case in cases_by_name.values():
        arrays, consts = case.inputs(numpy.float64)
        xs = [gk.Tensor(a, requires_grad=True) for a in arrays]
        y = case.gk(*xs, *consts)
        grads = gk.grad((y * y).sum(), xs, create_graph=True, allow_unused=True)
        reached |= _functions_in_graph([y, *grads])
    missing = {f.__name__ for f in ops.PRIMITIVES} - reached
    assert not missing, f"primitives never exercised: {sorted(missing)}"
    untested = [name for name in composite.__all__ if not any(case.startswith(name) for case in cases_by_name)]
    assert not untested, f"composites without a case: {untested}"


# ---------------------------------------------------------------------------- random broadcast shapes
BROADCAST = settings(max_examples=15, deadline=None, derandomize=True, database=None)
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "maximum": (gk.maximum, torch.maximum),
    "minimum": (gk.minimum, torch.minimum),
}


def _draw(data, shapes, dtype, name):
    seed = data.draw(st.integers(0, 2 ** 16), label="seed")
    rng = numpy.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        x = rng.standard_normal(shape)
        if name == "div" and len(arrays) == 1:
            x = numpy.sign(x + 1e-9) * (numpy.abs(x) + 0.5)   # keep the divisor away from 0
        arrays.append(x.astype(dtype))
    return arrays, rng


@pytest.mark.parametrize("name", sorted(BINARY))
@BROADCAST
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
       dtype=st.sampled_from(DTYPES), data=st.data())
def test_binary_op_broadcasting_matches_torch(name, shapes, dtype, data, compare_with_torch):
    arrays, _ = _draw(data, shapes.input_shapes, dtype, name)
    y, _ = compare_with_torch(*BINARY[name], arrays)
    assert y.shape == shapes.result_shape


@BROADCAST
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
       dtype=st.sampled_from(DTYPES), data=st.data())
def test_where_broadcasting_matches_torch(shapes, dtype, data, compare_with_torch):
    (a, b), rng = _draw(data, shapes.input_shapes[1:], dtype, "where")
    condition = rng.random(shapes.input_shapes[0]) > 0.5
    compare_with_torch(lambda a, b, c: gk.where(c, a, b), lambda a, b, c: torch.where(torch.as_tensor(c), a, b),
                       [a, b], (condition,))


@BROADCAST
@given(shapes=mutually_broadcastable_shapes(signature="(m?,k),(k,n?)->(m?,n?)", max_dims=4, max_side=3),
       dtype=st.sampled_from(DTYPES), data=st.data())
def test_batched_matmul_matches_torch(shapes, dtype, data, compare_with_torch):
    arrays, _ = _draw(data, shapes.input_shapes, dtype, "matmul")
    y, _ = compare_with_torch(gk.matmul, torch.matmul, arrays)
    assert y.shape == shapes.result_shape


# ---------------------------------------------------------------------------- where gk and torch may differ
def test_repeated_integer_indices_accumulate():
    x = gk.Tensor(numpy.zeros((3, 2)), requires_grad=True)
    x[numpy.array([2, 0, 2, 2])].sum().backward()
    numpy.testing.assert_array_equal(x.grad.data, [[1, 1], [0, 0], [3, 3]])


def test_max_over_an_axis_sends_ties_to_the_first_maximum_like_torch():
    data = numpy.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [5.0, 5.0, 5.0]], dtype=numpy.float32)
    x, t = gk.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    x.max(axis=1).values.sum().backward()
    torch.max(t, 1).values.sum().backward()
    numpy.testing.assert_array_equal(x.grad.data, t.grad.numpy())
    numpy.testing.assert_array_equal(x.grad.data, [[0, 1, 0], [1, 0, 0], [1, 0, 0]])


def test_full_max_and_amax_split_ties_evenly_like_torch():
    """torch.max() without dim, amax and amin share the gradient evenly among tied maxima (max over
    a dim gives it to the index it returns: the test above)."""
    x = gk.Tensor(numpy.array([[1.0, 3.0], [3.0, 0.0]]), requires_grad=True)
    x.max().backward()
    numpy.testing.assert_array_equal(x.grad.data, [[0, 0.5], [0.5, 0]])
    y = gk.Tensor(numpy.array([[1.0, 0.0], [0.0, 2.0]]), requires_grad=True)
    y.min().backward()
    numpy.testing.assert_array_equal(y.grad.data, [[0, 0.5], [0.5, 0]])
    data = numpy.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for ours, theirs in ((lambda t: t.amax(1), lambda t: t.amax(1)), (lambda t: t.amin(1), lambda t: t.amin(1)),
                         (lambda t: t.max(), lambda t: t.max())):
        x, t = gk.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        ours(x).sum().backward()
        theirs(t).sum().backward()
        numpy.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_maximum_and_minimum_split_ties_in_half_like_torch(compare_with_torch):
    a = numpy.array([1.0, 2.0, -1.0, 4.0])
    b = numpy.array([1.0, 3.0, -1.0, 0.0])
    _, (xa, xb) = compare_with_torch(gk.maximum, torch.maximum, [a, b])
    numpy.testing.assert_array_equal(xa.grad.data[[0, 2]], xb.grad.data[[0, 2]])   # tied: half each
    assert xa.grad.data[1] == 0 and xb.grad.data[3] == 0                            # the smaller: nothing
    compare_with_torch(gk.minimum, torch.minimum, [a, b])


def test_clip_at_its_boundaries_passes_the_gradient_like_torch_clamp(compare_with_torch):
    data = numpy.array([-2.0, -1.0, -0.5, 0.0, 1.0, 1.5], dtype=numpy.float32)
    _, (x,) = compare_with_torch(lambda x: x.clip(-1.0, 1.0), lambda x: x.clamp(-1.0, 1.0), [data])
    numpy.testing.assert_array_equal(x.grad.data != 0, [False, True, True, True, True, False])


def test_relu_and_abs_at_zero_have_zero_gradient_like_torch(compare_with_torch):
    data = numpy.array([-1.0, 0.0, 2.0])
    compare_with_torch(gk.Tensor.relu, torch.relu, [data])
    compare_with_torch(gk.abs, torch.abs, [data])


def test_pow_zero_exponent_has_zero_gradient_everywhere_like_torch(compare_with_torch):
    compare_with_torch(lambda x: x ** 0, lambda x: x ** 0, [numpy.array([0.0, 1.0, -2.0])])


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_sigmoid_keeps_relative_accuracy_in_both_tails(dtype, compare_with_torch):
    """sigmoid(-30) is 9.4e-14, not 0: relative (not only absolute) agreement with torch, no overflow."""
    data = numpy.array([-80.0, -30.0, -17.0, -5.0, 0.0, 5.0, 17.0, 30.0, 80.0], dtype=dtype)
    y, _ = compare_with_torch(gk.sigmoid, torch.sigmoid, [data])
    numpy.testing.assert_allclose(y.data, torch.sigmoid(torch.from_numpy(data)).numpy(), rtol=1e-6, atol=0)
