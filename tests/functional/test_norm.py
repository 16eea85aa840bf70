"""batch_norm against torch.nn.functional.batch_norm (train, eval, running statistics); dropout."""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.functional as F

SHAPES = [(8, 3), (5, 3, 4), (4, 3, 5, 6)]


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_train_steps_then_eval_against_torch(shape, dtype, check, rng):
    """Several training steps (outputs, gradients of x, weight, bias, running statistics), then eval."""
    weight, bias = rng.standard_normal(3), rng.standard_normal(3)
    running = [numpy.zeros(3, dtype), numpy.ones(3, dtype)]                              # arrays
    running_t = [gk.Tensor(numpy.zeros(3, dtype)), gk.Tensor(numpy.ones(3, dtype))]       # Tensors
    torch_running = [torch.zeros(3, dtype=check_dtype(dtype)), torch.ones(3, dtype=check_dtype(dtype))]
    for step in range(4):
        x = rng.standard_normal(shape) * (step + 1) + step
        check.against_torch(lambda a, w, b: F.batch_norm(a, *running, w, b, True, 0.2, 1e-3),
                            lambda a, w, b: TF.batch_norm(a, *torch_running, w, b, True, 0.2, 1e-3),
                            [x, weight, bias], dtype, seed=step, what=f"batch_norm train step {step}")
        F.batch_norm(gk.Tensor(x.astype(dtype)), *running_t, None, None, True, 0.2, 1e-3)
        for ours, ours_t, theirs in zip(running, running_t, torch_running):
            check.close(ours, theirs, dtype, "running statistics")
            check.close(ours_t.data, theirs, dtype, "running statistics kept in Tensors")
            assert ours.dtype == dtype and ours_t.dtype == dtype
    x = rng.standard_normal(shape)
    check.against_torch(lambda a, w, b: F.batch_norm(a, *running, w, b, False, 0.2, 1e-3),
                        lambda a, w, b: TF.batch_norm(a, *torch_running, w, b, False, 0.2, 1e-3),
                        [x, weight, bias], dtype, what="batch_norm eval")
    before = [r.copy() for r in running]
    F.batch_norm(gk.Tensor(x), *running, training=False)
    assert all((b == r).all() for b, r in zip(before, running)), "eval must not touch the running statistics"


def check_dtype(dtype):
    return torch.float64 if dtype == numpy.float64 else torch.float32


@pytest.mark.parametrize("training", [True, False])
def test_without_affine_parameters_and_without_running_statistics(training, check, rng):
    x = rng.standard_normal((6, 3, 2, 2))
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    check.against_torch(lambda a: F.batch_norm(a, rm.copy(), rv.copy(), training=training),
                        lambda a: TF.batch_norm(a, torch.tensor(rm), torch.tensor(rv), training=training),
                        [x], numpy.float64)
    if training:
        check.against_torch(lambda a: F.batch_norm(a, None, None), lambda a: TF.batch_norm(a, None, None, training=True),
                            [x], numpy.float64)


@pytest.mark.parametrize("shape", [(5, 2), (3, 2, 2, 3)])
def test_gradcheck_gradgradcheck_jvp_and_double_backward(shape, check, rng):
    x, w, b = rng.standard_normal(shape), rng.standard_normal(2), rng.standard_normal(2)
    f = lambda a, c, d: F.batch_norm(a, None, None, c, d)  # noqa: E731
    assert gk.autograd.gradcheck(f, (x, w, b))
    assert gk.autograd.gradgradcheck(f, (x, w, b))
    check.jvp_matches_vjp(f, [x, w, b])
    weights = rng.standard_normal(shape)
    check.hvp_against_torch(lambda a: (f(a, gk.Tensor(w), gk.Tensor(b)) ** 2 * gk.Tensor(weights)).sum(),
                            lambda a: (TF.batch_norm(a, None, None, torch.tensor(w), torch.tensor(b), True) ** 2
                                       * torch.tensor(weights)).sum(), [x])
    rm, rv = rng.standard_normal(2), rng.random(2) + 0.5
    assert gk.autograd.gradcheck(lambda a, c, d: F.batch_norm(a, rm, rv, c, d, training=False), (x, w, b))


@pytest.mark.parametrize("call, message", [
    (lambda: F.batch_norm(gk.randn(4), None, None), "batch_norm: expected input of shape (N, C, ...), got (4,)"),
    (lambda: F.batch_norm(gk.randn(4, 3), numpy.zeros(2), numpy.ones(3)), "batch_norm: expected running_mean of shape (3,), got (2,)"),
    (lambda: F.batch_norm(gk.randn(4, 3), None, None, gk.randn(4)), "batch_norm: expected weight of shape (3,), got (4,)"),
    (lambda: F.batch_norm(gk.randn(4, 3), None, None, training=False), "batch_norm: evaluation (training=False) needs"),
    (lambda: F.batch_norm(gk.randn(1, 3), None, None), "batch_norm: training needs more than one value per channel"),
])
def test_batch_norm_errors(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


# ---------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_preserves_the_mean_and_drops_a_fraction_p(p):
    x = gk.Tensor(numpy.full((400, 500), 2.0, dtype=numpy.float32), requires_grad=True)
    y = F.dropout(x, p, rng=0)
    n = x.numel()
    dropped = float((y.data == 0).mean())
    assert abs(dropped - p) < 5 * numpy.sqrt(p * (1 - p) / n)
    # mean of 2 m / (1 - p): standard error 2 sqrt(p / ((1 - p) n))
    assert abs(float(y.data.mean()) - 2.0) < 5 * 2 * numpy.sqrt(p / ((1 - p) * n))
    numpy.testing.assert_allclose(numpy.unique(y.data), [0.0, 2.0 / (1 - p)], rtol=1e-6)
    y.sum().backward()
    numpy.testing.assert_array_equal(x.grad.data, y.data / 2.0)          # d y / d x = m / (1 - p)
    assert y.dtype == numpy.float32 and x.grad.dtype == numpy.float32


def test_dropout_eval_and_the_book_variant():
    x = gk.Tensor(numpy.arange(1.0, 7.0).reshape(2, 3))
    assert F.dropout(x, 0.4, training=False) is x                         # inverted: identity in eval
    numpy.testing.assert_allclose(F.dropout(x, 0.4, training=False, inverted=False).data, x.data * 0.6)
    y = F.dropout(x, 0.4, rng=3, inverted=False)                          # book: train masks only
    assert set(numpy.unique(y.data)) <= set(x.data.ravel()) | {0.0}
    big = gk.Tensor(numpy.ones((300, 300)))
    assert abs(float(F.dropout(big, 0.4, rng=1, inverted=False).data.mean()) - 0.6) < 0.01
    assert F.dropout(x, 0.0) is x


def test_dropout_randomness_is_explicit():
    x = gk.Tensor(numpy.ones((50, 50)))
    numpy.testing.assert_array_equal(F.dropout(x, 0.5, rng=7).data, F.dropout(x, 0.5, rng=7).data)
    generator = numpy.random.default_rng(7)
    first, second = F.dropout(x, 0.5, rng=generator).data, F.dropout(x, 0.5, rng=generator).data
    assert (first != second).any()                                       # one generator: fresh masks
    numpy.testing.assert_array_equal(first, F.dropout(x, 0.5, rng=7).data)



@pytest.mark.parametrize("op", ["dropout", "dropout2d"])
def test_dropout_keeps_a_channels_first_input_in_its_memory_order(op):
    """A conv output's (C, N, H, W) memory stays so through dropout (a C-ordered mask made the product
    NCHW, and the next convolution copied it back in both passes); the mask is the same as for the
    same values in NCHW memory drawn in that order, and the gradient is the mask again."""
    rng = numpy.random.default_rng(0)
    values = rng.standard_normal((5, 6, 4, 3)).astype(numpy.float32)
    x = gk.Tensor(numpy.ascontiguousarray(values.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3), requires_grad=True)
    y = getattr(F, op)(x, 0.5, rng=4)
    assert y.data.transpose(1, 0, 2, 3).flags.c_contiguous, f"{op} lost the input's memory order"
    shape = x.shape if op == "dropout" else x.shape[:2] + (1, 1)
    draws = numpy.random.default_rng(4).random((shape[1], shape[0]) + shape[2:], dtype=numpy.float32)
    mask = (draws.transpose(1, 0, 2, 3) >= 0.5) * numpy.float32(2.0)
    numpy.testing.assert_array_equal(y.data, values * mask)
    y.backward(gk.ones_like(y))
    numpy.testing.assert_array_equal(x.grad.data, numpy.broadcast_to(mask, x.shape))
    c_ordered = getattr(F, op)(gk.Tensor(values), 0.5, rng=4)  # NCHW memory: draws in that order, as before
    c_draws = numpy.random.default_rng(4).random(shape, dtype=numpy.float32)
    numpy.testing.assert_array_equal(c_ordered.data, values * ((c_draws >= 0.5) * numpy.float32(2.0)))

@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "half"])
def test_dropout_rejects_p_outside_0_1(p):
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\), got p="):
        F.dropout(gk.randn(3), p)
