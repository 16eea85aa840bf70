"""conv2d by Winograd F(2x2, 3x3) (``_winograd``): against PyTorch, its rounding against a float64
reference at ResNet-20's shapes, float64 gradcheck and forward mode through the ops that use it, odd
sizes, padding 0 to 3, batch 1, the same bits on 1, 2 and 3 threads, non-finite inputs, and which
convolutions take it."""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.functional as F
import gradkit.functional._winograd as winograd_module
import gradkit.functional.conv as conv_module
from gradkit import threads

# (N, C, H, W, O, padding): odd heights and widths (a last tile half outside), padding 0, 1, 2 and 3
# (3: the input gradient's padding 2 - p would be negative, so it goes through im2col), batch 1
CASES = [(2, 3, 7, 9, 4, 1), (3, 4, 8, 8, 5, 0), (1, 3, 5, 6, 2, 1), (2, 2, 6, 5, 3, 2), (2, 3, 4, 5, 3, 3),
         (1, 2, 3, 3, 2, 0)]


def _winograd_everywhere(monkeypatch):
    monkeypatch.setattr(conv_module, "WINOGRAD", True)
    monkeypatch.setattr(conv_module, "WINOGRAD_MIN_CHANNEL_PAIRS", 0)
    monkeypatch.setattr(conv_module, "WINOGRAD_MAX_TILE_WASTE", 4.0)  # a 1x1 output in a 2x2 tile too
    monkeypatch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PAIRS", 0)


@pytest.fixture
def calls(monkeypatch):
    """Winograd on for every stride-1 3x3 conv, whatever its channels and sizes (none by the direct
    loops); its calls counted."""
    _winograd_everywhere(monkeypatch)
    made = []
    kernel = winograd_module.convolve
    monkeypatch.setattr(winograd_module, "convolve", lambda *a: (made.append(a[0].shape), kernel(*a))[1])
    return made


def _arrays(rng, case, dtype=numpy.float64):
    n, c, h, w, o, _ = case
    return [rng.standard_normal(s).astype(dtype) for s in [(n, c, h, w), (o, c, 3, 3), (o,)]]


def _conv(padding):
    return (lambda x, w, b=None: F.conv2d(x, w, b, padding=padding),
            lambda x, w, b=None: TF.conv2d(x, w, b, padding=padding))


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("case", CASES)
def test_against_torch(case, dtype, calls, check, rng):
    ours, theirs = _conv(case[5])
    check.against_torch(ours, theirs, _arrays(rng, case), dtype, what=f"winograd conv2d {case}")
    assert len(calls) == (2 if case[5] <= 2 else 1)  # forward, and the input gradient where padding <= 2


def test_rounding_at_resnet20_shapes(monkeypatch, rng):
    """Winograd's transforms round: its float32 error against a float64 reference, as a fraction of
    the largest output, measured at ResNet-20's layers (16 x 16 channels at 32x32, 32 at 16x16, 64
    at 8x8, padding 1, batch 16, normal inputs, weights scaled by 1 / (3 sqrt C), 3 seeds): forward
    2.0-2.2e-7 / 2.5-2.8e-7 / 3.1-3.9e-7, input gradient 1.8-2.2e-7 / 2.5-3.5e-7 / 3.0-4.0e-7; im2col
    + GEMM in float32 gave 4.2-8.0e-7 forward and 1.2-2.2e-7 input gradient. The bound, 1e-6, is 2.5x
    the worst Winograd figure and 10x below the functional tests' float32 tolerance (1e-5 of the
    largest output); a wrong transform coefficient gives errors of order 1."""
    _winograd_everywhere(monkeypatch)
    for channels, size in [(16, 32), (32, 16), (64, 8)]:
        x = rng.standard_normal((4, channels, size, size))
        w = rng.standard_normal((channels, channels, 3, 3)) / (3 * channels ** 0.5)
        gy = rng.standard_normal((4, channels, size, size))
        tx, tw, tgy = (torch.tensor(a, requires_grad=True) for a in (x, w, gy))
        ty = TF.conv2d(tx, tw, padding=1)
        (tgx,) = torch.autograd.grad(ty, tx, tgy)
        xs = gk.Tensor(x.astype(numpy.float32), requires_grad=True)
        y = F.conv2d(xs, gk.Tensor(w.astype(numpy.float32)), padding=1)
        y.backward(gk.Tensor(gy.astype(numpy.float32)))
        for ours, theirs, what in [(y.data, ty.detach().numpy(), "forward"), (xs.grad.data, tgx.numpy(), "input grad")]:
            error = numpy.abs(ours - theirs).max() / numpy.abs(theirs).max()
            assert error <= 1e-6, f"{what} at {channels} channels, {size}x{size}: {error:.3g} of the largest output"


@pytest.mark.parametrize("case", [CASES[0], CASES[1], CASES[3], CASES[5]])
def test_gradcheck_and_gradgradcheck(case, calls, rng):
    small = (1,) + case[1:]
    arrays = _arrays(rng, small)
    assert gk.autograd.gradcheck(_conv(case[5])[0], arrays)
    assert gk.autograd.gradgradcheck(_conv(case[5])[0], arrays)
    assert calls


@pytest.mark.parametrize("case", CASES[:4])
def test_jvp_matches_vjp(case, calls, check, rng):
    check.jvp_matches_vjp(_conv(case[5])[0], _arrays(rng, case))
    assert calls


def _step(case, arrays):
    tensors = [gk.Tensor(a, requires_grad=True) for a in arrays]
    y = _conv(case[5])[0](*tensors)
    (y * y).sum().backward()
    return [y.data] + [t.grad.data for t in tensors]


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("case", [(5, 4, 7, 6, 3, 1), (4, 3, 8, 9, 5, 0)])
def test_any_thread_count_gives_the_same_bits(case, dtype, calls, check, monkeypatch, rng):
    monkeypatch.setattr(threads, "MIN_LOOP_SIZE", 0)
    monkeypatch.setattr(winograd_module, "CHUNK_ELEMENTS", 1)  # one image per chunk: several chunks per thread
    arrays = _arrays(rng, case, dtype)
    check.same_bits_on_thread_counts(lambda: _step(case, arrays))
    assert len(calls) == 8


def test_non_finite_outputs_fall_back_to_im2col_as_torch(calls, check):
    """An infinity meets its negative inside a tile's transforms (NaN where the direct sum gives
    infinity): ``convolve`` reports it and conv2d recomputes by im2col + GEMM."""
    x = numpy.zeros((2, 3, 6, 7))
    x[0, 1, 2, 3], x[1, 0, 4, 1] = numpy.inf, numpy.nan
    w = numpy.random.default_rng(0).standard_normal((4, 3, 3, 3))
    for dtype in (numpy.float32, numpy.float64):
        xp = numpy.pad(x.astype(dtype).transpose(1, 0, 2, 3), ((0, 0), (0, 0), (1, 1), (1, 1)))
        assert winograd_module.convolve(xp, w.astype(dtype)) is None
        ours = F.conv2d(gk.Tensor(x.astype(dtype)), gk.Tensor(w.astype(dtype)), padding=1).data
        theirs = TF.conv2d(torch.tensor(x.astype(dtype)), torch.tensor(w.astype(dtype)), padding=1).numpy()
        numpy.testing.assert_array_equal(numpy.isnan(ours), numpy.isnan(theirs))
        numpy.testing.assert_array_equal(numpy.isposinf(ours), numpy.isposinf(theirs))
        finite = numpy.isfinite(theirs)
        check.close(ours[finite], theirs[finite], dtype)


def test_which_convolutions_take_winograd(monkeypatch):
    """Stride-1 3x3 ungrouped undilated convolutions, from 32 x 32 channel pairs, on planes whose 2x2
    tiles waste at most 10% (the measured crossovers, bench/README.md); LeNet-5 and the MLPs never."""
    monkeypatch.setattr(conv_module, "WINOGRAD", True)

    def geometry(x_shape, w_shape, stride=1, padding=1, dilation=1, groups=1):
        window = conv_module.Window("conv2d", w_shape[2:], stride, padding, dilation)
        return conv_module._Geometry(window, groups, x_shape, w_shape)
    assert geometry((64, 32, 16, 16), (32, 32, 3, 3)).winograd and geometry((64, 64, 8, 8), (64, 64, 3, 3)).winograd
    assert geometry((64, 32, 16, 16), (32, 32, 3, 3), padding=2).winograd_input_grad
    assert geometry((64, 32, 14, 13), (32, 32, 3, 3)).winograd      # 14 x 14 tiles for 14 x 13 outputs: 7.7%
    assert not geometry((64, 32, 16, 16), (32, 32, 3, 3), padding=3).winograd_input_grad
    assert not geometry((64, 16, 32, 32), (16, 16, 3, 3)).winograd  # 256 channel pairs: im2col + GEMM wins
    assert not geometry((100, 32, 7, 7), (32, 32, 3, 3)).winograd   # 8 x 8 tiles for 7 x 7 outputs: 31% waste
    assert not geometry((100, 1, 28, 28), (6, 1, 5, 5), padding=2).winograd  # LeNet-5's 5x5
    assert not geometry((100, 6, 14, 14), (16, 6, 5, 5), padding=0).winograd
    assert not geometry((64, 32, 32, 32), (64, 32, 3, 3), stride=2).winograd
    assert not geometry((64, 32, 32, 32), (64, 32, 1, 1), padding=0).winograd
    assert not geometry((64, 32, 32, 32), (32, 32, 3, 3), dilation=2).winograd
    assert not geometry((64, 32, 32, 32), (32, 16, 3, 3), groups=2).winograd
    assert not geometry((64, 32, 32, 32), (32, 32, 3, 2)).winograd


def test_filter_transform_is_g_w_g_transposed(rng):
    w = rng.standard_normal((3, 2, 3, 3))
    g = numpy.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    u = winograd_module.filters(w)
    for o in range(3):
        for c in range(2):
            numpy.testing.assert_allclose(u[:, o, c].reshape(4, 4), g @ w[o, c] @ g.T, rtol=1e-14, atol=1e-14)
