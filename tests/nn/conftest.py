"""Put this folder on sys.path so the tests can import their helpers from ``nn_testing``."""
import os
import sys

import numpy
import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(params=[numpy.float32, numpy.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param
