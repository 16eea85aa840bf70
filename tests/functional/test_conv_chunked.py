"""conv2d by chunks of images (``_chunked``): chunks of 1, 2 and 3 images (uneven at the batch's end)
against PyTorch, float64 gradcheck, against the whole batch's columns, one thread against two and
three (the same bits), and the same bits on a second run."""
import numpy
import pytest
import torch.nn.functional as TF

import gradkit as gk
import gradkit.functional as F
import gradkit.functional._chunked as chunked_module
import gradkit.functional.conv as conv_module
from gradkit import threads

# (N, C, H, W, O, kernel, stride, padding, dilation): 3x3 as ResNet's, stride 2, 1x1 of stride 2, dilation
CASES = [(5, 4, 6, 7, 6, 3, 1, 1, 1), (5, 3, 9, 8, 4, 3, 2, 1, 1), (5, 4, 8, 8, 6, 1, 2, 0, 1),
         (4, 2, 9, 9, 3, (3, 2), 1, 2, 2),
         # padding wider than k - 1 (whole rows and columns of a window in the padding), on an image
         # narrower than the kernel's reach, with stride 3: the padded stage's edges
         (3, 2, 5, 6, 3, 3, 3, 3, 1), (2, 2, 2, 3, 2, (3, 4), 1, (2, 3), 1),
         # stride 1 with the output plane the input's (``_shifted``): a dilated 3x5 window whose padding
         # is as wide as the image (whole columns of taps in it), and a 1x1
         (3, 3, 5, 4, 2, (3, 5), 1, (2, 4), 2), (3, 4, 5, 6, 3, 1, 1, 0, 1)]


def _rows_times_pixels(case):
    n, c, h, w, o, kernel, stride, padding, dilation = case
    window = conv_module.Window("conv2d", kernel, stride, padding, dilation)
    oh, ow = window.output_size(h, w)
    return c * window.kernel[0] * window.kernel[1] * oh * ow


@pytest.fixture(params=[1, 2, 3])
def images_per_chunk(request, monkeypatch):
    """Chunks of this many images (the conv's columns of one image times it)."""
    monkeypatch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PAIRS", 0)  # every case by columns
    monkeypatch.setattr(conv_module, "WINOGRAD", False)  # (``test_conv_winograd`` has its own)
    return request.param


def _chunk(monkeypatch, case, images):
    monkeypatch.setattr(chunked_module, "CHUNK_ELEMENTS", images * _rows_times_pixels(case))


def _arrays(rng, case, dtype=numpy.float64):
    n, c, h, w, o, kernel = case[:6]
    kernel = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    return [rng.standard_normal(s).astype(dtype) for s in [(n, c, h, w), (o, c) + kernel, (o,)]]


def _conv(case):
    stride, padding, dilation = case[6:]
    return (lambda x, w, b=None: F.conv2d(x, w, b, stride, padding, dilation),
            lambda x, w, b=None: TF.conv2d(x, w, b, stride, padding, dilation))


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("case", CASES)
def test_chunks_against_torch(case, dtype, images_per_chunk, monkeypatch, check, rng):
    _chunk(monkeypatch, case, images_per_chunk)
    monkeypatch.setattr(chunked_module, "COMPILED", False)  # the Python loop over chunks, whose gathers we count
    gathered = []
    kernel = chunked_module.gather
    monkeypatch.setattr(chunked_module, "gather", lambda *a: (gathered.append(a[11].shape[3]), kernel(*a))[1])
    ours, theirs = _conv(case)
    check.against_torch(ours, theirs, _arrays(rng, case), dtype, what=f"chunked conv2d {case}")
    n, whole = case[0], case[0] // images_per_chunk  # forward and weight gradient each gather every chunk once
    assert gathered == 2 * ([images_per_chunk] * whole + ([n % images_per_chunk] if n % images_per_chunk else []))


@pytest.mark.parametrize("case", CASES[:2])
def test_gradcheck_with_chunks_of_two(case, monkeypatch, rng):
    monkeypatch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PAIRS", 0)
    monkeypatch.setattr(conv_module, "WINOGRAD", False)
    _chunk(monkeypatch, case, 2)
    small = (3,) + case[1:]
    assert gk.autograd.gradcheck(_conv(small)[0], tuple(_arrays(rng, small)))


def _step(case, arrays):
    tensors = [gk.Tensor(a, requires_grad=True) for a in arrays]
    y = _conv(case)[0](*tensors)
    (y * y).sum().backward()
    return [y.data] + [t.grad.data for t in tensors]


@pytest.mark.parametrize("case", CASES)
def test_chunks_agree_with_the_whole_batch_columns(case, images_per_chunk, monkeypatch, rng):
    arrays = _arrays(rng, case, numpy.float32)
    _chunk(monkeypatch, case, images_per_chunk)
    monkeypatch.setattr(conv_module, "WINOGRAD", False)
    chunked = _step(case, arrays)
    monkeypatch.setattr(conv_module, "CHUNKED", False)
    whole = _step(case, arrays)
    for a, b in zip(chunked, whole):
        numpy.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5 * numpy.abs(b).max())


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])  # float64: the weight gradient's sums show
@pytest.mark.parametrize("case", CASES)
def test_any_thread_count_gives_the_same_bits_and_so_does_a_second_run(case, dtype, check, monkeypatch, rng):
    monkeypatch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PAIRS", 0)
    monkeypatch.setattr(threads, "MIN_LOOP_SIZE", 0)
    monkeypatch.setattr(conv_module, "WINOGRAD", False)
    _chunk(monkeypatch, case, 1)
    arrays = _arrays(rng, case, dtype)
    check.same_bits_on_thread_counts(lambda: _step(case, arrays))


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("case", CASES)
def test_the_compiled_chunk_loops_give_the_python_loops_bits(case, dtype, images_per_chunk, monkeypatch, rng):
    """Each thread's chunks in one compiled call, BLAS's product called from it (``_blas``), against
    the loop over chunks in Python with NumPy's matmul: the same products, so the same bits."""
    if not chunked_module._blas.AVAILABLE:
        pytest.skip("NumPy's BLAS has no 64-bit-integer cblas gemm here: only the Python loop runs")
    arrays = _arrays(rng, case, dtype)
    _chunk(monkeypatch, case, images_per_chunk)
    monkeypatch.setattr(chunked_module.Plan, "BLOCKS", 2)  # blocks of several chunks (summed by BLAS, then in float64)
    calls = []
    for name in ("_forward_chunks", "_weight_chunks", "_input_chunks"):
        kernel = getattr(chunked_module, name)
        monkeypatch.setattr(chunked_module, name, lambda *a, _k=kernel, _n=name: (calls.append(_n), _k(*a))[1])
    compiled = _step(case, arrays)
    assert sorted(set(calls)) == ["_forward_chunks", "_input_chunks", "_weight_chunks"]
    monkeypatch.setattr(chunked_module, "COMPILED", False)
    python = _step(case, arrays)
    for name, a, b in zip(("y", "gx", "gw", "gb"), compiled, python):
        assert numpy.array_equal(a, b), name


def test_the_weight_gradient_groups_shrink_with_the_weight_and_keep_the_bits(check, monkeypatch, rng):
    """The float64 groups of the weight gradient are fewer for a large weight (their sums are held at
    once), by its shape alone: the bits stay the same on any thread count."""
    def groups(c, o, size):
        geometry = conv_module._Geometry(conv_module.Window("conv2d", 3, 1, 1), 1, (64, c, size, size), (o, c, 3, 3))
        return len(geometry.plan(numpy.float32).blocks(o))
    assert groups(16, 16, 32) == 16 and groups(32, 32, 16) == 4 and groups(64, 64, 8) == 4
    monkeypatch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PAIRS", 0)
    monkeypatch.setattr(threads, "MIN_LOOP_SIZE", 0)
    monkeypatch.setattr(conv_module, "WINOGRAD", False)
    monkeypatch.setattr(chunked_module.Plan, "SUMS_BYTES", 1)  # MIN_BLOCKS groups of several chunks
    case = CASES[0]
    _chunk(monkeypatch, case, 1)
    arrays = _arrays(rng, (9,) + case[1:], numpy.float32)
    check.same_bits_on_thread_counts(lambda: _step(case, arrays))


def _same_plane(case):
    n, c, h, w, o, kernel, stride, padding, dilation = case
    return stride == 1 and conv_module.Window("conv2d", kernel, stride, padding, dilation).output_size(h, w) == (h, w)


SAME_PLANE = [case for case in CASES if _same_plane(case)]


def test_three_cases_have_the_same_plane():
    assert len(SAME_PLANE) == 3


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("case", SAME_PLANE)
def test_shifted_planes_give_the_window_rows_columns(case, dtype, monkeypatch, rng):
    """``_shifted`` (whole planes shifted, the padding set by ``keep``) against ``_taps`` (window rows from
    the padded stage), entry for entry, for a chunk at the batch's start, middle and end (where a shifted
    plane starts before x or ends after it), with NaN, infinities and -0.0 beside the padding: none of
    them may leak into a padding entry, and each must be copied as it is."""
    n, c, h, w, o, kernel, stride, padding, dilation = case
    x = rng.standard_normal((c, n, h, w)).astype(dtype)
    x[0, 0, 0, 0], x[-1, -1, -1, -1], x[0, -1, :, 0], x[-1, 0, 0, :] = numpy.nan, -numpy.inf, -0.0, numpy.inf
    window = conv_module.Window("conv2d", kernel, stride, padding, dilation)
    plans = {}
    for shifted in (True, False):
        monkeypatch.setattr(chunked_module, "SHIFTED", shifted)
        plans[shifted] = chunked_module.Plan(window, (n, c, h, w), window.output_size(h, w), dtype)
    assert plans[True].shifted and not plans[False].shifted
    for start, stop in [(0, 2), (1, 2), (n - 2, n)]:
        got = [plans[s].columns(plans[s].buffer(), plans[s].stage(), x, start, stop) for s in (True, False)]
        numpy.testing.assert_array_equal(got[0], got[1])
        assert numpy.array_equal(numpy.signbit(got[0]), numpy.signbit(got[1]))  # -0.0 kept, padding +0.0
