"""conv2d against PyTorch, float64 gradcheck and gradgradcheck, forward mode, layouts, errors."""
import numpy
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

import gradkit as gk
import gradkit.functional as F
import gradkit.functional.conv as conv_module

# (N, C, H, W, O, (KH, KW), stride, padding, dilation, groups)
CASES = [
    (2, 3, 7, 9, 4, (3, 2), 1, 0, 1, 1),
    (2, 3, 7, 9, 4, (3, 3), 1, 1, 1, 1),
    (2, 1, 8, 8, 6, (5, 5), 1, 2, 1, 1),          # LeNet-5's first layer, small
    (1, 4, 9, 6, 2, (2, 3), 2, 0, 1, 1),
    (2, 2, 9, 10, 3, (3, 3), 2, 1, 1, 1),
    (2, 5, 8, 7, 4, (2, 2), (2, 1), (1, 2), 1, 1),
    (1, 3, 9, 9, 2, (3, 2), 1, 2, 2, 1),          # dilation 2
    (2, 4, 6, 7, 6, (3, 3), 1, 1, 1, 2),          # groups 2
    (1, 6, 7, 8, 6, (2, 3), 2, 1, (2, 1), 3),     # groups 3, stride 2, dilation (2, 1)
    (3, 6, 10, 10, 16, (5, 5), 1, 0, 1, 1),       # LeNet-5's second layer, small
    (2, 2, 6, 7, 5, (3, 3), 1, 1, 1, 1),          # an odd number of outputs (the direct loops pair them)
]


def _arrays(rng, case):
    n, c, h, w, o, kernel, _, _, _, groups = case
    return [rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c // groups) + kernel), rng.standard_normal(o)]


def _conv(case):
    stride, padding, dilation, groups = case[6:]
    return (lambda x, w, b=None: F.conv2d(x, w, b, stride, padding, dilation, groups),
            lambda x, w, b=None: TF.conv2d(x, w, b, stride, padding, dilation, groups))


@pytest.fixture(params=["columns", "direct", "winograd"])
def path(request, monkeypatch):
    """Run a test with every stride-1 ungrouped conv on the column-free loops ("direct"), every
    stride-1 3x3 one on Winograd F(2x2, 3x3) ("winograd", ``_winograd``), or neither ("columns"),
    and count the calls of the direct loops and of Winograd, so a test can see which path it took."""
    monkeypatch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PAIRS", 10**9 if request.param == "direct" else 0)
    monkeypatch.setattr(conv_module, "WINOGRAD", request.param == "winograd")
    monkeypatch.setattr(conv_module, "WINOGRAD_MIN_CHANNEL_PAIRS", 0)  # the small cases too
    monkeypatch.setattr(conv_module, "WINOGRAD_MAX_TILE_WASTE", 4.0)  # a 1x1 output in a 2x2 tile too
    calls = []
    loops = conv_module.loops()
    for name in ("conv_direct", "conv_direct_weight"):
        kernel = getattr(loops, name)
        monkeypatch.setattr(loops, name, lambda *a, _k=kernel, _n=name: (calls.append(_n), _k(*a))[1])
    winograd = conv_module.winograd()
    monkeypatch.setattr(winograd, "convolve", lambda *a, _k=winograd.convolve: (calls.append("winograd"), _k(*a))[1])
    return request.param, calls


def _direct_applies(case):
    return case[6] == 1 and case[9] == 1  # stride 1, one group


def _winograd_applies(case):
    return case[5] == (3, 3) and _direct_applies(case) and case[8] == 1  # 3x3, stride 1, one group, dilation 1


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("case", CASES)
def test_against_torch(case, dtype, check, rng, path):
    ours, theirs = _conv(case)
    check.against_torch(ours, theirs, _arrays(rng, case), dtype, what=f"conv2d {case}")
    mode, calls = path
    expected = ["conv_direct", "conv_direct_weight"] if mode == "direct" and _direct_applies(case) else []
    if mode == "winograd" and _winograd_applies(case):
        expected = ["winograd"] * (2 if case[7] <= 2 else 1)  # forward, input gradient (padding <= 2)
    assert calls == expected, f"{mode} path of {case} called {calls}"


@pytest.mark.parametrize("case", [c for c in CASES if _direct_applies(c) and c[7] != 0])
def test_the_direct_loops_pad_an_image_at_a_time_not_the_batch(case, check, rng, monkeypatch):
    """The direct loops stage each image, padded, in the core's cache (``_loops._stage``): no padded
    copy of the batch is made (``Window.padded`` never runs), and the values are torch's."""
    monkeypatch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PAIRS", 10**9)
    monkeypatch.setattr(conv_module, "WINOGRAD", False)

    def refuse(*args):
        raise AssertionError("a padded copy of the batch was made")
    monkeypatch.setattr(conv_module.Window, "padded", refuse)
    ours, theirs = _conv(case)
    check.against_torch(ours, theirs, _arrays(rng, case), numpy.float64, what=f"staged direct conv2d {case}")


def test_which_convolutions_take_the_direct_path_by_default():
    def direct(x_shape, w_shape, stride=1, groups=1):
        window = conv_module.Window("conv2d", w_shape[2:], stride, 0)
        return conv_module._Geometry(window, groups, x_shape, w_shape).direct
    assert direct((100, 1, 28, 28), (6, 1, 5, 5)) and direct((100, 6, 14, 14), (16, 6, 5, 5))  # LeNet-5
    assert direct((64, 16, 32, 32), (16, 16, 3, 3))                # ResNet's 16 -> 16 (bench/README.md, session 9)
    assert not direct((64, 32, 16, 16), (32, 32, 3, 3))            # wide enough for the GEMM
    assert not direct((100, 1, 28, 28), (6, 1, 5, 5), stride=2)    # strided
    assert not direct((100, 4, 28, 28), (8, 2, 3, 3), groups=2)    # grouped


def test_direct_path_propagates_nan_and_inf_as_torch(check, path):
    """The direct loops reassociate their sums: NaN and infinity must still reach the outputs they touch."""
    x = numpy.zeros((2, 1, 6, 7))
    x[0, 0, 2, 3], x[1, 0, 4, 1] = numpy.nan, numpy.inf
    w = numpy.random.default_rng(0).standard_normal((3, 1, 3, 3))
    for dtype in (numpy.float32, numpy.float64):
        ours = F.conv2d(gk.Tensor(x.astype(dtype)), gk.Tensor(w.astype(dtype)), padding=1).data
        theirs = TF.conv2d(torch.tensor(x.astype(dtype)), torch.tensor(w.astype(dtype)), padding=1).numpy()
        numpy.testing.assert_array_equal(numpy.isnan(ours), numpy.isnan(theirs))
        finite = numpy.isfinite(theirs)
        numpy.testing.assert_array_equal(ours[~finite & ~numpy.isnan(theirs)], theirs[~finite & ~numpy.isnan(theirs)])
        check.close(ours[finite], theirs[finite], dtype)


@pytest.mark.parametrize("case", CASES[:3] + CASES[5:8])
def test_without_bias_and_without_input_gradient(case, check, rng, path):
    ours, theirs = _conv(case)
    x, w, _ = _arrays(rng, case)
    check.against_torch(ours, theirs, [x, w], numpy.float32, requires_grad=[False, True])
    y = ours(gk.Tensor(x.astype(numpy.float32)), gk.Tensor(w.astype(numpy.float32), requires_grad=True))
    gx, gw = y.creator.backward(gk.Tensor(numpy.ones(y.shape, dtype=numpy.float32)))
    assert gx is None and gw.shape == w.shape     # a first layer never computes d/dx of its data


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 2), st.integers(1, 4), st.integers(3, 9), st.integers(3, 9), st.integers(1, 4),
       st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2),
       st.integers(0, 2**32 - 1))
def test_random_geometries(check, n, c, h, w, o, kh, kw, stride, padding, dilation, seed):
    if min(h + 2 * padding - dilation * (kh - 1), w + 2 * padding - dilation * (kw - 1)) < 1:
        return
    case = (n, c, h, w, o, (kh, kw), stride, padding, dilation, 1)
    ours, theirs = _conv(case)
    check.against_torch(ours, theirs, _arrays(numpy.random.default_rng(seed), case), numpy.float64,
                        what=f"conv2d {case}")


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[4], CASES[6], CASES[7], CASES[8]])
def test_gradcheck_and_gradgradcheck(case, rng, path):
    n, c, h, w, o, kernel, stride, padding, dilation, groups = case
    small = (1, c, min(h, 7), min(w, 6), o, kernel, stride, padding, dilation, groups)
    ours = _conv(small)[0]
    arrays = _arrays(rng, small)
    assert gk.autograd.gradcheck(ours, arrays)
    assert gk.autograd.gradgradcheck(ours, arrays)


@pytest.mark.parametrize("case", [CASES[1], CASES[2], CASES[5], CASES[6], CASES[7]])
def test_jvp_matches_vjp(case, check, rng, path):
    check.jvp_matches_vjp(_conv(case)[0], _arrays(rng, case))


@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("case", [(1, 4, 6, 5, 6, (3, 2), 2, 1, 1, 2), (2, 2, 6, 5, 3, (3, 2), 1, 1, (1, 2), 1)])
def test_gradient_ops_jvp_matches_their_vjp(index, case, check, rng, path):
    """Forward mode through conv_grad_input / conv_grad_weight, against their own backward."""
    ours = _conv(case)[0]
    x, w, _ = _arrays(rng, case)
    gy = gk.Tensor(rng.standard_normal(ours(gk.Tensor(x), gk.Tensor(w)).shape))

    def first_derivative(a, b):
        a.requires_grad, b.requires_grad = True, True
        return gk.grad(ours(a, b), [a, b], [gy], create_graph=True)[index]

    check.jvp_matches_vjp(first_derivative, [x, w])


def test_layout_chain_matches_torch(check, rng, path):
    """conv -> relu -> max pool -> conv -> avg pool -> flatten: the internal layouts must not leak."""
    arrays = [rng.standard_normal((3, 2, 12, 11)), rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4),
              rng.standard_normal((5, 4, 2, 2)), rng.standard_normal(5)]

    def ours(x, w1, b1, w2, b2):
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
        return F.avg_pool2d(F.conv2d(h, w2, b2), 2, 1).flatten(1) * 1.5

    def theirs(x, w1, b1, w2, b2):
        h = TF.max_pool2d(TF.relu(TF.conv2d(x, w1, b1, padding=1)), 2)
        return TF.avg_pool2d(TF.conv2d(h, w2, b2), 2, 1).flatten(1) * 1.5

    for dtype in (numpy.float32, numpy.float64):
        check.against_torch(ours, theirs, arrays, dtype, what="conv chain")


def test_input_in_any_memory_layout(check, rng, path):
    x = rng.standard_normal((2, 5, 3, 6)).transpose(0, 3, 2, 1)      # (2, 6, 3, 5), not C-contiguous
    w = rng.standard_normal((4, 6, 2, 2))
    check.against_torch(lambda a, b: F.conv2d(a, b, padding=1), lambda a, b: TF.conv2d(a, b, padding=1),
                        [x, w], numpy.float64)


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(gk.randn(2, 5, 5), gk.randn(3, 1, 2, 2)),
     "conv2d: expected input of shape (N, 1, H, W), got (2, 5, 5)"),
    (lambda: F.conv2d(gk.randn(2, 2, 5, 5), gk.randn(3, 3, 2, 2)),
     "conv2d: expected input of shape (N, 3, H, W), got (2, 2, 5, 5)"),
    (lambda: F.conv2d(gk.randn(2, 4, 5, 5), gk.randn(4, 3, 2, 2), groups=2),
     "conv2d: expected input of shape (N, 6, H, W), got (2, 4, 5, 5)"),
    (lambda: F.conv2d(gk.randn(2, 1, 5, 5), gk.randn(3, 1, 2)), "conv2d: expected weight of shape (O, C/groups, KH, KW), got (3, 1, 2)"),
    (lambda: F.conv2d(gk.randn(2, 1, 5, 5), gk.randn(3, 1, 2, 2), gk.randn(2)), "conv2d: expected bias of shape (3,), got (2,)"),
    (lambda: F.conv2d(gk.randn(2, 1, 3, 3), gk.randn(3, 1, 5, 5)), "conv2d: input of spatial size (3, 3)"),
    (lambda: F.conv2d(gk.randn(2, 1, 5, 5), gk.randn(3, 1, 2, 2), stride=0), "conv2d: stride must be an int >= 1"),
    (lambda: F.conv2d(gk.randn(2, 1, 5, 5), gk.randn(3, 1, 2, 2), padding=(1, 2, 3)), "conv2d: padding must be"),
    (lambda: F.conv2d(gk.randn(2, 2, 5, 5), gk.randn(3, 1, 2, 2), groups=2), "conv2d: groups must be a positive int dividing"),
])
def test_errors_name_conv2d_and_shapes(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


def test_import_gradkit_leaves_numba_for_the_first_window_op():
    """The compiled loops load Numba lazily: ``import gradkit`` must not pay for it (bench: <= 0.3 s)."""
    import subprocess
    import sys
    code = ("import sys, gradkit as gk; assert 'numba' not in sys.modules; "
            "gk.functional.max_pool2d(gk.randn(1, 1, 4, 4), 2); assert 'numba' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
