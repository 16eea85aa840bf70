"""dtypes under PyTorch's names, and PyTorch's type promotion.

gradkit's dtypes are NumPy dtypes, so ``t.dtype == gradkit.float32`` and ``t.dtype == numpy.float32``
both hold. Promotion follows PyTorch, not NumPy: operands are ranked bool < integer < float, a
Python number or a 0-d tensor only decides the result's dtype when it ranks above every tensor
with dimensions (``float32_tensor * 2.0`` stays float32, ``int_tensor * 2.5`` is the default float
dtype), and integer division ``/`` gives floats.
"""
from __future__ import annotations

import numpy

float32 = float = numpy.dtype(numpy.float32)
float64 = double = numpy.dtype(numpy.float64)
float16 = half = numpy.dtype(numpy.float16)
int64 = long = numpy.dtype(numpy.int64)
int32 = int = numpy.dtype(numpy.int32)
int16 = short = numpy.dtype(numpy.int16)
int8 = numpy.dtype(numpy.int8)
uint8 = numpy.dtype(numpy.uint8)
bool = numpy.dtype(numpy.bool_)

NAMES = ("float32", "float", "float64", "double", "float16", "half", "int64", "long", "int32", "int",
         "int16", "short", "int8", "uint8", "bool")

_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def to_dtype(dtype) -> numpy.dtype:
    """A NumPy dtype from a dtype, a NumPy type, a name or a Python type (Python's ``float`` is
    float64, as in NumPy and PyTorch)."""
    return numpy.dtype(dtype)


def rank(dtype) -> int:
    """0 for bool, 1 for integers, 2 for floats, 3 for complex."""
    return _RANK[dtype.kind]


def promote(a: numpy.ndarray, b: numpy.ndarray, default_float) -> numpy.dtype:
    """The dtype PyTorch gives ``a op b`` for two tensors' arrays: the higher kind wins and keeps its own
    size (int64 * float32 is float32); within one kind the wider wins, except that a 0-d operand never
    widens an operand with dimensions."""
    da, db = a.dtype, b.dtype
    ra, rb = _RANK[da.kind], _RANK[db.kind]
    if ra != rb:
        return da if ra > rb else db
    if a.ndim and not b.ndim:
        return da
    if b.ndim and not a.ndim:
        return db
    return numpy.promote_types(da, db)


def scalar_dtype(value, other: numpy.dtype, default_float) -> numpy.dtype:
    """The dtype of ``tensor op value`` for a Python (or NumPy) number ``value``."""
    if isinstance(value, (numpy.bool_, type(True))):
        kind = 0
    elif isinstance(value, (numpy.integer, type(1))):
        kind = 1
    elif isinstance(value, complex):
        kind = 3
    else:
        kind = 2
    if kind <= _RANK[other.kind]:
        return other
    return {1: int64, 2: default_float, 3: numpy.dtype(numpy.complex64)}[kind]
