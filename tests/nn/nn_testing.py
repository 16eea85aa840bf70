"""Shared helpers of the nn tests: run a gradkit module and a torch module on identical weights and
inputs, and compare outputs, input gradients and parameter gradients. Imported as ``nn_testing``
(conftest.py puts this folder on sys.path; a unique name, since other test folders have helpers too)."""
from __future__ import annotations

import numpy
import torch

import gradkit as gk

TOLERANCE = {numpy.float32: 1e-5, numpy.float64: 1e-10}


def assert_close(actual, expected, dtype, what=""):
    """Equal within the relative tolerance of ``dtype``, relative to the largest reference value."""
    actual, expected = (x.numpy() if isinstance(x, gk.Tensor) else numpy.asarray(x) for x in (actual, expected))
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    tol = TOLERANCE[numpy.dtype(dtype).type]
    scale = max(float(numpy.abs(expected).max(initial=0.0)), 1e-30)
    numpy.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)


def load_into_torch(module, torch_module, dtype):
    """Copy every parameter and buffer of the gradkit module into the torch module (same names)."""
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in module.state_dict().items()}
    torch_state = torch_module.state_dict()
    assert set(state) == set(torch_state), f"state keys differ: {sorted(set(state) ^ set(torch_state))}"
    torch_module.load_state_dict(state)
    torch_module.to(torch.float64 if dtype == numpy.float64 else torch.float32)


def compare_with_torch(module, torch_module, *inputs, dtype=numpy.float32, seed=0, grad_inputs=True, targets=()):
    """Forward and backward through both modules; compare outputs, input and parameter gradients.

    ``inputs`` are numpy arrays (converted to ``dtype`` when floating), ``targets`` extra non-differentiated
    arguments (e.g. loss targets). Returns (gradkit output, torch output)."""
    module.to(dtype)
    load_into_torch(module, torch_module, dtype)
    inputs = [x.astype(dtype) if x.dtype.kind == "f" else x for x in inputs]
    gk_in = [gk.Tensor(x.copy(), requires_grad=grad_inputs and x.dtype.kind == "f") for x in inputs]
    th_in = [torch.tensor(x.copy(), requires_grad=grad_inputs and x.dtype.kind == "f") for x in inputs]
    gk_targets = [gk.Tensor(t) for t in targets]
    th_targets = [torch.tensor(t) for t in targets]
    y = module(*gk_in, *gk_targets)
    ty = torch_module(*th_in, *th_targets)
    assert y.dtype == dtype, f"output dtype {y.dtype} != {dtype}"
    assert_close(y.numpy(), ty.detach().numpy(), dtype, "output")
    upstream = numpy.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
    y.backward(gk.Tensor(upstream))
    ty.backward(torch.tensor(upstream))
    for i, (a, b) in enumerate(zip(gk_in, th_in)):
        if b.requires_grad:
            assert a.grad is not None, f"input {i} got no gradient"
            assert a.grad.dtype == dtype
            assert_close(a.grad.numpy(), b.grad.numpy(), dtype, f"d/d input {i}")
    torch_params = dict(torch_module.named_parameters())
    for name, p in module.named_parameters():
        assert p.grad is not None, f"parameter {name} got no gradient"
        assert p.grad.dtype == dtype, f"{name}.grad dtype {p.grad.dtype}"
        assert_close(p.grad.numpy(), torch_params[name].grad.numpy(), dtype, f"d/d {name}")
    return y, ty



def torch_lenet5():
    """The torch twin of ``nn.models.lenet5()`` (same layer order, so the same state_dict keys)."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10))
