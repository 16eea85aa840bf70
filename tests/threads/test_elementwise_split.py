"""ReLU, its gradient and the residual sum on large arrays (``autograd._elementwise``): split over
gradkit's threads only while it holds them, the bits of NumPy's own ops either way."""
import numpy
import pytest
from threadpoolctl import threadpool_info

import gradkit as gk
from gradkit import threads
from gradkit.autograd import _elementwise


def _blas_threads():
    return max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")


@pytest.fixture
def rng():
    return numpy.random.default_rng(0)


@pytest.fixture
def two_threads():
    before = threads.get_num_threads()
    threads.set_num_threads(2)
    yield
    threads.set_num_threads(before)


def _arrays(rng):
    shape = (8, 16, 24, 24)  # 73,728 values: above MIN_SIZE and MIN_LOOP_SIZE
    a = numpy.ascontiguousarray(rng.standard_normal((16, 8, 24, 24)).astype(numpy.float32))
    a = a.swapaxes(0, 1)  # channels-first memory, as conv outputs
    a[0, 0, 0, :3] = [numpy.nan, -0.0, numpy.inf]
    b = numpy.ascontiguousarray(rng.standard_normal((16, 8, 24, 24)).astype(numpy.float32)).swapaxes(0, 1)
    assert a.shape == shape and a.size >= _elementwise.MIN_SIZE
    return a, b


def _ops(a, b):
    x, y = gk.Tensor(a, requires_grad=True), gk.Tensor(b, requires_grad=True)
    r = gk.functional.relu(x)
    s = x + y
    (r * gk.Tensor(b)).sum().backward()
    return [r.data, s.data, x.grad.data]


def test_split_ops_give_numpy_bits_and_take_no_threads_from_blas(two_threads, monkeypatch, rng):
    monkeypatch.setattr(_elementwise, "SPLIT", True)
    monkeypatch.setattr(_elementwise, "SPLIT_MIN_SIZE", _elementwise.MIN_SIZE)  # small arrays, split all the same
    a, b = _arrays(rng)
    calls = []
    run = threads.run
    monkeypatch.setattr(threads, "run", lambda c: (calls.append(len(c)), run(c))[1])
    expected = [numpy.maximum(a, numpy.float32(0)), a + b, numpy.where(a <= 0, numpy.float32(0), b)]
    assert not threads._holding
    serial = _ops(a, b)
    assert not threads._holding and _blas_threads() == 2, "an element-wise op took the threads from BLAS"
    assert calls and max(calls) == 1
    threads._hold()  # as after a model's first convolution
    calls.clear()
    split = _ops(a, b)
    assert max(calls) == 2, "the element-wise ops were not split"
    for e, s, p in zip(expected, serial, split):
        numpy.testing.assert_array_equal(s, e)
        numpy.testing.assert_array_equal(p, e)
    assert split[1].swapaxes(0, 1).flags.c_contiguous  # the sum keeps the inputs' memory order


def test_loops_below_the_split_size_run_on_the_calling_thread(two_threads, monkeypatch, rng):
    """Waking the second thread costs more than half a loop below ``SPLIT_MIN_SIZE`` elements."""
    assert _elementwise.SPLIT and _elementwise.SPLIT_MIN_SIZE > _elementwise.MIN_SIZE
    a, b = _arrays(rng)
    calls = []
    run = threads.run
    monkeypatch.setattr(threads, "run", lambda c: (calls.append(len(c)), run(c))[1])
    threads._hold()
    _ops(a, b)
    assert all(n == 1 for n in calls), "a loop below SPLIT_MIN_SIZE was split"
    big = numpy.ascontiguousarray(rng.standard_normal((2, _elementwise.SPLIT_MIN_SIZE // 2)).astype(numpy.float32))
    calls.clear()
    _ops(big, big)
    assert max(calls) == 2, "a loop of SPLIT_MIN_SIZE elements was not split"


def test_small_or_broadcast_sums_stay_in_numpy(monkeypatch, rng):
    monkeypatch.setattr(_elementwise, "SPLIT", True)
    monkeypatch.setattr(_elementwise, "SPLIT_MIN_SIZE", _elementwise.MIN_SIZE)
    a = rng.standard_normal((4, 5)).astype(numpy.float32)
    assert _elementwise.add(a, a) is None
    big = rng.standard_normal((300, 300)).astype(numpy.float32)
    assert _elementwise.add(big, big[:1]) is None and _elementwise.add(big, big.T) is None
    numpy.testing.assert_array_equal(_elementwise.add(big, big), big + big)


def test_the_loops_index_unsigned_so_that_llvm_vectorises_them():
    """A loop over a signed ``range(first, last)`` checks every index for wrap-around, and with Numba
    0.68 (LLVM 22) that kept all three loops scalar: the ReLU gradient ran 33x slower than NumPy's
    ``gy * (y > 0)`` (bench/README.md, session 8). Their typed code must iterate unsigned indices."""
    from numba import njit, types

    array = types.float32[::1]
    for kernel, arrays in zip(_elementwise._compiled(), (2, 3, 3)):
        fresh = njit(kernel.py_func)  # typed afresh: a kernel loaded from Numba's cache keeps no annotation
        fresh.compile((array,) * arrays + (types.int64, types.int64[::1], types.int64, types.int64))  # block, claims
        annotation = str(next(iter(fresh.overloads.values())).type_annotation)
        assert "range_iter_uint64" in annotation and "range_iter_int64" not in annotation, kernel.py_func.__name__


@pytest.mark.parametrize("layout", ["broadcast", "other order"])
def test_relu_gradient_takes_the_activations_memory_order(layout, rng):
    """A gy that is broadcast (a mean's gradient, as global average pooling gives) or in another
    memory order runs the compiled loop in y's order: the gradient below it keeps the activations'
    order (NumPy's ``gy * mask`` gave NCHW, and the sums and ReLU gradients below fell back to NumPy)."""
    a, _ = _arrays(rng)
    if layout == "broadcast":
        gy = numpy.broadcast_to(rng.standard_normal((8, 16, 1, 1)).astype(numpy.float32), a.shape)
    else:
        gy = numpy.ascontiguousarray(rng.standard_normal(a.shape).astype(numpy.float32))
    if gy.flags.writeable:  # a NaN and an infinity in gy, which the mask must keep out of the zeros
        gy[0, 0, 0, 3:5] = [numpy.nan, numpy.inf]
    y = numpy.maximum(a, numpy.float32(0))
    gx = _elementwise.relu_gradient(y, gy)
    assert gx is not None, "relu_gradient left a broadcast or reordered gy to NumPy"
    assert gx.swapaxes(0, 1).flags.c_contiguous, "the gradient lost the activations' memory order"
    numpy.testing.assert_array_equal(gx, numpy.where(y <= 0, numpy.float32(0), gy))
    x = gk.Tensor(a, requires_grad=True)
    gk.functional.relu(x).backward(gk.Tensor(gy))
    numpy.testing.assert_array_equal(x.grad.data, gx)


@pytest.mark.parametrize("order", [(0,), (1, 0), (1, 0, 2, 3), (2, 3, 1, 0), (3, 1, 4, 0, 2)])
def test_arrays_made_in_a_memory_order_have_its_strides_and_the_shape_asked_for(order):
    """``_inverse`` undoes the permutation (as numpy.argsort would), so ``_empty_in_order`` gives the
    shape asked for, dense in ``order``."""
    assert _elementwise._inverse(order) == tuple(numpy.argsort(order))
    shape = tuple(range(2, 2 + len(order)))
    a = _elementwise._empty_in_order(shape, numpy.float32, order)
    assert a.shape == shape
    assert _elementwise._memory_order(a) == order


def test_a_second_process_loads_the_loops_from_numbas_cache(tmp_path):
    """The loops compile once per machine: a second process loads them from the cache. As closures
    holding ``claim`` in a cell they never matched their cache entry, so every process compiled them
    again (15 MB more memory in the bench's LeNet-5 process, and 36 stale entries on disk)."""
    import os
    import subprocess
    import sys
    program = ("import numpy; from gradkit.autograd import _elementwise as E\n"
               "x = numpy.ones((4, 1 << 15), numpy.float32)\n"
               "E.relu(x); E.relu_gradient(x, x); E.SPLIT_MIN_SIZE = 0; E.add(x, x)\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_DEBUG_CACHE="1")
    runs = [subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    second = runs[1].stdout + runs[1].stderr
    for name in ("relu", "relu_gradient", "add"):
        assert f"_elementwise_loops.{name}-" in second
    assert "data saved" not in second, second


@pytest.mark.parametrize("block", [1 << 10, 1 << 17])
def test_the_block_size_set_at_run_time_is_the_one_the_loops_use(block, monkeypatch, rng):
    """``BLOCK`` is read when a loop is called, not frozen into the compiled code: with blocks larger
    than the loops assumed, the elements past the first block were never written."""
    monkeypatch.setattr(_elementwise, "BLOCK", block)
    x = rng.standard_normal(3 * (1 << 17) + 5).astype(numpy.float32)
    numpy.testing.assert_array_equal(_elementwise.relu(x), numpy.maximum(x, 0))
    numpy.testing.assert_array_equal(_elementwise.relu_gradient(x, x), numpy.where(x > 0, x, 0))
    monkeypatch.setattr(_elementwise, "SPLIT_MIN_SIZE", 0)
    numpy.testing.assert_array_equal(_elementwise.add(x, x), x + x)
