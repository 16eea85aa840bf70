"""Items claimed one at a time by the threads of a split loop (private; imported by the compiled loops).

A loop split into fixed halves ends when its slower half ends. On the bench machine the second
thread starts its half 20-35 us after the first (it sleeps between loops, and waking it is a
futex and a GIL hand-over), and it then ran 8-20% slower in a step (the machine's other load lands
on it): in the residual CNN step the first thread waited out about 4 ms a step at the ends of the
convolutions' halves (bench/README.md, session 11). Here every thread of a split loop walks the
same range [first, last) and takes the next item from a shared counter (``claim``, an atomic add),
so the first thread starts at once and the faster one takes more items.

What an item computes never depends on which thread takes it: items write disjoint memory, and a
sum over items goes into fixed slots summed in a fixed order afterwards, so the bits do not depend
on the thread count or on the timing (``tests/threads/test_claim.py``).
"""
from __future__ import annotations

from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _fetch_add(typingctx, counter):
    """counter[0] += 1 as one atomic step (LLVM's atomicrmw); returns the value before."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64 and counter.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.atomic_rmw("add", array.data, context.get_constant(types.int64, 1), "monotonic")

    return types.int64(counter), codegen


@njit(nogil=True, cache=True)
def claim(counter, first):
    """The next item this thread takes: first + the counter's value, which it then advances. A loop
    over claimed items, in every thread that shares ``counter`` (an int64 array of one zero)::

        item = claim(counter, first)
        while item < last:
            ...
            item = claim(counter, first)

    takes each item of [first, last) once. (Not a generator: Numba loses a cached generator's code
    when a function that uses it is compiled.)"""
    return first + _fetch_add(counter)
