"""Progress bars for long experiment loops: on while the lab's runner says so, silent in tests."""
from __future__ import annotations

import contextlib
import sys

_enabled = False


@contextlib.contextmanager
def enabled(on: bool = True):
    """Turn the inner bars of :func:`track` on (the runner does this on a terminal)."""
    global _enabled
    previous, _enabled = _enabled, on
    try:
        yield
    finally:
        _enabled = previous


def track(iterable, desc: str = "", total: int | None = None):
    """``iterable`` wrapped in a tqdm bar (left behind on nothing) when bars are on."""
    if not _enabled:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stderr, dynamic_ncols=True)
