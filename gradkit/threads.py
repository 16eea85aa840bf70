"""How many threads the BLAS library (NumPy's OpenBLAS / MKL) uses for matrix products.

PyTorch-shaped: ``gk.threads.set_num_threads(1)`` / ``gk.threads.get_num_threads()``. Why it matters: OpenBLAS
threads spin while they wait, so when another process holds a core, a 2-thread product of a small
network can run several times slower than a 1-thread one (measured: a 1000-step MNIST MLP comparison
took 12.4 s with 2 threads on a shared 2-core machine and 2.4 s with 1).
"""
from __future__ import annotations

import contextlib


def _controller():
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def get_num_threads() -> int:
    """Threads of the BLAS library NumPy uses (the largest, if several are loaded)."""
    pools = [p for p in _controller().info() if p.get("user_api") == "blas"]
    return max((p["num_threads"] for p in pools), default=1)


def set_num_threads(threads: int) -> None:
    """Use ``threads`` BLAS threads from now on (for this process)."""
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: need an int >= 1, got {threads!r}")
    _controller().limit(limits=threads, user_api="blas")


@contextlib.contextmanager
def num_threads(threads: int | None):
    """Within the block, BLAS uses ``threads`` threads (None: leave it as it is)."""
    if threads is None:
        yield
        return
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"num_threads: need an int >= 1, got {threads!r}")
    with _controller().limit(limits=threads, user_api="blas"):
        yield
