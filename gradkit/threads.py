"""The threads gradkit computes on, and how it shares the cores with the BLAS library.

PyTorch-shaped: ``gk.threads.set_num_threads(2)`` / ``gk.threads.get_num_threads()`` /
``with gk.threads.num_threads(1): ...``. The count starts as the BLAS library's (NumPy's OpenBLAS or
MKL: ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS``, else one per core).

Two kinds of work use the threads:

* **Matrix products** go to BLAS, which threads them itself. Its workers spin while they wait for the
  next product, so the hand-over costs microseconds: the best choice for the many small products of
  an MLP (a 100x784 @ 784x100 product: 120 us on BLAS's 2 threads, 159 us split in two by gradkit).
* **Compiled loops** (convolution and pooling, ``functional._loops``; batch norm; large element-wise
  ops) are split by gradkit's own worker threads: in fixed parts (``parallel_for``: the pools and
  im2col), or with the items claimed one at a time from a shared counter (``parallel_claim``,
  ``_claim``: the convolutions, the padded copy, batch norm, the element-wise loops). The second
  thread wakes 20-35 us after the first here; claiming, the first takes more items meanwhile
  instead of waiting for it at the end.

The two cannot share the cores. BLAS's workers spin for about 0.1 s after each product, and a loop
thread woken onto a core where one spins waited 2-9 ms in 10-15% of the calls of a LeNet-5 step
(measured), which ate the whole gain. So the first time a loop is split, gradkit takes the threads
from BLAS for the rest of the process: BLAS runs on one thread and gradkit splits large products
(``matmul``) itself, into blocks of rows or columns. A model with no convolution or pooling never splits a loop and keeps
BLAS's own threading. ``set_num_threads`` (and leaving a ``num_threads`` block) hands the threads
back to BLAS until the next split loop. Which of the two modes a product runs in is decided by the
order of the ops, not by timing, so the same program gives the same numbers; the weight gradient of
a split convolution sums the images' parts in float64, so the thread count changes it in the last
bit at most.

Why it matters on a busy machine: spinning BLAS threads run several times slower when another process
holds a core (a 1000-step MNIST MLP comparison took 12.4 s with 2 threads on a shared 2-core machine
and 2.4 s with 1), so the lab runs on one thread unless asked.
"""
from __future__ import annotations

import contextlib
import os
import threading

import numpy

MIN_LOOP_SIZE = 1 << 15  # elements a loop touches below which it runs on the calling thread
MIN_PRODUCT = 1 << 21  # multiply-adds below which a product is not split (when gradkit holds the threads)
# split loops that take a counter claim their items one at a time (``claiming``); False: fixed parts
CLAIM = True

_threads: int | None = None  # gradkit's thread count (None: BLAS's, read on first use)
_holding = False  # True while BLAS is kept on one thread so that gradkit's threads have the cores
_workers: list = []
_dispatch = threading.Lock()  # one split at a time; a caller that finds it taken runs its calls itself


def _blas_pools():
    """threadpoolctl's controllers of the BLAS libraries loaded now (found afresh each time, 1-3 ms:
    Numba's import loads SciPy's own OpenBLAS after NumPy's, and both must be told)."""
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController().select(user_api="blas").lib_controllers


def _set_blas(threads: int) -> None:
    for pool in _blas_pools():
        pool.set_num_threads(threads)


def _check(threads, name: str) -> None:
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"{name}: need an int >= 1, got {threads!r}")


def get_num_threads() -> int:
    """The threads gradkit computes on (products and compiled loops)."""
    global _threads
    if _threads is None:
        _threads = max((p.num_threads for p in _blas_pools()), default=1)
    return _threads


def set_num_threads(threads: int) -> None:
    """Compute on ``threads`` threads from now on (for this process); BLAS gets them back until the
    next split loop (see the module docstring)."""
    global _threads, _holding
    _check(threads, "set_num_threads")
    _threads, _holding = threads, False
    _set_blas(threads)


@contextlib.contextmanager
def num_threads(threads: int | None):
    """Within the block, compute on ``threads`` threads (None: leave them as they are)."""
    if threads is None:
        yield
        return
    _check(threads, "num_threads")
    before = get_num_threads()
    set_num_threads(threads)
    try:
        yield
    finally:
        set_num_threads(before)


def ranges(items: int, parts: int | None = None) -> list:
    """[first, last) ranges that split ``items`` into ``parts`` (default: the thread count) near-equal
    pieces, none empty."""
    parts = max(1, min(get_num_threads() if parts is None else parts, items))
    bounds = [items * k // parts for k in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def split(items: int, size: int, take: bool = True) -> list:
    """The [first, last) ranges a loop over ``items`` that touches ``size`` elements is split into:
    one per thread, or the whole when the loop is small (``MIN_LOOP_SIZE``) or gradkit has one
    thread. Splitting takes the threads from BLAS (see the module docstring); with ``take=False``
    the loop is split only while gradkit holds them already (element-wise ops: a ReLU must not
    take the threads of a model whose products BLAS threads best, such as the wide MLP)."""
    parts = ranges(items) if size >= MIN_LOOP_SIZE and (take or _holding) else [(0, items)]
    if len(parts) > 1:
        _hold()
    return parts


def parallel_for(kernel, items: int, *args, size: int, take: bool = True) -> None:
    """``kernel(*args, first, last)`` over the ranges ``split(items, size, take)`` gives, each on its
    own thread. The ranges must write disjoint memory, and ``kernel`` must release the GIL (a
    ``nogil`` Numba function) to run in parallel."""
    run([(kernel, args + part) for part in split(items, size, take)])


def claiming(items: int, size: int, take: bool = True) -> list:
    """The ``(counter, first, last)`` arguments of a loop that claims its items (``_claim``), one per
    thread ``split`` gives: with ``CLAIM`` every thread gets the whole range and one shared counter, so
    the threads take the items one at a time; without, each its own range and counter (fixed parts)."""
    parts = split(items, size, take)
    if CLAIM and len(parts) > 1:
        counter = numpy.zeros(1, numpy.int64)
        return [(counter, 0, items)] * len(parts)
    return [(numpy.zeros(1, numpy.int64), first, last) for first, last in parts]


def parallel_claim(kernel, items: int, *args, size: int, take: bool = True) -> None:
    """``kernel(*args, counter, first, last)`` on each thread ``claiming`` gives: every thread takes
    items of [0, items) from ``counter`` (``_claim.claim``) until none is left."""
    run([(kernel, args + part) for part in claiming(items, size, take)])


def _hold() -> None:
    """Keep BLAS on one thread from now on, so that gradkit's loop threads have the cores."""
    global _holding
    if not _holding:
        _set_blas(1)
        _holding = True


def matmul(a, b):
    """a @ b, split over gradkit's threads when gradkit holds them (see the module docstring) and the
    product is large: into blocks of rows, or of columns when the result is wider than it is tall (a
    16 x 144 @ 144 x 19600 product took 3.5 ms split by rows, 1.1 ms by columns). Each entry is
    a BLAS product of its own. OpenBLAS picks its kernel by the shape it is given, so a block's entries
    can differ from the whole product's in the last bits (OpenBLAS 0.3.31, 101 x 37 @ 37 x 29 cut at
    row 50: 2e-5 relative at most); the blocks depend on the thread count alone, so a given count
    always gives the same bits."""
    if (_holding and type(a) is numpy.ndarray and type(b) is numpy.ndarray and a.ndim == 2 and b.ndim == 2
            and a.shape[0] * a.shape[1] * b.shape[1] >= MIN_PRODUCT):
        rows, columns = a.shape[0], b.shape[1]
        out = numpy.empty((rows, columns), numpy.result_type(a, b))
        if rows >= columns:
            run([(numpy.matmul, (a[first:last], b, out[first:last])) for first, last in ranges(rows)])
        else:
            run([(numpy.matmul, (a, b[:, first:last], out[:, first:last])) for first, last in ranges(columns)])
        return out
    return a @ b


class _Worker(threading.Thread):
    """A daemon thread that runs one call at a time, handed over through two locks (13 us a round
    trip here; a ThreadPoolExecutor's queue and future took 30-50 us)."""

    def __init__(self):
        super().__init__(daemon=True, name="gradkit-worker")
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.call, self.error = None, None
        self.start()

    def run(self):
        while True:
            self.go.acquire()
            function, args = self.call
            try:
                function(*args)
            except BaseException as error:  # handed to the caller, which re-raises it
                self.error = error
            self.call = None
            self.done.release()

    def submit(self, function, args) -> None:
        self.call, self.error = (function, args), None
        self.go.release()

    def wait(self):
        self.done.acquire()
        return self.error


def run(calls) -> None:
    """Run each ``(function, args)`` of ``calls`` on its own thread (the first on the calling one) and
    return when all are done, re-raising the first error. Runs them one after another on the calling
    thread when there is one call, or when another thread is using the workers (so a call may itself
    use ``run``)."""
    if len(calls) == 1 or not _dispatch.acquire(blocking=False):
        for function, args in calls:
            function(*args)
        return
    try:
        while len(_workers) < len(calls) - 1:
            _workers.append(_Worker())
        busy = _workers[:len(calls) - 1]
        for worker, (function, args) in zip(busy, calls[1:]):
            worker.submit(function, args)
        error = None
        try:
            calls[0][0](*calls[0][1])
        except BaseException as caught:
            error = caught
        errors = [worker.wait() for worker in busy]  # every worker finishes before anything is raised
        error = error or next((e for e in errors if e is not None), None)
        if error is not None:
            raise error
    finally:
        _dispatch.release()


def _after_fork_in_child() -> None:
    """A forked child has only the thread that forked: start with no workers and a free dispatch lock."""
    global _workers, _dispatch
    _workers, _dispatch = [], threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
