"""Max and average pooling against PyTorch (ties included), gradcheck, double backward, forward mode."""
import numpy
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.functional as F

# (kernel_size, stride, padding) on a (2, 3, 7, 8) input, and on a (2, 3, 8, 6) one, which the
# windows of stride = kernel tile exactly (the max-pool gradient takes its write-once path there)
SHAPES = [(2, 3, 7, 8), (2, 3, 8, 6)]
GEOMETRIES = [(2, None, 0), (2, 2, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 0)), ((3, 2), None, (1, 1)), (2, 1, 0)]
POOLS = {"max": (F.max_pool2d, TF.max_pool2d), "avg": (F.avg_pool2d, TF.avg_pool2d)}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("pool", sorted(POOLS))
def test_against_torch(pool, geometry, dtype, shape, check, rng):
    ours, theirs = POOLS[pool]
    kernel, stride, padding = geometry
    check.against_torch(lambda x: ours(x, kernel, stride, padding), lambda x: theirs(x, kernel, stride, padding),
                        [rng.standard_normal(shape)], dtype, what=f"{pool} pool {geometry} on {shape}")


def test_which_geometries_tile():
    from gradkit.functional.pool import _PoolGeometry, Window
    tiles = {(shape, geometry): _PoolGeometry(Window("p", geometry[0], geometry[1], geometry[2]), shape).tiles
             for shape in SHAPES for geometry in GEOMETRIES}
    assert {key for key, value in tiles.items() if value} == {
        ((2, 3, 8, 6), (2, None, 0)), ((2, 3, 8, 6), (2, 2, 0))}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_max_pool_ties_send_the_gradient_to_one_element(geometry, shape, check, rng):
    kernel, stride, padding = geometry
    x = rng.integers(-1, 2, shape).astype(numpy.float64)   # many ties
    x[0, 0] = 0.0                                                    # whole windows of ties
    y = check.against_torch(lambda a: F.max_pool2d(a, kernel, stride, padding),
                            lambda a: TF.max_pool2d(a, kernel, stride, padding), [x], numpy.float32)
    a = gk.Tensor(x, requires_grad=True)
    F.max_pool2d(a, kernel, stride, padding).sum().backward()
    assert a.grad.data.sum() == y.numel()                # each output sends 1 to exactly one element
    assert set(numpy.unique(a.grad.data)) <= set(range(0, 10))


def test_max_pool_tie_goes_to_the_first_element_in_row_major_order():
    x = gk.Tensor(numpy.array([[[[1.0, 3.0], [3.0, 3.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).backward(gk.Tensor(numpy.ones((1, 1, 1, 1))))
    numpy.testing.assert_array_equal(x.grad.data[0, 0], [[0.0, 1.0], [0.0, 0.0]])


@pytest.mark.parametrize("geometry, shape", [((2, None, 0), (1, 2, 5, 6)), ((2, None, 0), (1, 2, 4, 6)),
                                             ((3, 2, 1), (1, 2, 5, 6)), (((2, 3), (1, 2), (1, 0)), (1, 2, 5, 6))])
@pytest.mark.parametrize("pool", sorted(POOLS))
def test_gradcheck_gradgradcheck_and_jvp(pool, geometry, shape, check, rng):
    ours = POOLS[pool][0]
    kernel, stride, padding = geometry
    f = lambda x: ours(x, kernel, stride, padding)  # noqa: E731
    x = rng.standard_normal(shape)
    assert gk.autograd.gradcheck(f, (x,))
    # the gradient of a pool is linear in gy, so differentiate something whose gradient depends on x
    assert gk.autograd.gradgradcheck(lambda a: f(a) ** 2, (x,))
    check.jvp_matches_vjp(f, [x])
    check.hvp_against_torch(lambda a: (f(a) ** 3).sum(),
                            lambda a: (POOLS[pool][1](a, kernel, stride, padding) ** 3).sum(), [x])


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_global_avg_pool(dtype, check, rng):
    check.against_torch(F.global_avg_pool2d, lambda x: x.mean((2, 3)), [rng.standard_normal((3, 4, 5, 2))], dtype)


def test_pool_keeps_layouts_consistent(check, rng):
    """A pool fed a transposed (non-contiguous) array and followed by reshape still matches torch."""
    x = rng.standard_normal((6, 5, 3, 2)).transpose(3, 2, 1, 0)     # (2, 3, 5, 6)
    check.against_torch(lambda a: F.max_pool2d(a, 2, 1).reshape(2, -1), lambda a: TF.max_pool2d(a, 2, 1).reshape(2, -1),
                        [x], numpy.float64)
    check.against_torch(lambda a: F.avg_pool2d(a, 3, 2, 1).reshape(-1), lambda a: TF.avg_pool2d(a, 3, 2, 1).reshape(-1),
                        [x], numpy.float64)


@pytest.mark.parametrize("call, message", [
    (lambda: F.max_pool2d(gk.randn(3, 8, 8), 2), "max_pool2d: expected input of shape (N, C, H, W), got (3, 8, 8)"),
    (lambda: F.avg_pool2d(gk.randn(1, 3, 8, 8), 3, 1, 2), "avg_pool2d: padding (2, 2) must be at most half the kernel (3, 3)"),
    (lambda: F.max_pool2d(gk.randn(1, 1, 2, 2), 3), "max_pool2d: input of spatial size (2, 2)"),
    (lambda: F.max_pool2d(gk.randn(1, 1, 4, 4), 0), "max_pool2d: kernel_size must be an int >= 1"),
    (lambda: F.global_avg_pool2d(gk.randn(2, 3)), "global_avg_pool2d: expected input of shape (N, C, H, W), got (2, 3)"),
])
def test_errors_name_the_pool_and_shapes(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


def test_torch_is_the_oracle_for_count_include_pad(rng):
    x = rng.standard_normal((1, 1, 4, 4))
    ours = F.avg_pool2d(gk.Tensor(x), 3, 1, 1).data
    numpy.testing.assert_allclose(ours, TF.avg_pool2d(torch.tensor(x), 3, 1, 1, count_include_pad=True).numpy())
    numpy.testing.assert_allclose(ours[0, 0, 0, 0], x[0, 0, :2, :2].sum() / 9)


@pytest.mark.parametrize("geometry", [(2, None, 0), (3, 2, 1), (3, 1, 1)])
def test_max_pool_propagates_nan_as_torch(geometry, rng):
    """A NaN in a window is its max, forward; backward, the window's gradient goes to a NaN (one of them)."""
    kernel, stride, padding = geometry
    x = rng.standard_normal((2, 3, 7, 8))
    x[0, 1, 2, 3] = x[1, 2, 5, 6] = x[1, 2, 5, 7] = numpy.nan
    ours = gk.Tensor(x, requires_grad=True)
    y = F.max_pool2d(ours, kernel, stride, padding)
    expected = TF.max_pool2d(torch.tensor(x), kernel, stride, padding).numpy()
    numpy.testing.assert_array_equal(numpy.isnan(y.data), numpy.isnan(expected))
    numpy.testing.assert_array_equal(y.data[~numpy.isnan(expected)], expected[~numpy.isnan(expected)])
    y.sum().backward()
    grad = ours.grad.data
    assert grad.sum() == y.data.size                          # every window still sends its 1 somewhere
    from_nan_windows = int(numpy.isnan(y.data).sum())
    assert grad[numpy.isnan(x)].sum() == from_nan_windows     # ... and NaN windows send it to a NaN


def test_max_pool_padding_never_wins_over_negative_values():
    """Padding is -inf: a window of negative numbers that overlaps the padding keeps its own max."""
    x = -1.0 - numpy.arange(16.0).reshape(1, 1, 4, 4)
    a = gk.Tensor(x, requires_grad=True)
    y = F.max_pool2d(a, 3, 2, 1)
    numpy.testing.assert_array_equal(y.data, TF.max_pool2d(torch.tensor(x), 3, 2, 1).numpy())
    y.sum().backward()
    assert a.grad.data.sum() == y.data.size


@pytest.mark.parametrize("shape", SHAPES)
def test_max_pool_gradient_keeps_nan_and_inf_at_the_argmax(shape):
    """A NaN or infinite gy reaches only its window's winning element, as in torch."""
    x = numpy.random.default_rng(0).standard_normal(shape)
    a, t = gk.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = F.max_pool2d(a, 2), TF.max_pool2d(t, 2)
    gy = numpy.ones(y.shape)
    gy[0, 0, 0, 0], gy[1, 2, 1, 1] = numpy.nan, numpy.inf
    y.backward(gk.Tensor(gy))
    ty.backward(torch.tensor(gy))
    numpy.testing.assert_array_equal(a.grad.data, t.grad.numpy())


@pytest.mark.parametrize("threads_count", [1, 2, 3])
@pytest.mark.parametrize("fill", [0.0, -numpy.inf])
@pytest.mark.parametrize("memory", ["nchw", "channels_first"])
@pytest.mark.parametrize("padding", [1, 2, (0, 2), (3, 0)])
def test_the_padded_copy_of_a_batch_is_numpys(padding, memory, fill, threads_count, monkeypatch, rng):
    """``Window.padded`` (the compiled ``pad``, planes claimed by the threads) against numpy.pad, for
    both memory orders an activation has, with a NaN and an infinity inside."""
    from gradkit import threads
    from gradkit.functional._windows import Window
    x = rng.standard_normal((5, 3, 6, 7)).astype(numpy.float32)
    x[0, 0, 0, 0], x[-1, -1, -1, -1] = numpy.nan, numpy.inf
    if memory == "channels_first":
        x = numpy.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    window = Window("test", 3, 1, padding)
    (ph, pw) = window.padding
    monkeypatch.setattr(threads, "MIN_LOOP_SIZE", 0)
    before = threads.get_num_threads()
    threads.set_num_threads(threads_count)
    try:
        got = window.padded(x, fill)
    finally:
        threads.set_num_threads(before)
    want = numpy.pad(x.transpose(1, 0, 2, 3), ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    assert got.flags.c_contiguous and got.dtype == x.dtype
    numpy.testing.assert_array_equal(got, want)
