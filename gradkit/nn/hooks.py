"""The machinery behind Module's hooks: removable handles and the backward-hook points in the graph."""
from __future__ import annotations

import itertools

from ..autograd import Function


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` takes the hook away."""

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class BackwardHookPoint(Function):
    """Identity on a module's tensor inputs (or outputs) whose backward runs the module's backward hooks.

    Inserted only while a module has backward hooks. On the outputs its backward receives
    grad_output; on the inputs it receives all of grad_input at once (after grad_output, which is
    nearer the loss). Being a node of the graph, it fires even when nobody keeps the module's
    output tensor, whereas a ``Tensor.register_hook`` on a temporary output is lost with the tensor."""

    def __init__(self, call, on_outputs: bool):
        self.call, self.on_outputs = call, on_outputs

    def forward(self, *xs):
        return xs

    def backward(self, *gys):
        if self.on_outputs:
            self.call.grad_output = gys
            return self.call.fire(()) if not self.call.positions else gys
        return self.call.fire(gys)

    def jvp(self, *tangents):
        return tangents


class BackwardCall:
    """What one forward call needs to run its module's backward hooks."""

    def __init__(self, module, n_inputs, positions):
        self.module, self.n_inputs, self.positions = module, n_inputs, positions
        self.grad_output = ()

    def wrap(self, values, positions, on_outputs: bool):
        """Route the tensors of ``values`` at ``positions`` through a hook point."""
        if not positions:
            return values
        hooked = BackwardHookPoint(self, on_outputs)(*(values[i] for i in positions))
        hooked = hooked if isinstance(hooked, tuple) else (hooked,)  # one output comes unwrapped
        values = list(values)
        for i, x in zip(positions, hooked):
            values[i] = x
        return values

    def fire(self, gys):
        """Run the hooks; with hooked inputs return their (possibly replaced) gradients, else grad_output."""
        grad_input = [None] * self.n_inputs
        for position, g in zip(self.positions, gys):
            grad_input[position] = g
        grad_input, grad_output = tuple(grad_input), tuple(self.grad_output)
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, grad_output)
            if result is not None:
                if len(result) != len(grad_input):
                    raise ValueError(f"backward hook on {type(self.module).__name__} returned {len(result)} "
                                     f"gradients; expected {len(grad_input)} (one per input)")
                grad_input = tuple(result)
        if not self.positions:
            return grad_output
        return tuple(grad_input[p] for p in self.positions)
