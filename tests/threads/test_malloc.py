"""``import gradkit`` keeps freed memory in the process between training steps (``gradkit._malloc``):
a step's worth of large arrays freed and taken again faults in no new pages."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings only")

# 40 arrays of 4 MB (a step's activations), freed together, three times over; the page faults of the
# last two rounds. Run in a fresh process: malloc's adaptive settings depend on what a process freed before.
_STEPS = """
import resource, numpy, gradkit
def step():
    arrays = [numpy.ones(1 << 20, numpy.float32) for _ in range(40)]
    del arrays
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
step(); step()
print(gradkit._malloc.TUNED, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(**env):
    out = subprocess.run([sys.executable, "-c", _STEPS], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", int(out[1])


def test_freed_arrays_are_reused_without_page_faults():
    tuned, faults = _faults()
    if not tuned:
        pytest.skip("not glibc: malloc left as it is")
    untouched, untouched_faults = _faults(GRADKIT_MALLOC="0")
    assert not untouched
    # malloc's own settings: about 41,000 pages of the two rounds' 82,000 faulted in afresh (measured)
    assert untouched_faults > 10000, untouched_faults
    assert faults < 1000, faults
