"""Helpers of the nn / functional / optim / data parity tests: run one call with torch and with gradkit
on the same NumPy inputs and compare values, gradients and dtypes (float32 1e-5, float64 1e-10).

Imported as ``nn_parity`` (each test file puts this folder on sys.path; no conftest, so that the
tensor parity files beside these stay independent)."""
from __future__ import annotations

import numpy
import torch

import gradkit as gk

TOLERANCE = {numpy.dtype(numpy.float32): 1e-5, numpy.dtype(numpy.float64): 1e-10}


class Fixed:
    """An input that gets no gradient (indices, running statistics, class weights)."""

    def __init__(self, array):
        self.array = numpy.asarray(array)


def torch_dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def assert_close(actual, expected, dtype, what="", scale=None):
    """Equal within ``dtype``'s tolerance, relative to the largest reference value (or ``scale``, e.g.
    the largest gradient of a model, for arrays that are rounding noise around 0; nan where nan)."""
    actual = actual.numpy() if isinstance(actual, gk.Tensor) else numpy.asarray(actual)
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else numpy.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if actual.dtype.kind in "iub":
        numpy.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    tol = TOLERANCE[numpy.dtype(dtype)]
    finite = numpy.isfinite(expected)
    scale = max(float(numpy.abs(expected[finite]).max(initial=0.0)), scale or 0.0, 1e-30)
    numpy.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what, equal_nan=True)


def _convert(value, dtype, framework):
    """NumPy inputs -> (tensor, wants_grad) of one framework; floats cast to ``dtype``."""
    fixed = isinstance(value, Fixed)
    array = value.array if fixed else value
    if not isinstance(array, numpy.ndarray):
        return value, False
    if array.dtype.kind == "f":
        array = array.astype(dtype)
    grad = not fixed and array.dtype.kind == "f"
    if framework == "torch":
        return torch.tensor(array, requires_grad=grad), grad
    return gk.Tensor(array.copy(), requires_grad=grad), grad


def run_both(gk_call, torch_call, args, kwargs=None, dtype=numpy.float32, seed=0):
    """Call both frameworks on the same inputs; compare outputs (value, dtype) and the gradients of a
    random weighted sum of the output with respect to every float input. Returns the number of
    quantities compared."""
    kwargs = kwargs or {}
    ours = [_convert(a, dtype, "gk") for a in args]
    theirs = [_convert(a, dtype, "torch") for a in args]
    our_kw = {k: _convert(v, dtype, "gk")[0] for k, v in kwargs.items()}
    their_kw = {k: _convert(v, dtype, "torch")[0] for k, v in kwargs.items()}
    out = gk_call(*[t for t, _ in ours], **our_kw)
    ref = torch_call(*[t for t, _ in theirs], **their_kw)
    assert str(out.dtype) == torch_dtype_name(ref.dtype), f"dtype {out.dtype} != {ref.dtype}"
    assert_close(out, ref, dtype, "output")
    checked = 2
    if any(g for _, g in theirs) and ref.requires_grad and ref.numel():
        weights = numpy.random.default_rng(seed).standard_normal(tuple(ref.shape)).astype(dtype)
        (out * gk.Tensor(weights)).sum().backward()
        (ref * torch.tensor(weights)).sum().backward()
        for i, ((ours_t, grad), (theirs_t, _)) in enumerate(zip(ours, theirs)):
            if grad:
                assert ours_t.grad is not None, f"input {i}: gradkit gave no gradient"
                assert_close(ours_t.grad, theirs_t.grad, dtype, f"gradient of input {i}")
                assert str(ours_t.grad.dtype) == torch_dtype_name(theirs_t.grad.dtype)
                checked += 1
    return checked


def largest_gradient(torch_module) -> float:
    return max((float(p.grad.abs().max()) for p in torch_module.parameters() if p.grad is not None), default=0.0)


def copy_weights(gk_module, torch_module):
    """Load the gradkit module's state (keys and order must be torch's) into the torch module."""
    state = gk_module.state_dict()
    assert list(state) == list(torch_module.state_dict()), "state_dict keys or order differ"
    torch_module.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})


def raises_both(gk_call, torch_call):
    """Both calls fail; returns (gradkit's exception, torch's exception)."""
    errors = []
    for call in (gk_call, torch_call):
        try:
            call()
        except Exception as error:  # noqa: BLE001 - the type is what is compared
            errors.append(error)
        else:
            errors.append(None)
    assert errors[0] is not None, f"gradkit accepted what torch rejects with {errors[1]!r}"
    assert errors[1] is not None, f"torch accepted what gradkit rejects with {errors[0]!r}"
    return tuple(errors)
