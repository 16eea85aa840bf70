"""BLAS's matrix product called from compiled loops (private): ``gemm`` inside a Numba function.

A chunked convolution (``_chunked``) runs one gather and one product per chunk of images, 64 chunks
a layer at ResNet-20's shapes; from Python each chunk costs a Numba dispatch, a NumPy ``matmul``
dispatch and a few views, all under the GIL, which the other thread then waits for. Called from the
compiled loop, the product needs none of that (bench/README.md, session 8 has the figures).

The product is the ``cblas_?gemm`` of the BLAS library NumPy itself loaded, so it computes exactly
what ``numpy.matmul`` computes, on the threads ``gradkit.threads`` gives BLAS. Its address is looked
up by name in that library and handed to LLVM under a fixed symbol name, so the compiled loops can be
cached on disk and still find it in the next process. Only the 64-bit-integer interface is declared
(``scipy_cblas_sgemm64_``: NumPy's own OpenBLAS in the wheels on PyPI); where NumPy uses another
BLAS, ``AVAILABLE`` is False and the loops run their products from Python, with NumPy's ``matmul``.
"""
from __future__ import annotations

import ctypes

import numpy
from numba import types
from numba.extending import overload

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
_SYMBOLS = {"s": ("scipy_cblas_sgemm64_", "cblas_sgemm64_"), "d": ("scipy_cblas_dgemm64_", "cblas_dgemm64_")}


def _find() -> dict:
    """{"s": address, "d": address} of the 64-bit-integer cblas gemm of NumPy's BLAS, or {}."""
    from threadpoolctl import ThreadpoolController
    numpy.ones((2, 2)) @ numpy.ones((2, 2))  # NumPy loads its BLAS with its first product
    for controller in ThreadpoolController().select(user_api="blas").lib_controllers:
        try:
            library = ctypes.CDLL(controller.filepath)
        except OSError:
            continue
        found = {}
        for kind, names in _SYMBOLS.items():
            for name in names:
                if hasattr(library, name):
                    found[kind] = ctypes.cast(getattr(library, name), ctypes.c_void_p).value
                    break
        if len(found) == 2:
            return found
    return {}


def _register() -> bool:
    import llvmlite.binding as llvm
    found = _find()
    for kind, address in found.items():
        llvm.add_symbol(f"gradkit_cblas_{kind}gemm64", address)
    return bool(found)


AVAILABLE = _register()

_int, _ptr = types.int64, types.uintp
_signature = [types.int32] * 3 + [_int] * 3 + [None, _ptr, _int, _ptr, _int, None, _ptr, _int]


def _external(kind: str, scalar):
    args = [scalar if a is None else a for a in _signature]
    return types.ExternalFunction(f"gradkit_cblas_{kind}gemm64", types.void(*args))


_sgemm, _dgemm = _external("s", types.float32), _external("d", types.float64)


def gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, add, c, ldc, like):
    """C (m x n, row stride ldc) = op(A) op(B) (+ C when ``add``), row-major, for pointers a, b, c to
    arrays of like's dtype (float32 or float64); callable from compiled code only."""
    raise NotImplementedError("gemm runs inside compiled code only")


@overload(gemm, jit_options={"nogil": True})
def _gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, add, c, ldc, like):
    if like.dtype == types.float32:
        kernel, scalar = _sgemm, numpy.float32
    elif like.dtype == types.float64:
        kernel, scalar = _dgemm, numpy.float64
    else:
        return None

    def call(trans_a, trans_b, m, n, k, a, lda, b, ldb, add, c, ldc, like):
        kernel(numpy.int32(ROW_MAJOR), numpy.int32(trans_a), numpy.int32(trans_b), m, n, k, scalar(1.0), a, lda,
               b, ldb, scalar(1.0 if add else 0.0), c, ldc)
    return call
