"""Devices, honestly: gradkit computes on the CPU only.

``gradkit.device("cpu")`` exists so that PyTorch programs that pass devices around run unchanged;
asking for any other device (``"cuda"``, ``"mps"``...) is a RuntimeError that says so, never a silent
fallback. (``gradkit.backend.use("cupy")`` swaps the array module and is not a torch device.)
"""
from __future__ import annotations

_CPU_ONLY = ("gradkit runs on the CPU only: there is no {!r} device. Use device='cpu' (or check "
             "gradkit.cuda.is_available(), which is False, as PyTorch programs do).")


class device:
    """A device, as ``torch.device``: ``device("cpu")``, ``device("cpu:0")``, ``device("cpu", 0)``.

    Raises:
        RuntimeError: for a device type other than cpu (gradkit has no GPU support).
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string such as 'cpu', got {type!r}")
        name, _, number = type.partition(":")
        if name not in ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "mkldnn", "vulkan", "ipu", "hpu",
                        "ve", "lazy", "mtia", "privateuseone"):
            raise RuntimeError(f"Expected one of cpu, cuda, mps... device type at start of device string: {type!r}")
        if name != "cpu":
            raise RuntimeError(_CPU_ONLY.format(type))
        if number:
            index = int(number)
        self.type, self.index = "cpu", index

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        return f"device(type='cpu'{'' if self.index is None else f', index={self.index}'})"

    def __str__(self):
        return "cpu" if self.index is None else f"cpu:{self.index}"


CPU = device("cpu")


def check(value) -> device:
    """A device from a device, a string or an int (an int names a CUDA device in torch); None is the CPU."""
    if value is None:
        return CPU
    if isinstance(value, int) and not isinstance(value, bool):
        raise RuntimeError(_CPU_ONLY.format(f"cuda:{value}"))
    return device(value)
