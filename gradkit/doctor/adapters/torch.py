"""PyTorch's adapter: torch modules, tensors and optimisers seen as the doctor's NumPy numbers.

This is the only file of gradkit that imports torch, and only when a PyTorch model is given
(``pip install "gradkit[torch]"``). Every hook it adds reads tensors (detached copies on the CPU)
and returns None, so the watched loop computes exactly the numbers it computes without them.
"""
from __future__ import annotations

import numpy
import torch
from torch import nn

from . import Restore

ACTIVATIONS = {nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.PReLU: "prelu", nn.ELU: "elu",
               nn.Softplus: "softplus", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NOT_NUMPY = (torch.float16, torch.bfloat16)   # NumPy has no bfloat16; float16 read as float32
MODE_DEPENDENT = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)


class TorchAdapter:
    name = "torch"

    def kind(self, module) -> tuple[str, str] | None:
        if isinstance(module, WEIGHT_LAYERS):
            return "weight", ""
        name = ACTIVATIONS.get(type(module))
        return ("activation", name) if name else None

    def shape_text(self, module) -> str:
        if isinstance(module, nn.Linear):
            return f" {module.in_features}->{module.out_features}"
        if isinstance(module, WEIGHT_LAYERS):
            return f" {module.in_channels}->{module.out_channels}ch"
        return ""

    def mode_dependent(self, module) -> bool:
        return (isinstance(module, MODE_DEPENDENT)
                and not (isinstance(module, nn.modules.dropout._DropoutNd) and module.p == 0))

    def numpy(self, tensor) -> numpy.ndarray:
        if isinstance(tensor, torch.Tensor):
            tensor = tensor.detach()
            if tensor.is_cpu and tensor.dtype not in _NOT_NUMPY:
                return tensor.numpy()   # a view: no copy
            if not tensor.is_cpu:
                tensor = tensor.cpu()
            if tensor.dtype in _NOT_NUMPY:
                tensor = tensor.float()
            return tensor.numpy()
        return numpy.asarray(tensor)

    def is_tensor(self, value) -> bool:
        return isinstance(value, torch.Tensor)

    def requires_grad(self, tensor) -> bool:
        return isinstance(tensor, torch.Tensor) and tensor.requires_grad

    def weight(self, module) -> numpy.ndarray:
        return self.numpy(module.weight)

    def grad(self, param) -> numpy.ndarray | None:
        return None if param.grad is None else self.numpy(param.grad)

    def grad_enabled(self) -> bool:
        return torch.is_grad_enabled()

    def grad_hook(self, tensor, fn) -> None:
        def hook(g):
            fn(self.numpy(g))
            return None   # the gradient passes unchanged
        tensor.register_hook(hook)

    def step_hooks(self, optimizer, before, after):
        pre = optimizer.register_step_pre_hook(lambda opt, args, kwargs: before())
        post = optimizer.register_step_post_hook(lambda opt, args, kwargs: after())

        def undo():
            pre.remove()
            post.remove()
        return Restore(undo)

    def backward_hook(self, fn):
        original = torch.Tensor.backward

        def backward(tensor, *args, **kwargs):
            fn(tensor)
            return original(tensor, *args, **kwargs)
        torch.Tensor.backward = backward
        return Restore(lambda: setattr(torch.Tensor, "backward", original))

    def scalar(self, tensor) -> float | None:
        return tensor.item() if tensor.numel() == 1 else None   # item(): no autograd wrapper

    def optimizer_params(self, optimizer) -> list:
        return [p for group in optimizer.param_groups for p in group["params"]]

    # ------------------------------------------------------------------ a probe run (``diagnose``)
    def default_optimizer(self, model):
        return torch.optim.Adam(model.parameters(), lr=1e-3)

    def default_loss(self):
        return torch.nn.functional.cross_entropy

    def loader(self, data, batch_size: int, rng, shuffle: bool = True):
        """Batches of torch tensors: a torch DataLoader as it is; a torch Dataset in a DataLoader
        shuffled from ``rng``; gradkit / NumPy data through gradkit's DataLoader, each batch made tensors
        (floating point as float32, integers as int64)."""
        if isinstance(data, torch.utils.data.DataLoader):
            return data
        if isinstance(data, torch.utils.data.Dataset):
            generator = torch.Generator().manual_seed(int(rng.integers(2**62))) if rng is not None else None
            return torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)
        from ...data import DataLoader
        if not isinstance(data, DataLoader):
            data = DataLoader(data, batch_size=batch_size, shuffle=shuffle, rng=rng)
        return _AsTensors(data)

    def evaluate(self, model, batches, loss_fn, limit: int) -> dict:
        """Mean loss (and accuracy for class-index targets) over at most ``limit`` examples, eval mode, no grad."""
        was_training = model.training
        model.eval()
        total, correct, seen, classes = 0.0, 0.0, 0, True
        try:
            with torch.no_grad():
                for x, y in batches:
                    out = model(x)
                    n = len(x)
                    total += float(loss_fn(out, y)) * n
                    classes = classes and y.dim() == 1 and not y.is_floating_point() and out.dim() == 2
                    if classes:
                        correct += float((out.argmax(dim=1) == y).sum())
                    seen += n
                    if seen >= limit:
                        break
        finally:
            model.train(was_training)
        result = {"loss": total / max(seen, 1)}
        if classes and seen:
            result["accuracy"] = correct / seen
        return result

    def clipper(self, model, max_norm: float):
        """A Trainer callback clipping the gradient 2-norm before each step."""
        from ...train.callbacks import Callback

        class Clip(Callback):
            def on_before_step(self, context):
                if not context.skip_step:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        return Clip()


class _AsTensors:
    """gradkit's DataLoader with each batch converted to torch tensors (no ``__getitem__``: a loader)."""

    def __init__(self, loader):
        self.loader = loader

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            yield tuple(_tensor(v) for v in batch)


def _tensor(value):
    array = numpy.asarray(getattr(value, "data", value))
    tensor = torch.from_numpy(numpy.ascontiguousarray(array))
    return tensor.float() if tensor.is_floating_point() else tensor.long()
