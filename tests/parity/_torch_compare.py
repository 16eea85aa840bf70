"""Run one piece of code on torch and on gradkit and compare what comes out (the parity suite's helper).

A case is ``fn(m, *tensors)`` where ``m`` is the module (``torch`` or ``gradkit``): the same code
runs on both, exactly as a program converted by rewriting ``import torch`` does. ``compare`` checks
values (float32 1e-5, float64 1e-10), dtypes, shapes, the types of containers, gradients through
the call, and that both raise the same kind of error for bad arguments.
"""
from __future__ import annotations

import numpy
import torch

import gradkit

TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-12),
       "float16": dict(rtol=1e-3, atol=1e-3)}


def dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def as_numpy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.data if isinstance(t, gradkit.Tensor) else numpy.asarray(t)


def compare(ours, theirs, where: str = "result"):
    """Assert ``ours`` (gradkit) matches ``theirs`` (torch): recursively through tuples and lists."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gradkit.Tensor), f"{where}: expected a Tensor, got {type(ours).__name__}"
        assert tuple(ours.shape) == tuple(theirs.shape), f"{where}: shape {ours.shape} vs torch {tuple(theirs.shape)}"
        assert dtype_name(ours.dtype) == dtype_name(theirs.dtype), \
            f"{where}: dtype {ours.dtype} vs torch {theirs.dtype}"
        a, b = as_numpy(ours), as_numpy(theirs)
        if a.dtype.kind == "f":
            numpy.testing.assert_allclose(a, b, err_msg=where, **TOL[dtype_name(ours.dtype)])
        else:
            numpy.testing.assert_array_equal(a, b, err_msg=where)
        return
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs), \
            f"{where}: {type(ours).__name__} of {len(ours) if hasattr(ours, '__len__') else '?'} vs torch " \
            f"{type(theirs).__name__} of {len(theirs)}"
        fields = getattr(type(theirs), "__match_args__", None)   # torch.return_types.* (values, indices)
        if fields:
            assert getattr(ours, "_fields", None) == fields, f"{where}: fields {getattr(ours, '_fields', None)} vs {fields}"
            assert type(ours).__name__ == type(theirs).__name__, f"{where}: {type(ours).__name__} vs {type(theirs).__name__}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            compare(a, b, f"{where}[{i}]")
        return
    if isinstance(theirs, torch.dtype):
        assert dtype_name(ours) == dtype_name(theirs), f"{where}: {ours} vs {theirs}"
        return
    if isinstance(theirs, torch.Size):
        assert tuple(ours) == tuple(theirs), f"{where}: {ours} vs {theirs}"
        return
    assert type(ours) is type(theirs), f"{where}: type {type(ours).__name__} vs torch {type(theirs).__name__}"
    if isinstance(theirs, float):
        numpy.testing.assert_allclose(ours, theirs, rtol=1e-6, err_msg=where)
    else:
        assert ours == theirs, f"{where}: {ours!r} vs torch {theirs!r}"


def make(m, arrays, requires_grad: bool):
    """Tensors of module ``m`` from NumPy arrays (copies); floats require grad when asked."""
    return [m.tensor(a.copy(), requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays]


def _tensors(result):
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in _tensors(r)]
    return [result] if hasattr(result, "requires_grad") else []


def run_case(fn, arrays, grad: bool = True, seed: int = 0):
    """Run ``fn`` on both libraries; compare results, then gradients of a random projection of the
    differentiable outputs. Returns the number of comparisons made."""
    outcomes = {}
    for m in (torch, gradkit):
        xs = make(m, arrays, grad)
        try:
            result = fn(m, *xs)
        except Exception as err:  # noqa: BLE001 - the error type itself is compared
            outcomes[m.__name__] = ("error", err, xs)
        else:
            outcomes[m.__name__] = ("ok", result, xs)
    (tk, tres, txs), (gk_, gres, gxs) = outcomes["torch"], outcomes["gradkit"]
    if tk == "error":
        assert gk_ == "error", f"torch raised {type(tres).__name__}: {tres}; gradkit returned {gres!r}"
        assert isinstance(gres, type(tres)), \
            f"torch raised {type(tres).__name__}, gradkit {type(gres).__name__}: {gres}"
        return 1
    if gk_ == "error":
        raise AssertionError(f"gradkit raised {type(gres).__name__}: {gres}; torch returned {tres!r}") from gres
    compare(gres, tres)
    checks = 1
    touts, gouts = _tensors(tres), _tensors(gres)
    pairs = [(g, t) for g, t in zip(gouts, touts) if t.requires_grad and t.dtype.is_floating_point]
    if not pairs or not grad:
        return checks
    rng = numpy.random.default_rng(seed)
    weights = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
    tloss = sum((t * torch.tensor(w, dtype=t.dtype)).sum() for (_, t), w in zip(pairs, weights))
    gloss = sum((g * gradkit.tensor(w, dtype=g.dtype)).sum() for (g, _), w in zip(pairs, weights))
    tloss.backward()
    gloss.backward()
    for i, (gx, tx) in enumerate(zip(gxs, txs)):
        if tx.grad is None:
            assert gx.grad is None or not numpy.any(gx.grad.data), f"input {i}: torch has no gradient, gradkit has one"
            continue
        assert gx.grad is not None, f"input {i}: torch has a gradient, gradkit none"
        compare(gx.grad, tx.grad, f"grad of input {i}")
        checks += 1
    return checks
