"""Module: the base class of every layer and model, and Parameter, the tensors a module learns.

A Module records what is assigned to it in three ordered dicts, in assignment order (PyTorch's
``nn.Module`` is the model): ``Parameter`` values in ``_parameters``, tensors registered with
``register_buffer`` (running statistics, counters) in ``_buffers``, and child modules in
``_modules``. Everything else (``parameters()``, ``state_dict()``, ``train()``, the repr) walks
those dicts, so names and orders are the same in every process.

Hooks let outside code read a module without editing it (the doctor relies on them):

* ``register_forward_pre_hook(fn(module, inputs))``: before ``forward``; may return new inputs;
* ``register_forward_hook(fn(module, inputs, output))``: after ``forward``; may return a new output;
* ``register_full_backward_hook(fn(module, grad_input, grad_output))``: during backward, once the
  gradients of the module's tensor inputs are known; ``grad_output[0]`` is d(loss)/d(output) and
  ``grad_input[i]`` is d(loss)/d(inputs[i]) (None for an input that needs no gradient, e.g. the
  data of a first layer). It may return a tuple that replaces ``grad_input``.

Each returns a handle whose ``remove()`` takes the hook away. For the gradient of one tensor only,
``Tensor.register_hook`` is the lighter tool.
"""
from __future__ import annotations

import itertools
from collections import namedtuple

import numpy

from .. import backend
from ..autograd import Tensor, is_grad_enabled
from .hooks import BackwardCall, RemovableHandle
from .placement import to_dtype as _to_dtype


class Parameter(Tensor):
    """A Tensor that a Module learns: assigning one to a module attribute registers it.

    Args:
        data: array, list, scalar or Tensor (its data is used, not copied).
        requires_grad: True by default; False freezes it.

    Ops on a Parameter give plain Tensors; only the leaf itself is a Parameter.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class LoadStateDictError(ValueError, RuntimeError):
    """``load_state_dict`` found missing keys, unexpected keys or shape mismatches (all listed).

    A RuntimeError too, the type PyTorch raises, so ``except RuntimeError`` code still works."""


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of layers and models: subclasses set attributes in ``__init__`` and write ``forward``.

    Example:
        >>> class TwoLayer(Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = Linear(4, 8)
        ...         self.out = Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).relu())
        >>> [name for name, _ in TwoLayer().named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    def __init__(self):
        for name in ("_parameters", "_buffers", "_modules", "_forward_pre_hooks", "_forward_hooks",
                     "_backward_hooks"):
            object.__setattr__(self, name, {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} has no forward method")

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before {type(self).__name__}.__init__ has called "
                                 "super().__init__()")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        else:
            for table, kind, allowed in ((params, "parameter", Parameter), (buffers, "buffer", Tensor),
                                         (modules, "child module", Module)):
                if name in table:
                    if value is not None and not isinstance(value, allowed):
                        raise TypeError(f"cannot assign {type(value).__name__} to {kind} {name!r} of "
                                        f"{type(self).__name__}: a {allowed.__name__} or None is expected")
                    table[name] = value
                    return
            object.__setattr__(self, name, value)

    def _forget(self, name):
        self.__dict__.pop(name, None)
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        self._non_persistent.discard(name)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the three tables
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        if any(name in t for t in (self._parameters, self._buffers, self._modules)):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder, e.g. ``bias`` when there is none)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}): a Parameter or None is expected, "
                            f"got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not learned (running statistics, counters).

        Buffers follow ``to()``, appear in ``buffers()`` and, when ``persistent``, in ``state_dict()``."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer({name!r}): a Tensor or None is expected, got {type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (for names that are not identifiers, e.g. "0")."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): a Module is expected, got {type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "", memo=None):
        """Yield (dotted name, module) for this module and every descendant, each once, depth first."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, table: str, prefix: str, recurse: bool):
        seen = set()
        owners = self.named_modules(prefix) if recurse else [(prefix, self)]
        for owner_name, owner in owners:
            for name, value in getattr(owner, table).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{owner_name}.{name}" if owner_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """Yield (dotted name, Parameter), each shared parameter once, in registration order."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn):
        """Call ``fn(module)`` on every child (recursively), then on this module; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes and state
    def train(self, mode: bool = True):
        """Set training mode (dropout active, batch statistics) on this module and its descendants."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) expects a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        """Freeze (False) or unfreeze every parameter."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the parameters' gradients: None (default) or zeros of the same shape."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad = Tensor._make(param.grad.data * 0)

    def to(self, *args, **kwargs):
        """Convert floating-point parameters and buffers to a dtype, in place; returns self.

        Takes PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``
        and the keywords ``device=``, ``dtype=``, ``non_blocking=``. gradkit runs on the CPU only, so
        the device must be the CPU (another raises RuntimeError). The objects are kept, so an optimiser
        built earlier still holds them."""
        dtype = _to_dtype(args, kwargs)
        if dtype is None:
            return self
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            if tensor.dtype.kind == "f" and tensor.dtype != dtype:
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad = Tensor._make(tensor.grad.data.astype(dtype))
        return self

    def cpu(self):
        """Nothing to move: gradkit's tensors live in host memory. Returns self."""
        return self

    def cuda(self, device=None):
        raise RuntimeError("cuda(): gradkit runs on the CPU only (no CUDA device); keep the model on 'cpu'")

    def double(self):
        return self.to(numpy.float64)

    def float(self):
        return self.to(numpy.float32)

    def register_module(self, name: str, module) -> None:
        """PyTorch's alias of ``add_module``."""
        self.add_module(name, module)

    def get_submodule(self, target: str) -> "Module":
        """The descendant at dotted path ``target`` ("" is this module)."""
        module = self
        for part in target.split(".") if target else ():
            if part not in module._modules or module._modules[part] is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (looking up {target!r})")
            module = module._modules[part]
        return module

    def _state_items(self):
        """(key, tensor) in PyTorch's order: module by module, each one's parameters then its buffers."""
        seen = set()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None and id(param) not in seen:
                    seen.add(id(param))
                    yield prefix + name, param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    yield prefix + name, buffer

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> dict:
        """An ordered dict: dotted name -> a detached copy of each parameter and persistent buffer.

        Keys and order are PyTorch's (``0.weight, 0.bias, 1.running_mean, ...``,
        ``num_batches_tracked`` included). Unlike PyTorch the values are copies, not views, so a
        saved "best" state does not change as training goes on. ``keep_vars=True`` gives the
        tensors themselves."""
        out = {} if destination is None else destination
        for name, tensor in self._state_items():
            out[prefix + name] = tensor if keep_vars else Tensor(backend.xp.array(tensor.data, copy=True))
        return out

    def load_state_dict(self, state: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state`` into the parameters and buffers (in place, cast to their dtype).

        Shape mismatches always fail; with ``strict`` missing and unexpected keys fail too. The
        error lists every problem at once. Returns (missing_keys, unexpected_keys)."""
        own = dict(self._state_items())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        wrong = []
        for key, tensor in own.items():
            if key in state:
                value = state[key].data if isinstance(state[key], Tensor) else numpy.asarray(state[key])
                if tuple(value.shape) != tensor.shape:
                    wrong.append(f"{key}: expected shape {tensor.shape}, got {tuple(value.shape)}")
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if wrong:
            problems.append("shape mismatches: " + "; ".join(wrong))
        if problems:
            raise LoadStateDictError(f"load_state_dict for {type(self).__name__}: " + " | ".join(problems))
        for key, tensor in own.items():
            if key in state:
                value = state[key].data if isinstance(state[key], Tensor) else state[key]
                tensor.data[...] = backend.xp.asarray(value, dtype=tensor.dtype)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ hooks and calling
    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, inputs)`` runs before ``forward``; a non-None return replaces the inputs
        (a tuple, or one value for a single input)."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, inputs, output)`` runs after ``forward``; a non-None return replaces the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_full_backward_hook(self, hook) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs during backward (see the module docstring).

        It applies to forward calls made after it is registered and while grad is enabled."""
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    def __call__(self, *inputs, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks):
            return self.forward(*inputs, **kwargs)  # no hooks (a plain training step): nothing else to do
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, inputs)
            if result is not None:
                inputs = result if isinstance(result, tuple) else (result,)
        call = None
        if self._backward_hooks and is_grad_enabled():
            positions = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
            call = BackwardCall(self, len(inputs), positions)
            inputs = tuple(call.wrap(inputs, positions, on_outputs=False))
        output = self.forward(*inputs, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, inputs, output)
            if result is not None:
                output = result
        if call is not None:
            single = isinstance(output, Tensor)
            outputs = (output,) if single else output
            if isinstance(outputs, (tuple, list)):
                hooked = [i for i, y in enumerate(outputs) if isinstance(y, Tensor) and y.requires_grad]
                outputs = call.wrap(outputs, hooked, on_outputs=True)
                output = outputs[0] if single else type(output)(outputs)
        return output

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in its repr (e.g. ``in_features=4, ...``)."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        if not lines and len(extra_lines) <= 1:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(extra_lines + lines)
        return f"{type(self).__name__}(\n  {body}\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))
