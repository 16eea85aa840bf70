"""``torch.backends.mps``: Apple's GPU is not available to gradkit (CPU only)."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
