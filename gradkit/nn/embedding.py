"""Embedding: a lookup table of learnt vectors, one row per token id."""
from __future__ import annotations

from .. import backend
from .module import Module, Parameter


class Embedding(Module):
    """y[..., :] = weight[index[...], :]; the gradient of a row is the sum over the positions that picked it.

    Args:
        num_embeddings: the number of rows (ids 0 .. num_embeddings - 1).
        embedding_dim: the length of each vector.
        rng: Generator or seed for the N(0, 1) initial rows (PyTorch's default distribution);
            None uses the global generator.

    ``padding_idx``, ``max_norm`` and sparse gradients are not supported (NotImplementedError).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False, _weight=None,
                 _freeze: bool = False, device=None, dtype=None, rng=None):
        super().__init__()
        if padding_idx is not None or max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: padding_idx, max_norm, scale_grad_by_freq and sparse are not "
                                      "supported by gradkit")
        if num_embeddings <= 0 or embedding_dim <= 0:
            raise ValueError(f"Embedding: sizes must be positive, got {num_embeddings}, {embedding_dim}")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if _weight is None:
            _weight = backend.resolve_rng(rng).standard_normal((num_embeddings, embedding_dim))
            _weight = _weight.astype(backend.get_default_dtype() if dtype is None else dtype)
        self.weight = Parameter(_weight, requires_grad=not _freeze)
        if device is not None:
            self.to(device)

    def forward(self, index):
        from .functional import embedding
        return embedding(index, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
