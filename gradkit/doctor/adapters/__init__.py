"""Adapters: the only part of the doctor that knows a framework.

An adapter turns one framework's modules, tensors, optimisers and hooks into what the recorder
reads: layer kinds, NumPy arrays, and callbacks at the forward pass, the backward pass and the
optimiser's step. Probes, rules and the report never see a framework object.

``for_model(model)`` picks the adapter without importing PyTorch: a model whose class comes from a
module named ``torch...`` (or a subclass of ``torch.nn.Module``, when torch is already imported)
gets the PyTorch adapter, which imports torch; anything else gets gradkit's.
"""
from __future__ import annotations

import sys


class Restore:
    """A handle whose ``remove()`` undoes a patch (once)."""

    def __init__(self, undo):
        self._undo = undo

    def remove(self):
        if self._undo is not None:
            self._undo()
            self._undo = None


def is_torch(obj) -> bool:
    """Is ``obj`` a PyTorch object? Decided without importing torch (a program that never imported it
    cannot hold one)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    if type(obj).__module__.split(".")[0] == "torch":
        return True
    return isinstance(obj, (torch.nn.Module, torch.Tensor, torch.optim.Optimizer))


def for_model(model):
    """The adapter for ``model`` (a gradkit or PyTorch module)."""
    if is_torch(model):
        from .torch import TorchAdapter
        return TorchAdapter()
    from .gradkit import GradkitAdapter
    from ...nn import Module
    if not isinstance(model, Module):
        raise TypeError(f"doctor: model must be a gradkit.nn.Module or a torch.nn.Module, got {type(model).__name__}")
    return GradkitAdapter()
