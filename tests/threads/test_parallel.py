"""gradkit's own threads: ranges, run, the split loops against one thread, BLAS hand-over, fork, concurrency."""
import multiprocessing
import threading
import time

import numpy
import pytest
from threadpoolctl import threadpool_info

import gradkit as gk
import gradkit.functional as F
import gradkit.functional.conv as conv_module
from gradkit import threads


def _blas_threads():
    return max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")


@pytest.fixture
def two_threads(monkeypatch):
    """Two gradkit threads, every loop split however small; the thread count is restored after."""
    before = threads.get_num_threads()
    monkeypatch.setattr(threads, "MIN_LOOP_SIZE", 0)
    threads.set_num_threads(2)
    yield
    threads.set_num_threads(before)


@pytest.mark.parametrize("items", range(1, 12))
@pytest.mark.parametrize("parts", [1, 2, 3, 5])
def test_ranges_cover_the_items_once_in_near_equal_non_empty_pieces(items, parts):
    pieces = threads.ranges(items, parts)
    assert len(pieces) == min(items, parts)
    assert pieces[0][0] == 0 and pieces[-1][1] == items
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
    sizes = [last - first for first, last in pieces]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def test_run_runs_every_call_on_its_own_thread(two_threads):
    seen, barrier = [], threading.Barrier(3, timeout=10)  # passes only if all three run at once
    def call(k):
        barrier.wait()
        seen.append((k, threading.get_ident()))
    threads.run([(call, (k,)) for k in range(3)])
    assert sorted(k for k, _ in seen) == [0, 1, 2]
    assert len({ident for _, ident in seen}) == 3


@pytest.mark.parametrize("failing", [0, 1])
def test_run_reraises_an_error_only_after_every_call_has_finished(two_threads, failing):
    finished = []
    def slow():
        time.sleep(0.2)
        finished.append(True)
    def bad():
        raise KeyError("boom")
    calls = [(slow, ()), (slow, ())]
    calls[failing] = (bad, ())
    with pytest.raises(KeyError, match="boom"):
        threads.run(calls)
    assert finished == [True]
    threads.run([(slow, ()), (slow, ())])  # the workers are still usable
    assert finished == [True] * 3


def test_run_inside_run_runs_serially_instead_of_waiting_forever(two_threads):
    out = []
    def inner(k):
        out.append(k)
    def outer(k):
        threads.run([(inner, (10 * k,)), (inner, (10 * k + 1,))])
    threads.run([(outer, (1,)), (outer, (2,))])
    assert sorted(out) == [10, 11, 20, 21]


def _conv_pool_net(x, w1, b1, w2):
    """Every loop: direct conv, pools that tile and that do not, conv by columns (stride 2), avg pool."""
    h = F.relu(F.conv2d(x, w1, b1, padding=1))
    h = F.max_pool2d(h, 2)
    h = F.max_pool2d(h, 3, stride=1, padding=1)
    h = F.conv2d(h, w2, stride=2, padding=1)
    return F.avg_pool2d(h, 2, padding=1).sum()


@pytest.fixture(params=["direct", "columns"])
def path(request, monkeypatch):
    """Every stride-1 ungrouped conv on the column-free loops, or none."""
    monkeypatch.setattr(conv_module, "DIRECT_MAX_CHANNEL_PAIRS", 10**9 if request.param == "direct" else 0)
    return request.param


def _grads(arrays):
    tensors = [gk.Tensor(a, requires_grad=True) for a in arrays]
    loss = _conv_pool_net(*tensors)
    loss.backward()
    return [loss.data] + [t.grad.data for t in tensors]


@pytest.mark.parametrize("claim", [True, False], ids=["claimed", "fixed-parts"])
def test_split_loops_give_the_bits_of_one_thread(monkeypatch, path, claim):
    """Every output and gradient, weight gradients too: they are summed in blocks fixed by the batch,
    whichever thread takes a block (``threads.claiming``)."""
    monkeypatch.setattr(threads, "CLAIM", claim)
    rng = numpy.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(numpy.float32) for s in [(5, 3, 12, 12), (4, 3, 3, 3), (4,), (6, 4, 3, 3)]]
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(1)
        serial = _grads(arrays)
        monkeypatch.setattr(threads, "MIN_LOOP_SIZE", 0)
        threads.set_num_threads(3)  # 5 images in 3 uneven ranges
        split = _grads(arrays)
        assert threads._holding, "no loop was split"
    finally:
        threads.set_num_threads(before)
    for name, a, b in zip(["loss", "x", "w1", "b1", "w2"], serial, split):
        numpy.testing.assert_array_equal(b, a, err_msg=name)


def test_a_split_loop_takes_the_threads_from_blas_and_set_num_threads_gives_them_back(two_threads):
    assert not threads._holding and _blas_threads() == 2
    F.max_pool2d(gk.randn(4, 2, 8, 8), 2)
    assert threads._holding and _blas_threads() == 1
    assert threads.get_num_threads() == 2
    threads.set_num_threads(2)
    assert not threads._holding and _blas_threads() == 2


def test_a_model_without_loops_leaves_blas_its_threads(two_threads):
    x = gk.randn(64, 300, requires_grad=True)
    layer = gk.nn.Linear(300, 200)
    layer(x).sum().backward()
    assert not threads._holding and _blas_threads() == 2


def test_split_products_are_blas_products_of_their_blocks(two_threads, monkeypatch):
    """Each block of a split product is exactly one BLAS product of that block, the whole agrees with
    the unsplit product to float32 rounding (OpenBLAS may pick another kernel for a block, so not to
    the bit), and a thread count gives the same bits every time."""
    monkeypatch.setattr(threads, "MIN_PRODUCT", 0)
    rng = numpy.random.default_rng(1)
    a, b = rng.standard_normal((101, 37), dtype=numpy.float32), rng.standard_normal((37, 29), dtype=numpy.float32)
    threads._hold()
    for x, y in [(a, b), (b.T, a.T), (a.T.copy().T, b)]:  # split by rows, by columns, a strided input
        split = threads.matmul(x, y)
        if x.shape[0] >= y.shape[1]:
            blocks = numpy.concatenate([x[first:last] @ y for first, last in threads.ranges(x.shape[0])])
        else:
            blocks = numpy.concatenate([x @ y[:, first:last] for first, last in threads.ranges(y.shape[1])], 1)
        numpy.testing.assert_array_equal(split, blocks)
        numpy.testing.assert_allclose(split, x @ y, rtol=1e-5, atol=1e-5)  # x @ y runs on one BLAS thread now
        numpy.testing.assert_array_equal(threads.matmul(x, y), split)
    with pytest.raises(ValueError):
        threads.matmul(a, a)  # a shape mismatch is numpy's error, as before


def _child(queue, arrays):  # runs in the forked child
    queue.put([g.tolist() for g in _grads(arrays)])


def test_a_forked_child_splits_loops_with_workers_of_its_own(two_threads, path):
    rng = numpy.random.default_rng(2)
    arrays = [rng.standard_normal(s).astype(numpy.float32) for s in [(4, 3, 12, 12), (4, 3, 3, 3), (4,), (6, 4, 3, 3)]]
    parent = _grads(arrays)  # the parent's workers exist before the fork
    assert threads._workers
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(queue, arrays))
    child.start()
    child.join(60)
    assert child.exitcode == 0, "the child hung or died"
    for a, b in zip(parent, queue.get(timeout=10)):
        numpy.testing.assert_array_equal(numpy.asarray(b, dtype=a.dtype), a)


def test_threads_of_the_caller_may_split_loops_at_once(two_threads, path):
    rng = numpy.random.default_rng(3)
    arrays = [rng.standard_normal(s).astype(numpy.float32) for s in [(4, 3, 12, 12), (4, 3, 3, 3), (4,), (6, 4, 3, 3)]]
    reference = _grads(arrays)
    results, errors = [], []
    def work():
        try:
            for _ in range(10):
                results.append(_grads(arrays))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
    callers = [threading.Thread(target=work) for _ in range(3)]
    for t in callers:
        t.start()
    for t in callers:
        t.join(60)
    assert not errors and len(results) == 30
    for result in results:
        for name, a, b in zip(["loss", "x", "w1", "b1", "w2"], reference, result):
            numpy.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6, err_msg=name)
