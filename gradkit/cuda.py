"""``torch.cuda``'s questions, answered for gradkit: no CUDA device, ever (gradkit is CPU only)."""


def is_available() -> bool:
    """False: gradkit computes on the CPU, so programs that check take their CPU path."""
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    """Accepted and ignored, as in torch without a GPU (there is no CUDA generator to seed)."""


manual_seed_all = manual_seed
