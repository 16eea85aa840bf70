"""Gradient clipping against torch.nn.utils: same clipped gradients, same returned total norm."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import gradkit as gk
from gradkit import optim

SHAPES = [(4, 3), (3,), (2, 2, 2)]


def _pair(seed, scale, dtype=np.float32, with_missing=False):
    rng = np.random.default_rng(seed)
    grads = [(scale * rng.standard_normal(s)).astype(dtype) for s in SHAPES]
    ours = [gk.Tensor(np.zeros(s, dtype), requires_grad=True) for s in SHAPES]
    theirs = [torch.zeros(s, dtype=torch.float32 if dtype == np.float32 else torch.float64, requires_grad=True)
              for s in SHAPES]
    for i, (p, t, g) in enumerate(zip(ours, theirs, grads)):
        if with_missing and i == 1:
            continue
        p.grad = gk.Tensor(g.copy())
        t.grad = torch.tensor(g.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0, 3.0])
@pytest.mark.parametrize("scale", [0.01, 10.0])  # below and above max_norm
def test_clip_grad_norm_matches_torch(norm_type, scale):
    ours, theirs = _pair(0, scale, with_missing=True)
    total = optim.clip_grad_norm_(ours, max_norm=1.0, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0, norm_type=norm_type)
    assert isinstance(total, gk.Tensor) and total.dtype == np.float32
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    assert ours[1].grad is None
    for p, t in zip(ours, theirs):
        if p.grad is not None:
            assert p.grad.dtype == np.float32
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-9)
    clipped = optim.clip_grad_norm_(ours, max_norm=1.0, norm_type=norm_type).item()
    assert clipped <= 1.0 + 1e-5 and (scale < 1 or clipped > 0.99)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2 ** 16), max_norm=st.floats(0.01, 10.0), norm_type=st.sampled_from([2.0, math.inf]))
def test_clip_grad_norm_float64_any_max_norm(seed, max_norm, norm_type):
    ours, theirs = _pair(seed, 1.0, np.float64)
    total = optim.clip_grad_norm_(ours, max_norm, norm_type).item()
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type).item()
    assert total == pytest.approx(expected, rel=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_matches_torch():
    ours, theirs = _pair(1, 2.0)
    optim.clip_grad_value_(ours, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())
    assert max(np.abs(p.grad.numpy()).max() for p in ours) == np.float32(0.5)


def test_clip_accepts_one_tensor_and_no_gradients():
    w = gk.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    assert optim.clip_grad_norm_(w, 1.0).item() == 0.0  # no gradient yet
    (w * w).sum().backward()  # gradient (6, 8), norm 10
    assert optim.clip_grad_norm_(w, 1.0).item() == pytest.approx(10.0)
    np.testing.assert_allclose(w.grad.numpy(), [0.6, 0.8], rtol=1e-6)


def test_nonfinite_norm_raises_only_when_asked():
    w = gk.Tensor(np.ones(2, np.float32), requires_grad=True)
    w.grad = gk.Tensor(np.array([np.inf, 1.0], np.float32))
    with pytest.raises(RuntimeError, match="total 2-norm of the gradients is inf"):
        optim.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    assert optim.clip_grad_norm_([w], 1.0).item() == np.inf
