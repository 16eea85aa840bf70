"""The doctor's tests train many small networks: one BLAS thread (spinning threads on a shared
2-core machine make small products several times slower; see gradkit/threads.py)."""
import pytest

from gradkit.threads import num_threads


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread():
    with num_threads(1):
        yield
