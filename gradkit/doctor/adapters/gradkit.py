"""gradkit's adapter: gradkit modules, Tensors and optimisers seen as the doctor's NumPy numbers."""
from __future__ import annotations

import numpy

from ... import backend
from ...autograd import Tensor
from ...autograd.mode import is_grad_enabled
from ...nn import activation as act
from ...nn.layers import Conv2d, Linear
from ...nn.norm import Dropout, _BatchNorm
from . import Restore

ACTIVATIONS = {act.ReLU: "relu", act.LeakyReLU: "leaky_relu", act.PReLU: "prelu", act.ELU: "elu",
               act.Softplus: "softplus", act.Sigmoid: "sigmoid", act.Tanh: "tanh"}


class GradkitAdapter:
    name = "gradkit"

    # ------------------------------------------------------------------ what the model is made of
    def kind(self, module) -> tuple[str, str] | None:
        """("weight", "") for a weight layer, ("activation", name) for an activation module, else None."""
        if isinstance(module, (Linear, Conv2d)):
            return "weight", ""
        name = ACTIVATIONS.get(type(module))
        return ("activation", name) if name else None

    def shape_text(self, module) -> str:
        if isinstance(module, Linear):
            return f" {module.in_features}->{module.out_features}"
        if isinstance(module, Conv2d):
            return f" {module.in_channels}->{module.out_channels}ch"
        return ""

    def mode_dependent(self, module) -> bool:
        """Does the module compute differently in training and in evaluation (dropout, batch norm)?"""
        return (isinstance(module, Dropout) and module.p > 0) or isinstance(module, _BatchNorm)

    # ------------------------------------------------------------------ tensors
    def numpy(self, tensor) -> numpy.ndarray:
        return backend.to_numpy(tensor.data if isinstance(tensor, Tensor) else tensor)

    def is_tensor(self, value) -> bool:
        return isinstance(value, Tensor)

    def requires_grad(self, tensor) -> bool:
        return isinstance(tensor, Tensor) and tensor.requires_grad

    def weight(self, module) -> numpy.ndarray:
        return backend.to_numpy(module.weight.data)

    def grad(self, param) -> numpy.ndarray | None:
        return None if param.grad is None else backend.to_numpy(param.grad.data)

    def grad_enabled(self) -> bool:
        return is_grad_enabled()

    # ------------------------------------------------------------------ hooks
    def grad_hook(self, tensor, fn) -> None:
        """``fn(gradient as NumPy)`` when the gradient of ``tensor`` is computed."""
        tensor.register_hook(lambda g: fn(backend.to_numpy(g.data)))

    def step_hooks(self, optimizer, before, after):
        """Call ``before()`` and ``after()`` around each ``optimizer.step``; returns a handle. gradkit's
        optimisers have no step hooks: the instance's ``step`` is shadowed until the handle is removed."""
        step = optimizer.step

        def watched_step(*args, **kwargs):
            before()
            result = step(*args, **kwargs)
            after()
            return result
        optimizer.step = watched_step
        return Restore(lambda: optimizer.__dict__.pop("step", None))

    def backward_hook(self, fn):
        """Call ``fn(tensor)`` at the start of every ``Tensor.backward`` (the loss); returns a handle."""
        original = Tensor.backward

        def backward(tensor, *args, **kwargs):
            fn(tensor)
            return original(tensor, *args, **kwargs)
        Tensor.backward = backward
        return Restore(lambda: setattr(Tensor, "backward", original))

    def scalar(self, tensor) -> float | None:
        """The value of a one-element tensor (a loss), else None."""
        return float(tensor.data.reshape(())) if tensor.data.size == 1 else None

    def optimizer_params(self, optimizer) -> list:
        return [p for group in optimizer.param_groups for p in group["params"]]

    # ------------------------------------------------------------------ defaults of a probe run
    def default_optimizer(self, model):
        from ... import optim
        return optim.Adam(model.parameters(), lr=1e-3)

    def default_loss(self):
        from ...functional import cross_entropy
        return cross_entropy
