"""``torch.backends``' availability questions, answered for gradkit (CPU only)."""
from . import cuda, mps  # noqa: F401
