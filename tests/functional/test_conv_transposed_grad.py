"""The input gradient of a stride-1 conv as the forward convolution of gy with w flipped and
transposed, padded by k - 1 - p (``conv.TRANSPOSED``): the values of col2im(W^T @ gy) and of
PyTorch, by the direct loops and by the chunked ones, and which convolutions take it."""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.functional as F
import gradkit.functional.conv as conv_module
from gradkit import threads

# (N, C, H, W, O, kernel, padding): 3x3 as ResNet's, 5x5 with no and full padding, a 3x5 kernel with
# padding (1, 2), padding (0, 1); each by the direct loops and by the chunks (``routes``)
CASES = [(3, 16, 9, 7, 16, 3, 1), (2, 8, 10, 10, 8, 5, 0), (2, 8, 6, 7, 8, 5, 4), (2, 12, 7, 9, 6, (3, 5), (1, 2)),
         (2, 8, 8, 6, 16, 3, (0, 1)), (1, 32, 5, 5, 32, 3, 1)]


def _grads(case, dtype, seed=0):
    n, c, h, w, o, k, p = case
    k = (k, k) if isinstance(k, int) else k
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((o, c) + k).astype(dtype)
    x_gk = gk.tensor(x, requires_grad=True)
    y = F.conv2d(x_gk, gk.tensor(weight), padding=p)
    scale = rng.standard_normal(y.shape).astype(dtype)
    (y * gk.tensor(scale)).sum().backward()
    return x, weight, scale, p, x_gk.grad.data


@pytest.fixture(params=["direct", "chunked"])
def routes(request, monkeypatch):
    """The flipped convolution (and the forward pass) by the direct loops, or by im2col + GEMM."""
    monkeypatch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PAIRS", 10**9 if request.param == "direct" else 0)


@pytest.mark.parametrize("case", CASES)
def test_transposed_input_gradient_equals_col2im_and_torch(case, routes, monkeypatch):
    calls = []
    geometry = conv_module._Geometry
    monkeypatch.setattr(conv_module._Geometry, "forward",
                        lambda self, *a, _f=geometry.forward: (calls.append(self.x_shape), _f(self, *a))[1])
    x, weight, scale, p, transposed = _grads(case, numpy.float64)
    assert len(calls) == 2 and calls[1] == scale.shape, "the input gradient did not run as a forward convolution"
    monkeypatch.setattr(conv_module, "TRANSPOSED", False)
    col2im = _grads(case, numpy.float64)[-1]
    numpy.testing.assert_allclose(transposed, col2im, rtol=1e-12, atol=1e-12)
    xt = torch.tensor(x, requires_grad=True)
    (TF.conv2d(xt, torch.tensor(weight), padding=p) * torch.tensor(scale)).sum().backward()
    numpy.testing.assert_allclose(transposed, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    assert transposed.dtype == numpy.float64


def test_float32_transposed_input_gradient_is_as_close_to_float64_as_col2im(monkeypatch):
    case = (4, 16, 12, 12, 16, 3, 1)
    exact = _grads(case, numpy.float64)[-1]
    transposed = _grads(case, numpy.float32)[-1]
    monkeypatch.setattr(conv_module, "TRANSPOSED", False)
    col2im = _grads(case, numpy.float32)[-1]
    assert transposed.dtype == numpy.float32
    scale = numpy.abs(exact).max()
    assert numpy.abs(transposed - exact).max() / scale < 1e-6
    assert numpy.abs(transposed - exact).max() <= 4 * numpy.abs(col2im - exact).max() + 1e-7 * scale


def test_same_bits_on_one_and_two_threads():
    case = (5, 16, 10, 10, 16, 3, 1)
    results = []
    for count in (1, 2):
        with threads.num_threads(count):
            threads._hold()
            results.append(_grads(case, numpy.float32)[-1])
    numpy.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("c, o, stride, dilation, padding, takes", [
    (16, 16, 1, 1, 1, True),
    (8, 8, 1, 1, 2, True),      # padding k - 1: the flipped window has none
    (6, 16, 1, 1, 0, False),    # LeNet-5's 6 -> 16: too few rows for the forward product
    (64, 64, 1, 1, 1, False),   # 4096 channel pairs: col2im was as fast
    (16, 16, 2, 1, 1, False),   # strided
    (16, 16, 1, 2, 1, False),   # dilated
    (16, 16, 1, 1, 3, False),   # padding beyond k - 1
])
def test_which_convolutions_take_the_transposed_input_gradient(c, o, stride, dilation, padding, takes):
    geometry = conv_module._Geometry(conv_module.Window("conv2d", 3, stride, padding, dilation), 1, (2, c, 12, 12),
                                     (o, c, 3, 3))
    assert geometry.transposed_input_grad is takes
