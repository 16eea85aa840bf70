"""summary(model, input_shape): a table of a model's layers, output shapes and parameter counts."""
from __future__ import annotations

from .. import backend
from ..autograd import Tensor, no_grad
from .module import Module


def count_parameters(model: Module, trainable_only: bool = False) -> int:
    """The number of scalar parameters (each shared parameter counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _shape_text(output) -> str:
    if isinstance(output, Tensor):
        return str(tuple(output.shape))
    if isinstance(output, (tuple, list)):
        return ", ".join(_shape_text(o) for o in output)
    return type(output).__name__


def summary(model: Module, input_shape, dtype=None) -> str:
    """Run one forward pass on zeros of ``input_shape`` (batch axis included, e.g. (1, 1, 28, 28))
    and return a table: each module called (indented by depth, in call order), its output shape and
    the number of parameters it owns directly (so the column sums to the total).

    The pass runs under ``no_grad`` in evaluation mode (no running statistic moves, no dropout mask
    is drawn); the modes are restored afterwards.

    Example:
        >>> print(summary(nn.models.lenet5(), (1, 1, 28, 28)))
    """
    names = {id(m): name for name, m in model.named_modules()}
    modes = [(m, m.training) for m in model.modules()]
    rows, handles = [], []

    def enter(module, inputs):
        name = names.get(id(module), "?")
        label = "  " * (name.count(".") + 1 if name else 0) + (f"{name} ({type(module).__name__})" if name
                                                                 else type(module).__name__)
        open_rows.append(len(rows))
        rows.append([label, "", sum(p.numel() for p in module.parameters(recurse=False))])

    def leave(module, inputs, output):
        rows[open_rows.pop()][1] = _shape_text(output)

    open_rows = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave))
    x = Tensor(backend.xp.zeros(tuple(input_shape), dtype=backend.get_default_dtype() if dtype is None else dtype))
    model.eval()
    try:
        with no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
    total, trainable = count_parameters(model), count_parameters(model, trainable_only=True)
    width = max([len(r[0]) for r in rows] + [len("Layer (type)")]) + 2
    shape_width = max([len(r[1]) for r in rows] + [len("Output shape")]) + 2
    rule = "-" * (width + shape_width + 12)
    lines = [f"{'Layer (type)':<{width}}{'Output shape':<{shape_width}}{'Params':>12}", rule]
    lines += [f"{label:<{width}}{shape:<{shape_width}}{params:>12,}" for label, shape, params in rows]
    lines += [rule, f"Input shape: {tuple(input_shape)}", f"Total params: {total:,}",
              f"Trainable params: {trainable:,}", f"Non-trainable params: {total - trainable:,}"]
    return "\n".join(lines)

