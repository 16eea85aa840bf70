"""Shared helpers of the functional tests: the torch oracle, tolerances, forward-vs-reverse mode.

pytest's importlib mode makes conftest modules non-importable, so the helpers reach the tests as
the session fixture ``check``.

Tolerance: "within 1e-5 relative" (1e-10 in float64) is measured against the scale of the
reference: |ours - torch| <= rtol (|torch| + max |torch|), so entries that cancel to ~0 are not
held to a relative error that float32 cannot give.
"""
from __future__ import annotations

import numpy
import pytest
import torch

import gradkit as gk

RTOL = {numpy.dtype(numpy.float32): 1e-5, numpy.dtype(numpy.float64): 1e-10}
TORCH_DTYPE = {numpy.dtype(numpy.float32): torch.float32, numpy.dtype(numpy.float64): torch.float64}


class Check:
    """Assertions shared by the functional tests."""

    rtol = RTOL

    @staticmethod
    def close(actual, expected, dtype, what=""):
        actual = actual.data if isinstance(actual, gk.Tensor) else numpy.asarray(actual)
        expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else numpy.asarray(expected)
        assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
        rtol = RTOL[numpy.dtype(dtype)]
        scale = float(numpy.abs(expected).max()) if expected.size else 0.0
        err = numpy.abs(actual.astype(numpy.float64) - expected)
        bound = rtol * (numpy.abs(expected) + scale) + 1e-30
        worst = numpy.unravel_index(numpy.argmax(err - bound), err.shape) if err.size else ()
        assert (err <= bound).all(), (f"{what}: at {worst} ours {actual[worst]!r}, torch {expected[worst]!r} "
                                      f"(max error {err.max():.3g}, scale {scale:.3g}, rtol {rtol})")

    @staticmethod
    def same_bits_on_thread_counts(run, counts=(1, 2, 3, 3)):
        """``run()`` (a list of arrays) under each of gradkit's thread counts in turn (the count given
        twice: a second run too): every result bit-identical to the first. Restores the thread count."""
        from gradkit import threads
        before = threads.get_num_threads()
        results = []
        try:
            for count in counts:
                threads.set_num_threads(count)
                results.append(run())
        finally:
            threads.set_num_threads(before)
        for other in results[1:]:
            for a, b in zip(results[0], other):
                numpy.testing.assert_array_equal(a, b)

    def against_torch(self, ours, theirs, arrays, dtype, requires_grad=None, seed=0, what=""):
        """Run ``ours`` on gradkit Tensors and ``theirs`` on torch tensors built from the same arrays
        (cast to ``dtype``); compare the outputs, then the gradients of every input that requires
        grad under one random cotangent. Integer arrays pass through uncast and without grad."""
        dtype = numpy.dtype(dtype)
        arrays = [a.astype(dtype) if numpy.asarray(a).dtype.kind == "f" else a for a in arrays]
        if requires_grad is None:
            requires_grad = [numpy.asarray(a).dtype.kind == "f" for a in arrays]
        xs = [gk.Tensor(a, requires_grad=r) for a, r in zip(arrays, requires_grad)]
        ts = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, requires_grad)]
        y, ty = ours(*xs), theirs(*ts)
        assert y.dtype == dtype, f"{what}: output dtype {y.dtype}, expected {dtype}"
        self.close(y, ty, dtype, f"{what} output")
        if not any(requires_grad):
            return y
        cotangent = numpy.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
        y.backward(gk.Tensor(cotangent))
        ty.backward(torch.tensor(cotangent))
        for i, (x, t, r) in enumerate(zip(xs, ts, requires_grad)):
            if r:
                assert x.grad is not None, f"{what}: no gradient for input {i}"
                assert x.grad.dtype == dtype, f"{what}: gradient {i} has dtype {x.grad.dtype}"
                self.close(x.grad, t.grad, dtype, f"{what} gradient of input {i}")
        return y

    @staticmethod
    def jvp_matches_vjp(f, arrays, seed=0, rtol=1e-9):
        """Forward mode against reverse mode in float64: <u, J v> == sum_i <J_i^T u, v_i>."""
        rng = numpy.random.default_rng(seed)
        arrays = [numpy.asarray(a, dtype=numpy.float64) for a in arrays]
        tangents = [rng.standard_normal(a.shape) for a in arrays]
        y, jv = gk.autograd.jvp(f, tuple(gk.Tensor(a) for a in arrays), tuple(gk.Tensor(t) for t in tangents))
        u = rng.standard_normal(y.shape)
        xs = [gk.Tensor(a, requires_grad=True) for a in arrays]
        grads = gk.grad(f(*xs), xs, grad_outputs=[gk.Tensor(u)], allow_unused=True)
        forward = float((u * jv.data).sum())
        reverse = sum(float((g.data * t).sum()) for g, t in zip(grads, tangents) if g is not None)
        assert abs(forward - reverse) <= rtol * max(1.0, abs(reverse)), (forward, reverse)

    @staticmethod
    def hvp_against_torch(ours, theirs, arrays, seed=0, what=""):
        """Double backward: the Hessian-vector product of a scalar function of the first input, in float64."""
        rng = numpy.random.default_rng(seed)
        arrays = [numpy.asarray(a, dtype=numpy.float64) if numpy.asarray(a).dtype.kind == "f" else a for a in arrays]
        v = rng.standard_normal(arrays[0].shape)
        rest = [gk.Tensor(a) for a in arrays[1:]]
        _, hv = gk.autograd.hvp(lambda x: ours(x, *rest), gk.Tensor(arrays[0]), gk.Tensor(v))
        tx = torch.tensor(arrays[0], requires_grad=True)
        (g,) = torch.autograd.grad(theirs(tx, *[torch.tensor(a) for a in arrays[1:]]), tx, create_graph=True)
        (thv,) = torch.autograd.grad((g * torch.tensor(v)).sum(), tx)
        Check.close(hv, thv, numpy.float64, f"{what} Hessian-vector product")


@pytest.fixture(scope="session")
def check():
    return Check()


@pytest.fixture
def rng():
    return numpy.random.default_rng(1234)
