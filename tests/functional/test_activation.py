"""Activations against PyTorch (float32 and float64), float64 gradcheck, forward mode, double backward."""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.functional as F

DTYPES = [numpy.float32, numpy.float64]

# name -> (ours, torch's, shape of x); each takes one input x
UNARY = {
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "relu": (F.relu, torch.relu),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7)),
    "softplus": (F.softplus, TF.softplus),
    "softplus_beta": (lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0)),
    "softmax": (F.softmax, lambda x: torch.softmax(x, -1)),
    "softmax_axis0": (lambda x: F.softmax(x, 0), lambda x: torch.softmax(x, 0)),
    "log_softmax": (F.log_softmax, lambda x: torch.log_softmax(x, -1)),
    "log_softmax_axis1": (lambda x: F.log_softmax(x, 1), lambda x: torch.log_softmax(x, 1)),
    "logsumexp": (lambda x: F.logsumexp(x, 1), lambda x: torch.logsumexp(x, 1)),
    "logsumexp_keep": (lambda x: F.logsumexp(x, (0, 2), True), lambda x: torch.logsumexp(x, (0, 2), True)),
    "maxout": (lambda x: F.maxout(x, 2), lambda x: x.reshape(4, 3, 2, 5).amax(2)),
    "maxout_last": (lambda x: F.maxout(x, 5, axis=-1), lambda x: x.reshape(4, 6, 1, 5).amax(-1)),
}


def _input(rng, shape=(4, 6, 5)):
    x = rng.standard_normal(shape) * 3
    x[0, 0, :2] = 0.0  # the kinks of relu / leaky_relu / elu, where torch's one-sided choice must match
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_against_torch(name, dtype, check, rng):
    ours, theirs = UNARY[name]
    check.against_torch(ours, theirs, [_input(rng)], dtype, what=name)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_gradcheck(name, rng):
    ours = UNARY[name][0]
    x = rng.standard_normal((4, 6, 5))
    assert gk.autograd.gradcheck(ours, (x,))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softplus", "elu", "logsumexp", "sigmoid"])
def test_gradgradcheck(name, rng):
    assert gk.autograd.gradgradcheck(UNARY[name][0], (rng.standard_normal((2, 3, 4)),))


@pytest.mark.parametrize("name", ["softmax", "log_softmax_axis1", "softplus_beta"])
def test_fused_jvp_matches_vjp(name, check, rng):
    check.jvp_matches_vjp(UNARY[name][0], [rng.standard_normal((4, 6, 5))])


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softplus"])
def test_double_backward_against_torch(name, check, rng):
    ours, theirs = UNARY[name]
    weights = rng.standard_normal((3, 5))
    check.hvp_against_torch(lambda x: (ours(x) ** 2 * gk.Tensor(weights)).sum(),
                            lambda x: (theirs(x) ** 2 * torch.tensor(weights)).sum(),
                            [rng.standard_normal((3, 5))], what=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight_shape", [(6,), (1,)])
def test_prelu_against_torch(weight_shape, dtype, check, rng):
    weight = rng.uniform(0.05, 0.5, weight_shape)
    check.against_torch(F.prelu, TF.prelu, [_input(rng), weight], dtype, what="prelu")
    check.against_torch(F.prelu, TF.prelu, [rng.standard_normal((3, 6)), weight], dtype, what="prelu 2-D")
    assert gk.autograd.gradcheck(F.prelu, (rng.standard_normal((2, 6, 3)), weight))


def test_stable_for_extreme_inputs():
    x = gk.Tensor(numpy.array([[1000.0, 0.0, -1000.0], [-1e4, -1e4, -1e4]], dtype=numpy.float32), requires_grad=True)
    for y in (F.softmax(x), F.log_softmax(x), F.logsumexp(x, 1), F.softplus(x), F.elu(x)):
        y.sum().backward()
        assert numpy.isfinite(y.data).all() and numpy.isfinite(x.grad.data).all()
        x.grad = None
    numpy.testing.assert_allclose(F.log_softmax(x).data[0], [0.0, -1000.0, -2000.0])
    numpy.testing.assert_allclose(F.logsumexp(x, 1).data, [1000.0, -1e4 + numpy.log(3.0)], rtol=1e-6)
    # softplus of a very negative input keeps its digits: log1p(e^-30) = e^-30, not 0
    numpy.testing.assert_allclose(F.softplus(gk.Tensor(numpy.array([-30.0]))).data, [numpy.exp(-30.0)], rtol=1e-12)


def test_softplus_linear_above_threshold():
    x = gk.Tensor(numpy.array([25.0, 10.0]), requires_grad=True)
    y = F.softplus(x, beta=2.0, threshold=20.0)    # beta x = 50 > 20: linear; 20 is not > 20
    y.sum().backward()
    assert y.data[0] == 25.0 and x.grad.data[0] == 1.0
    numpy.testing.assert_allclose(y.data[1], numpy.log1p(numpy.exp(20.0)) / 2)


def test_maxout_groups_consecutive_units():
    x = gk.Tensor(numpy.array([[1.0, 5.0, 2.0, 3.0, 0.0, -1.0]]), requires_grad=True)
    y = F.maxout(x, 2)
    numpy.testing.assert_array_equal(y.data, [[5.0, 3.0, 0.0]])
    y.sum().backward()
    numpy.testing.assert_array_equal(x.grad.data, [[0, 1, 0, 1, 1, 0]])


def test_float32_stays_float32(rng):
    x = gk.Tensor(rng.standard_normal((3, 4)).astype(numpy.float32), requires_grad=True)
    w = gk.Tensor(numpy.full(4, 0.25, dtype=numpy.float32), requires_grad=True)
    for y in (F.leaky_relu(x), F.elu(x), F.softplus(x, 2.0), F.softmax(x), F.log_softmax(x), F.prelu(x, w),
              F.logsumexp(x, 1), F.maxout(x, 2)):
        assert y.dtype == numpy.float32
        y.sum().backward()
        assert x.grad.dtype == numpy.float32
        x.grad = None


@pytest.mark.parametrize("call, message", [
    (lambda: F.prelu(gk.randn(2, 3, 4), gk.randn(4)), "prelu: weight must have shape (3,) or (1,)"),
    (lambda: F.maxout(gk.randn(2, 7), 2), "maxout: axis 1 of shape (2, 7) has size 7, not a multiple of pieces=2"),
    (lambda: F.softmax(gk.randn(2, 3), 2), "softmax: axis 2 is out of range for input of shape (2, 3)"),
    (lambda: F.log_softmax(gk.tensor(1.0)), "log_softmax: axis -1 is out of range"),
])
def test_errors_name_the_function_and_shapes(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


# ReLU on arrays of at least _elementwise.MIN_SIZE elements runs compiled loops; below it, NumPy.
def _large_relu_inputs(rng, dtype):
    """Large inputs in several memory layouts, with the special values the loops must get right."""
    x = rng.standard_normal((4, 6, 80, 70)).astype(dtype)
    x.reshape(-1)[:6] = [0.0, -0.0, numpy.nan, numpy.inf, -numpy.inf, -1e-30]
    return {"C-contiguous": x, "channels first": numpy.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3),
            "sliced (not dense)": x[:, :, ::2], "2-D": x.reshape(24, -1)}


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_compiled_path_matches_numpy_path_bit_for_bit(dtype, rng, monkeypatch):
    from gradkit.autograd import _elementwise
    for layout, x in _large_relu_inputs(rng, dtype).items():
        gy = rng.standard_normal(x.shape).astype(dtype)
        gy.reshape(-1)[:3] = [numpy.nan, numpy.inf, 1.0]
        results = []
        for min_size in (_elementwise.MIN_SIZE, 10**12):  # compiled where eligible, then NumPy only
            monkeypatch.setattr(_elementwise, "MIN_SIZE", min_size)
            a = gk.Tensor(x, requires_grad=True)
            y = F.relu(a)
            y.backward(gk.Tensor(gy))
            results.append((y.data, a.grad.data))
        for ours, numpys in zip(*results):
            assert ours.dtype == numpys.dtype == dtype
            numpy.testing.assert_array_equal(ours, numpys, err_msg=layout)
            assert (numpy.signbit(ours) == numpy.signbit(numpys)).all(), layout  # -0.0 vs 0.0 too


def test_relu_compiled_path_is_taken_for_dense_large_arrays_only(rng):
    from gradkit.autograd import _elementwise
    inputs = _large_relu_inputs(rng, numpy.float32)
    assert {k for k, x in inputs.items() if _elementwise._eligible(x) is not None} == {"C-contiguous", "channels first", "2-D"}
    assert _elementwise._eligible(inputs["C-contiguous"][:1, :1]) is None          # small
    assert _elementwise._eligible(numpy.zeros(inputs["C-contiguous"].shape, numpy.int32)) is None
    y = _elementwise.relu(inputs["channels first"])
    assert y.transpose(1, 0, 2, 3).flags.c_contiguous                                 # keeps the layout


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_large_against_torch_with_double_backward_and_jvp(dtype, check, rng):
    x = _large_relu_inputs(rng, dtype)["channels first"]
    x = numpy.where(numpy.isfinite(x), x, 1.0).astype(dtype)
    check.against_torch(F.relu, torch.relu, [x], dtype, what="relu large")
    # the gradient is linear in gy, so its derivative must be the same mask again
    weights = rng.standard_normal(x.shape)
    check.hvp_against_torch(lambda a: (F.relu(a) ** 2 * gk.Tensor(weights)).sum(),
                            lambda a: (torch.relu(a) ** 2 * torch.tensor(weights)).sum(), [x.astype(numpy.float64)])
    check.jvp_matches_vjp(F.relu, [x])


@pytest.mark.parametrize("shape", [(3, 4), (4, 6, 80, 70)])  # the NumPy path and the compiled one
def test_relu_gradient_is_a_select_as_in_torch(shape, rng):
    """Where the unit is off, a NaN or infinite gy gives 0 (not NaN = inf * 0); at x = -0.0, +0.0; at
    x = NaN the unit passes gy (torch's threshold_backward masks where y <= 0, which NaN is not)."""
    x = rng.standard_normal(shape)
    gy = numpy.full(shape, numpy.nan)
    gy.reshape(-1)[::2] = -numpy.inf
    gy.reshape(-1)[2:6] = 1.5
    x.reshape(-1)[:2] = -0.0
    x.reshape(-1)[2:4] = numpy.nan
    a, t = gk.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.relu(a).backward(gk.Tensor(gy))
    torch.relu(t).backward(torch.tensor(gy))
    numpy.testing.assert_array_equal(a.grad.data, t.grad.numpy())
    assert (a.grad.data.reshape(-1)[2:4] == 1.5).all()
    assert not numpy.signbit(a.grad.data[x <= 0]).any()
