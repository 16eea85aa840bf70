"""Containers that register what they hold: ModuleList, ModuleDict, ParameterList, ParameterDict.

A plain Python list of layers is invisible to ``parameters()`` and ``state_dict()``; these hold
modules (or parameters) under the names "0", "1", ... (or the dict's keys), so the optimiser, the
state dict and ``to()`` see them, with PyTorch's names and key order.
"""
from __future__ import annotations

import operator

from ..autograd import Tensor
from .module import Module, Parameter


def _index(container, index) -> int:
    """``index`` (possibly negative) as a position in [0, len), or an IndexError naming the container."""
    n = len(container)
    try:
        i = operator.index(index)
    except TypeError:
        raise TypeError(f"{type(container).__name__} indices must be integers or slices, "
                        f"got {type(index).__name__}") from None
    if not -n <= i < n:
        raise IndexError(f"{type(container).__name__} index {index} is out of range for {n} entries")
    return i % n


class ModuleList(Module):
    """A list of modules, each registered as a child named by its position.

    Supports indexing (a slice gives a new ModuleList of the same modules), ``len``, iteration,
    ``append``, ``extend``, ``insert`` and ``+=``. It has no ``forward``: the owner decides the order.

    Example:
        >>> layers = ModuleList([Linear(4, 4) for _ in range(3)])
        >>> [name for name, _ in layers.named_parameters()][:2]
        ['0.weight', '0.bias']
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _check(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} holds Modules, got {type(module).__name__}")
        return module

    def append(self, module: Module):
        self.add_module(str(len(self)), self._check(module))
        return self

    def extend(self, modules):
        if not hasattr(modules, "__iter__"):
            raise TypeError(f"{type(self).__name__}.extend expects an iterable of Modules, got a "
                            f"{type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, self._check(module))
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def __iadd__(self, modules):
        return self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return type(self)(items[index])
        return items[_index(self, index)]

    def __setitem__(self, index, module):
        self._modules[str(_index(self, index))] = self._check(module)

    def __repr__(self):
        """As PyTorch: runs of equal children are shown once, e.g. ``(0-2): 3 x Linear(...)``."""
        if not self._modules:
            return "ModuleList()"
        lines, names, texts = [], list(self._modules), [repr(m) for m in self._modules.values()]
        start = 0
        for end in range(1, len(texts) + 1):
            if end == len(texts) or texts[end] != texts[start]:
                label = f"({names[start]})" if end - start == 1 else \
                    f"({names[start]}-{names[end - 1]}): {end - start} x"
                lines.append(f"{label}: {texts[start]}" if end - start == 1 else f"{label} {texts[start]}")
                start = end
        return "ModuleList(\n  " + "\n  ".join(line.replace("\n", "\n  ") for line in lines) + "\n)"

    def __delitem__(self, index):
        items = list(self._modules.values())
        del items[index if isinstance(index, slice) else _index(self, index)]
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m


class ModuleDict(Module):
    """A dict of modules, each registered as a child under its key (insertion order is kept).

    Supports ``d[key]``, ``d[key] = module``, ``del``, ``in``, ``len``, iteration over keys,
    ``keys``, ``values``, ``items``, ``update`` and ``pop``."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys must be strings, got {type(key).__name__}")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict[{key!r}]: a Module is expected, got {type(module).__name__}")
        self.add_module(key, module)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r}; keys: {list(self._modules)}")
        return self._modules[key]

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __contains__(self, key) -> bool:
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self._modules[key]
        return module

    def update(self, modules) -> None:
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module


class ParameterList(Module):
    """A list of Parameters registered under "0", "1", ...; a plain Tensor appended becomes a Parameter."""

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    @staticmethod
    def _param(value):
        if isinstance(value, Parameter):
            return value
        if isinstance(value, Tensor):
            return Parameter(value)
        raise TypeError(f"ParameterList holds Parameters (or Tensors), got {type(value).__name__}")

    def append(self, value):
        self.register_parameter(str(len(self)), self._param(value))
        return self

    def extend(self, values):
        for value in values:
            self.append(value)
        return self

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __getitem__(self, index):
        items = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(items[index])
        return items[_index(self, index)]

    def __setitem__(self, index, value):
        self._parameters[str(_index(self, index))] = self._param(value)

    def extra_repr(self):
        return "\n".join(f"  ({i}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
                         for i, p in enumerate(self))


class ParameterDict(Module):
    """A dict of Parameters registered under their keys (plain Tensors become Parameters)."""

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            pairs = values.items() if hasattr(values, "items") else values
            for key, value in pairs:
                self[key] = value

    def __setitem__(self, key: str, value) -> None:
        self.register_parameter(key, ParameterList._param(value))

    def __getitem__(self, key: str):
        if key not in self._parameters:
            raise KeyError(f"ParameterDict has no parameter {key!r}; keys: {list(self._parameters)}")
        return self._parameters[key]

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()
