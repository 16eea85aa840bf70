"""gk.threads: the thread count, its block, and the errors for bad counts."""
import pytest

import gradkit as gk


def test_set_and_get_num_threads_and_the_block_restores():
    before = gk.threads.get_num_threads()
    try:
        gk.threads.set_num_threads(1)
        assert gk.threads.get_num_threads() == 1
        gk.threads.set_num_threads(2)
        with gk.threads.num_threads(1):
            assert gk.threads.get_num_threads() == 1
        assert gk.threads.get_num_threads() == 2 or gk.threads.get_num_threads() == before
        with gk.threads.num_threads(None):          # None leaves it alone
            assert gk.threads.get_num_threads() in (2, before)
    finally:
        gk.threads.set_num_threads(before)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_bad_thread_counts_are_named(bad):
    with pytest.raises(ValueError, match="need an int >= 1"):
        gk.threads.set_num_threads(bad)
    with pytest.raises(ValueError, match="need an int >= 1"):
        with gk.threads.num_threads(bad):
            pass
