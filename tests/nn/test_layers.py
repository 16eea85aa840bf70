"""Layers, activation and loss modules against torch.nn on identical weights and inputs."""
from __future__ import annotations

import numpy
import pytest
import torch
from hypothesis import given, settings, strategies as st

import gradkit as gk
from gradkit import nn

from nn_testing import compare_with_torch

rng = numpy.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7), (7,)], ids=str)
def test_linear(dtype, bias, shape):
    compare_with_torch(nn.Linear(7, 4, bias=bias, rng=1), torch.nn.Linear(7, 4, bias=bias), randn(*shape),
                       dtype=dtype)


CONV_CASES = [  # in, out, kernel, stride, padding, dilation, groups, input (N, C, H, W)
    (3, 4, 3, 1, 0, 1, 1, (2, 3, 7, 9)),
    (3, 4, 3, 2, 1, 1, 1, (2, 3, 8, 7)),
    (1, 6, 5, 1, 2, 1, 1, (2, 1, 12, 12)),
    (2, 5, (3, 2), (2, 1), (2, 0), 1, 1, (3, 2, 9, 6)),
    (4, 6, 3, 1, 1, 2, 2, (2, 4, 9, 8)),
    (6, 16, 5, 1, 0, 1, 1, (2, 6, 14, 14)),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"k{c[2]}s{c[3]}p{c[4]}d{c[5]}g{c[6]}")
def test_conv2d(dtype, case):
    c, o, k, s, p, d, g, shape = case
    for bias in (True, False) if dtype == numpy.float32 else (True,):
        compare_with_torch(nn.Conv2d(c, o, k, s, p, d, g, bias=bias, rng=2),
                           torch.nn.Conv2d(c, o, k, s, p, d, g, bias=bias), randn(*shape), dtype=dtype)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_conv2d_random_geometry(data):
    groups = data.draw(st.sampled_from([1, 2]), "groups")
    c, o = groups * data.draw(st.integers(1, 3), "c/g"), groups * data.draw(st.integers(1, 3), "o/g")
    kh, kw = data.draw(st.integers(1, 4), "kh"), data.draw(st.integers(1, 4), "kw")
    stride, dilation = data.draw(st.integers(1, 3), "stride"), data.draw(st.integers(1, 2), "dilation")
    padding = data.draw(st.integers(0, 2), "padding")
    h = data.draw(st.integers(dilation * (kh - 1) + 1 - 2 * padding, 9).filter(lambda n: n >= 1), "h")
    w = data.draw(st.integers(dilation * (kw - 1) + 1 - 2 * padding, 9).filter(lambda n: n >= 1), "w")
    x = randn(data.draw(st.integers(1, 3), "n"), c, h, w)
    compare_with_torch(nn.Conv2d(c, o, (kh, kw), stride, padding, dilation, groups, rng=0),
                       torch.nn.Conv2d(c, o, (kh, kw), stride, padding, dilation, groups), x)


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), 0)])
def test_pooling(dtype, kernel, stride, padding):
    x = randn(2, 3, 9, 8)
    compare_with_torch(nn.MaxPool2d(kernel, stride, padding), torch.nn.MaxPool2d(kernel, stride, padding), x,
                       dtype=dtype)
    compare_with_torch(nn.AvgPool2d(kernel, stride, padding), torch.nn.AvgPool2d(kernel, stride, padding), x,
                       dtype=dtype)


def test_max_pool_ties_send_the_gradient_to_one_element():
    x = rng.integers(0, 2, (2, 3, 8, 8)).astype(numpy.float32)     # many ties in every window
    compare_with_torch(nn.MaxPool2d(2), torch.nn.MaxPool2d(2), x)
    xt = gk.Tensor(x, requires_grad=True)
    nn.MaxPool2d(2)(xt).sum().backward()
    assert (xt.grad.numpy() != 0).sum() == x.size // 4      # one winner per 2x2 window
    assert xt.grad.numpy().sum() == x.size // 4


def test_global_pool_and_flatten(dtype):
    x = randn(2, 3, 5, 4)
    compare_with_torch(nn.GlobalAvgPool2d(), torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()),
                       x, dtype=dtype)
    compare_with_torch(nn.Flatten(), torch.nn.Flatten(), x, dtype=dtype)
    compare_with_torch(nn.Identity(), torch.nn.Identity(), x, dtype=dtype)


ACTIVATIONS = [
    (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.PReLU(), lambda: torch.nn.PReLU()),
    (lambda: nn.PReLU(3, init=0.1), lambda: torch.nn.PReLU(3, init=0.1)),
    (lambda: nn.ELU(0.7), lambda: torch.nn.ELU(0.7)),
    (lambda: nn.Softplus(2.0), lambda: torch.nn.Softplus(2.0)),
    (lambda: nn.Softmax(1), lambda: torch.nn.Softmax(1)),
    (lambda: nn.LogSoftmax(1), lambda: torch.nn.LogSoftmax(1)),
    (lambda: nn.Softmax(-1), lambda: torch.nn.Softmax(-1)),
]


@pytest.mark.parametrize("pair", ACTIVATIONS, ids=lambda p: repr(p[0]()))
def test_activation_modules(dtype, pair):
    x = randn(4, 3, 5) * 3
    compare_with_torch(pair[0](), pair[1](), x, dtype=dtype)


def test_maxout_against_torch_reshape_max(dtype):
    class TorchMaxout(torch.nn.Module):
        def forward(self, x):
            return x.reshape(x.shape[0], x.shape[1] // 3, 3, *x.shape[2:]).amax(2)
    x = randn(4, 6, 5)
    compare_with_torch(nn.Maxout(3), TorchMaxout(), x, dtype=dtype)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules(dtype, reduction):
    logits = randn(6, 5)
    classes = rng.integers(0, 5, 6)
    compare_with_torch(nn.CrossEntropyLoss(reduction=reduction), torch.nn.CrossEntropyLoss(reduction=reduction), logits,
                       targets=[classes], dtype=dtype)
    log_probs = torch.log_softmax(torch.tensor(logits), 1).numpy()
    compare_with_torch(nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction), log_probs, targets=[classes],
                       dtype=dtype)
    target = randn(6, 5).astype(dtype)
    compare_with_torch(nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction), logits, targets=[target],
                       dtype=dtype)
    labels = rng.random((6, 5)).astype(dtype)
    compare_with_torch(nn.BCEWithLogitsLoss(reduction=reduction), torch.nn.BCEWithLogitsLoss(reduction=reduction), logits,
                       targets=[labels], dtype=dtype)


def test_reprs_match_torch():
    for ours, theirs in [(nn.Linear(3, 2), torch.nn.Linear(3, 2)), (nn.ReLU(), torch.nn.ReLU()),
                         (nn.Sequential(nn.Linear(2, 2), nn.Tanh()),
                          torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh()))]:
        assert repr(ours) == repr(theirs)
    assert repr(nn.Conv2d(1, 6, 5, padding=2)) == "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    assert repr(nn.Conv2d(1, 6, 5, padding=2)) == repr(torch.nn.Conv2d(1, 6, 5, padding=2))
    assert repr(nn.BatchNorm2d(6)) == "BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    assert repr(nn.Dropout(0.3)) == "Dropout(p=0.3, inplace=False)" == repr(torch.nn.Dropout(0.3))
