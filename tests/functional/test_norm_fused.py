"""batch_norm's compiled loops (``_norm_loops``): against torch in both memory orders, gradcheck,
second derivatives and forward mode through the fused forward pass, one thread against two, and
the same bits on a second run."""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.functional as F
import gradkit.functional._norm_loops as loops_module
import gradkit.functional.norm as norm_module
from gradkit import threads


@pytest.fixture
def fused(monkeypatch):
    """Every image batch through the compiled loops, however small."""
    monkeypatch.setattr(norm_module, "FUSED_MIN_SIZE", 0)


@pytest.fixture(params=[True, False], ids=["one-region", "two-regions"])
def regions(request, monkeypatch):
    """Each channel's passes in one split region (``forward_channels``, ``backward_channels``), or the
    statistics and the normalisation as two regions over all the channels."""
    monkeypatch.setattr(loops_module, "FUSED_CHANNELS", request.param)


def _channels_first(a):
    """a (N, C, ...) with the (C, N, ...) memory conv and pool outputs have."""
    return numpy.ascontiguousarray(a.swapaxes(0, 1)).swapaxes(0, 1)


def _function_of(y):
    return y.creator


@pytest.mark.parametrize("memory", ["nchw", "channels_first"])
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("shape", [(16, 8, 12, 12), (32, 4, 130)])  # >= FUSED_MIN_SIZE values: the default path
def test_large_batches_take_the_loops_and_match_torch(shape, dtype, memory, regions, check, rng):
    weight, bias = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    running, torch_running = [numpy.zeros(shape[1], dtype), numpy.ones(shape[1], dtype)], None
    torch_running = [torch.zeros(shape[1], dtype=torch.float64 if dtype == numpy.float64 else torch.float32),
                     torch.ones(shape[1], dtype=torch.float64 if dtype == numpy.float64 else torch.float32)]
    x = rng.standard_normal(shape) * 3 + 5  # a mean far from 0: the float64 sums keep the variance exact
    if memory == "channels_first":
        x = _channels_first(x.astype(dtype))
    seen = []

    def ours(a, w, b):
        if memory == "channels_first":
            a = a * 1.0  # keeps a's memory order, so batch_norm sees channels-first memory
        y = F.batch_norm(a, *running, w, b, True, 0.1, 1e-5)
        seen.append(_function_of(y).fused is not None)
        return y

    check.against_torch(ours, lambda a, w, b: TF.batch_norm(a, *torch_running, w, b, True, 0.1, 1e-5),
                        [x, weight, bias], dtype, what=f"fused batch_norm {shape} {memory}")
    assert seen == [True], "the compiled loops were not used"
    for a, t in zip(running, torch_running):
        check.close(a, t, dtype, "running statistics")


def test_the_output_keeps_the_input_memory_order(fused, rng):
    x = gk.Tensor(_channels_first(rng.standard_normal((4, 3, 5, 6)).astype(numpy.float32)), requires_grad=True)
    y = F.batch_norm(x, None, None)
    assert y.data.swapaxes(0, 1).flags.c_contiguous
    with gk.no_grad():  # as in backward
        gx, _, _ = _function_of(y).backward(gk.Tensor(rng.standard_normal(y.shape).astype(numpy.float32)))
    assert gx.data.swapaxes(0, 1).flags.c_contiguous


@pytest.mark.parametrize("shape", [(3, 2, 2, 3), (4, 3, 5)])
def test_gradcheck_gradgradcheck_jvp_through_the_loops(fused, shape, check, rng):
    x, w, b = rng.standard_normal(shape), rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    f = lambda a, c, d: F.batch_norm(a, None, None, c, d)  # noqa: E731
    assert _function_of(f(gk.Tensor(x, requires_grad=True), gk.Tensor(w), gk.Tensor(b))).fused is not None
    assert gk.autograd.gradcheck(f, (x, w, b))
    assert gk.autograd.gradgradcheck(f, (x, w, b))
    check.jvp_matches_vjp(f, [x, w, b])


@pytest.mark.parametrize("memory", ["nchw", "channels_first"])
def test_two_threads_give_the_bits_of_one_and_a_second_run_the_same(monkeypatch, memory, regions, rng):
    x = rng.standard_normal((6, 5, 7, 9)).astype(numpy.float32) * 2 + 1
    x = _channels_first(x) if memory == "channels_first" else x
    w, b = rng.standard_normal(5).astype(numpy.float32), rng.standard_normal(5).astype(numpy.float32)
    gy = rng.standard_normal(x.shape).astype(numpy.float32)
    monkeypatch.setattr(norm_module, "FUSED_MIN_SIZE", 0)
    monkeypatch.setattr(threads, "MIN_LOOP_SIZE", 0)

    def run(count):
        threads.set_num_threads(count)
        xs = [gk.Tensor(a, requires_grad=True) for a in (x, w, b)]
        y = F.batch_norm(*xs[:1], None, None, *xs[1:])
        y.backward(gk.Tensor(gy))
        return [y.data] + [t.grad.data for t in xs]

    before = threads.get_num_threads()
    try:
        one, two, again = run(1), run(2), run(2)
    finally:
        threads.set_num_threads(before)
    for a, c, d in zip(one, two, again):
        numpy.testing.assert_array_equal(a, c)
        numpy.testing.assert_array_equal(c, d)


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("shape", [(1, 8, 4900), (5, 3, 41)])  # channels-first and NCHW (A, C, B) views
def test_one_region_a_pass_gives_the_two_regions_values(shape, dtype, monkeypatch, rng):
    """The statistics, the output, and the gradients with and without gx agree to the last bits: the
    sums are reassociated into SIMD lanes (``_jit``'s fast-math), and LLVM vectorises the two loop
    nests apart, so a float64 sum may differ in its last bit (1e-15 relative seen)."""
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    gy, w, b = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    got = {}
    for fused in (True, False):
        monkeypatch.setattr(loops_module, "FUSED_CHANNELS", fused)
        y, gx = numpy.empty_like(x), numpy.empty_like(x)
        mean, var, inv_std = loops_module.forward(x, w.astype(dtype), b.astype(dtype), 1e-5, y)
        sums = loops_module.backward(x, gy, w, mean, inv_std, gx)
        got[fused] = [y, mean, var, inv_std, *sums, *loops_module.backward(x, gy, w, mean, inv_std, None), gx]
    for a, c in zip(got[True], got[False]):
        tolerance = 1e-12 if a.dtype == numpy.float64 else 1e-6
        numpy.testing.assert_allclose(a, c, rtol=tolerance, atol=tolerance * numpy.abs(c).max())
