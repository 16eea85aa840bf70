"""``torch.utils.data``'s names over gradkit's loader (``gradkit.data``): one implementation, two paths.

``from torch.utils.data import DataLoader, TensorDataset`` converts to
``from gradkit.utils.data import DataLoader, TensorDataset``. What differs from PyTorch is on
``gradkit.data.DataLoader`` and in docs/pytorch.md.
"""
from ..data.loader import DataLoader, Subset, random_split
from ..data.torchlike import (ConcatDataset, Dataset, RandomSampler, Sampler, SequentialSampler,
                              SubsetRandomSampler, TensorDataset, default_collate)

__all__ = ["DataLoader", "Dataset", "TensorDataset", "ConcatDataset", "Subset", "random_split", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "default_collate"]
