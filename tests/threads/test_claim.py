"""Items claimed one at a time by the threads of a split loop (``_claim``, ``threads.claiming``)."""
import numpy
import pytest
from numba import njit

from gradkit import threads
from gradkit._claim import claim


@njit(nogil=True)
def _take(owner, who, spin, counter, first, last):
    """Mark every item this thread claims with ``who``; count the marks (an item marked twice would
    show as a count above one). Each item spins a while, so the threads overlap."""
    item = claim(counter, first)
    while item < last:
        total = 0.0
        for k in range(spin):
            total += k * 1e-9
        owner[item, 0] += 1
        owner[item, 1] = who + (total < 0)  # (keeps the spin from being optimised away)
        item = claim(counter, first)


@pytest.fixture
def thread_count(request, monkeypatch):
    before = threads.get_num_threads()
    monkeypatch.setattr(threads, "MIN_LOOP_SIZE", 0)
    threads.set_num_threads(request.param)
    yield request.param
    threads.set_num_threads(before)


@pytest.mark.parametrize("thread_count", [1, 2, 3], indirect=True)
@pytest.mark.parametrize("items, spin", [(1, 0), (2, 0), (7, 20_000), (500, 20_000), (300_000, 0)])
def test_every_item_is_claimed_exactly_once(thread_count, items, spin):
    """Slow items, and 300,000 empty ones, where the threads claim as fast as they can (a counter
    read and written back in two steps instead of one atomic add gives items twice there)."""
    owner = numpy.zeros((items, 2), numpy.int64)
    calls = threads.claiming(items, size=1 << 20)
    assert len(calls) == min(thread_count, items)
    assert all(call[0] is calls[0][0] for call in calls), "the threads share one counter"
    threads.run([(_take, (owner, k, spin) + call) for k, call in enumerate(calls)])
    assert (owner[:, 0] == 1).all()


@pytest.mark.parametrize("thread_count", [2], indirect=True)
def test_both_threads_take_items_when_there_are_many(thread_count):
    """With 2,000 items of tens of microseconds each (about 0.1 s in all), the second thread joins (it
    wakes 20-35 us late here) and claims part of them, however loaded the machine."""
    owner = numpy.zeros((2000, 2), numpy.int64)
    calls = threads.claiming(2000, size=1 << 20)
    threads.run([(_take, (owner, k, 50_000) + call) for k, call in enumerate(calls)])
    assert (owner[:, 0] == 1).all()
    assert set(numpy.unique(owner[:, 1])) == {0, 1}


@pytest.mark.parametrize("thread_count", [1, 3], indirect=True)
def test_without_claim_each_thread_walks_its_fixed_part(thread_count, monkeypatch):
    monkeypatch.setattr(threads, "CLAIM", False)
    owner = numpy.zeros((10, 2), numpy.int64)
    calls = threads.claiming(10, size=1 << 20)
    assert [call[1:] for call in calls] == threads.ranges(10)
    assert len({id(call[0]) for call in calls}) == len(calls), "a counter of its own for each part"
    threads.run([(_take, (owner, k, 10) + call) for k, call in enumerate(calls)])
    assert (owner[:, 0] == 1).all()
    assert owner[:, 1].tolist() == [k for k, (first, last) in enumerate(threads.ranges(10)) for _ in range(first, last)]


def test_a_loop_below_the_split_size_runs_on_the_calling_thread_alone():
    before = threads.get_num_threads()
    threads.set_num_threads(2)
    try:
        calls = threads.claiming(100, size=threads.MIN_LOOP_SIZE - 1)
    finally:
        threads.set_num_threads(before)
    assert [call[1:] for call in calls] == [(0, 100)]
