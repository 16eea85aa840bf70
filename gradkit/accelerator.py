"""``torch.accelerator``'s questions, answered for gradkit: no accelerator (CPU only)."""


def is_available() -> bool:
    """False: gradkit computes on the CPU."""
    return False


def current_accelerator():
    """None: there is no accelerator (as torch on a machine without one)."""
    return None


def device_count() -> int:
    return 0
