"""``torch.backends.cuda``: not built into gradkit (CPU only)."""


def is_built() -> bool:
    return False
