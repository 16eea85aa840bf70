"""Losses against PyTorch, float64 gradcheck, double backward of cross-entropy (Newton needs it)."""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.functional as F

DTYPES = [numpy.float32, numpy.float64]
REDUCTIONS = ["mean", "sum", "none"]


def _probabilities(rng, shape, axis=1):
    p = rng.random(shape) + 0.1
    return p / p.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_class_indices(reduction, dtype, check, rng):
    logits, target = rng.standard_normal((7, 5)) * 3, rng.integers(0, 5, 7)
    check.against_torch(lambda x, t: F.cross_entropy(x, t, reduction),
                        lambda x, t: TF.cross_entropy(x, t, reduction=reduction), [logits, target], dtype,
                        what=f"cross_entropy {reduction}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities_with_target_gradient(reduction, dtype, check, rng):
    logits, target = rng.standard_normal((6, 4)), _probabilities(rng, (6, 4))
    check.against_torch(lambda x, t: F.cross_entropy(x, t, reduction),
                        lambda x, t: TF.cross_entropy(x, t, reduction=reduction), [logits, target], dtype,
                        what=f"cross_entropy soft {reduction}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_single_sample(reduction, check, rng):
    logits, target = rng.standard_normal((3, 4, 2, 5)), rng.integers(0, 4, (3, 2, 5))
    check.against_torch(lambda x, t: F.cross_entropy(x, t, reduction),
                        lambda x, t: TF.cross_entropy(x, t, reduction=reduction), [logits, target], numpy.float64)
    soft = _probabilities(rng, (3, 4, 2, 5))
    check.against_torch(lambda x, t: F.cross_entropy(x, t, reduction),
                        lambda x, t: TF.cross_entropy(x, t, reduction=reduction), [logits, soft], numpy.float64)
    check.against_torch(lambda x, t: F.cross_entropy(x, t, reduction),
                        lambda x, t: TF.cross_entropy(x, t, reduction=reduction),
                        [rng.standard_normal(4), numpy.array(2)], numpy.float32)


def test_cross_entropy_one_hot_equals_indices(rng):
    logits, target = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    a, b = F.cross_entropy(logits, target), F.cross_entropy(logits, F.one_hot(target, 3, dtype=numpy.float64))
    numpy.testing.assert_allclose(a.data, b.data, rtol=1e-12)


def test_cross_entropy_is_stable_and_float32(rng):
    logits = gk.Tensor(numpy.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]], dtype=numpy.float32), requires_grad=True)
    loss = F.cross_entropy(logits, numpy.array([2, 0]))
    loss.backward()
    assert loss.dtype == numpy.float32 and logits.grad.dtype == numpy.float32
    numpy.testing.assert_allclose(loss.item(), (2e4 + numpy.log(3)) / 2, rtol=1e-6)
    # a float64 target must not turn float32 work into float64 (the NumPy 2 promotion trap)
    soft = F.cross_entropy(logits, numpy.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    assert soft.dtype == numpy.float32


@pytest.mark.parametrize("soft", [False, True])
def test_cross_entropy_double_backward_against_torch(soft, check, rng):
    target = _probabilities(rng, (5, 4)) if soft else rng.integers(0, 4, 5)
    check.hvp_against_torch(F.cross_entropy, TF.cross_entropy, [rng.standard_normal((5, 4)), target])
    check.hvp_against_torch(lambda x, t: F.cross_entropy(x, t, "sum"), lambda x, t: TF.cross_entropy(x, t, reduction="sum"),
                            [rng.standard_normal((5, 4)), target])


def test_cross_entropy_hessian_of_logistic_regression(check, rng):
    """The Newton-CG use: the Hessian-vector product with respect to the weights of a linear model."""
    features, labels = rng.standard_normal((8, 3)), rng.integers(0, 4, 8)
    check.hvp_against_torch(lambda w: F.cross_entropy(gk.Tensor(features) @ w, labels),
                            lambda w: TF.cross_entropy(torch.tensor(features) @ w, torch.tensor(labels)),
                            [rng.standard_normal((3, 4))])


def test_cross_entropy_gradcheck_gradgradcheck_and_jvp(check, rng):
    logits, target, soft = rng.standard_normal((4, 3)), rng.integers(0, 3, 4), _probabilities(rng, (4, 3))
    for reduction in REDUCTIONS:
        assert gk.autograd.gradcheck(lambda x: F.cross_entropy(x, target, reduction), (logits,))
        assert gk.autograd.gradgradcheck(lambda x: F.cross_entropy(x, target, reduction), (logits,))
        assert gk.autograd.gradcheck(lambda x, t: F.cross_entropy(x, t, reduction), (logits, soft))
        assert gk.autograd.gradgradcheck(lambda x, t: F.cross_entropy(x, t, reduction), (logits, soft))
        check.jvp_matches_vjp(lambda x: F.cross_entropy(x, target, reduction), [logits])
        check.jvp_matches_vjp(lambda x, t: F.cross_entropy(x, t, reduction), [logits, soft])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction, dtype, check, rng):
    log_probs = numpy.log(_probabilities(rng, (6, 4)))
    check.against_torch(lambda x, t: F.nll_loss(x, t, reduction), lambda x, t: TF.nll_loss(x, t, reduction=reduction),
                        [log_probs, rng.integers(0, 4, 6)], dtype)
    x = gk.Tensor(rng.standard_normal((6, 4)))
    t = rng.integers(0, 4, 6)
    numpy.testing.assert_allclose(F.nll_loss(F.log_softmax(x, 1), t, reduction).data,
                                  F.cross_entropy(x, t, reduction).data, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(reduction, dtype, check, rng):
    check.against_torch(lambda x, t: F.mse_loss(x, t, reduction), lambda x, t: TF.mse_loss(x, t, reduction=reduction),
                        [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction, dtype, check, rng):
    logits = rng.standard_normal((5, 3)) * 4
    logits[0, 0] = 0.0
    check.against_torch(lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction),
                        lambda x, t: TF.binary_cross_entropy_with_logits(x, t, reduction=reduction),
                        [logits, rng.random((5, 3))], dtype)


def test_binary_cross_entropy_with_logits_is_stable(rng):
    logits = gk.Tensor(numpy.array([-200.0, 200.0, 0.0], dtype=numpy.float32), requires_grad=True)
    target = numpy.array([1.0, 0.0, 1.0], dtype=numpy.float32)
    loss = F.binary_cross_entropy_with_logits(logits, target, "none")
    loss.sum().backward()
    numpy.testing.assert_allclose(loss.data, [200.0, 200.0, numpy.log(2.0)], rtol=1e-6)
    numpy.testing.assert_allclose(logits.grad.data, [-1.0, 1.0, -0.5], rtol=1e-6)
    assert gk.autograd.gradgradcheck(lambda x, t: F.binary_cross_entropy_with_logits(x, t),
                                     (rng.standard_normal((3, 2)), rng.random((3, 2))))
    assert gk.autograd.gradcheck(lambda x, t: F.mse_loss(x, t), (rng.standard_normal((3, 2)), rng.random((3, 2))))


@pytest.mark.parametrize("call, message", [
    (lambda: F.cross_entropy(gk.randn(4, 3), numpy.array([0, 1, 2])), "cross_entropy: class-index target must have shape (4,)"),
    (lambda: F.cross_entropy(gk.randn(4, 3), numpy.array([0, 1, 2, 3])), "cross_entropy: class indices must lie in [0, 3), got values from 0 to 3"),
    (lambda: F.cross_entropy(gk.randn(4, 3), gk.randn(4, 2)), "cross_entropy: expected integer class indices of shape (4,) or class probabilities"),
    (lambda: F.cross_entropy(gk.randn(4, 3), numpy.array([0, 1, 2, 0]), "avg"), "cross_entropy: reduction must be one of"),
    (lambda: F.nll_loss(gk.randn(4, 3), numpy.array([0, 1, 2, -1])), "nll_loss: class indices must lie in [0, 3)"),
    (lambda: F.mse_loss(gk.randn(4, 1), gk.randn(4)), "mse_loss: input and target must have the same shape, got input (4, 1) and target (4,)"),
    (lambda: F.binary_cross_entropy_with_logits(gk.randn(4), gk.randn(3)), "binary_cross_entropy_with_logits: input and target"),
])
def test_errors_name_the_function_and_shapes(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)
