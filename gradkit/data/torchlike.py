"""PyTorch's data vocabulary over gradkit's loader: Dataset, TensorDataset, ConcatDataset, samplers,
``default_collate``. ``gradkit.utils.data`` re-exports them with ``DataLoader``, ``Subset`` and
``random_split`` (which live in ``loader.py``), so ``from torch.utils.data import ...`` converts by
its import line.
"""
from __future__ import annotations

import bisect
import numbers

import numpy

from .. import backend
from ..autograd import ops
from ..autograd.tensor import Tensor
from .loader import as_indices


class Dataset:
    """Base class of map-style datasets: subclasses write ``__getitem__(i)`` and ``__len__``.

    ``a + b`` concatenates two datasets. The DataLoader builds a batch from ``dataset[i]`` one sample
    at a time and ``default_collate``; a dataset with a vectorised ``gather(indices, rng)`` skips that loop.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the rows of equally long tensors: ``dataset[i] == (a[i], b[i], ...)``.

    Batches keep each tensor's dtype (float32 images, int64 labels), gathered with one fancy index
    per tensor."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(numpy.asarray(t)) for t in tensors)
        if any(t.ndim == 0 for t in tensors) or len({t.shape[0] for t in tensors}) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: every tensor needs the same first "
                             f"dimension, got shapes {[t.shape for t in tensors]}")
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(ops.getitem(t, index) for t in self.tensors)

    def gather(self, indices, rng=None) -> tuple:
        indices = as_indices(indices, len(self), "TensorDataset.gather")
        return tuple(backend.to_numpy(t.data)[indices] for t in self.tensors)


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(numpy.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset index {index} is out of range for {n} samples")
        index %= n
        part = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[part - 1] if part else 0
        return self.datasets[part][int(index - start)]


class Sampler:
    """Base class: an iterable of dataset indices with a length (a DataLoader's ``sampler=``)."""

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order each pass (or ``num_samples`` draws with replacement), from ``generator``
    (a numpy Generator or seed; None: gradkit's global generator)."""

    def __init__(self, data_source, replacement: bool = False, num_samples=None, generator=None):
        self.data_source, self.replacement = data_source, bool(replacement)
        self._num_samples = num_samples
        self.generator = generator if generator is None else backend.resolve_rng(generator)
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer, got {num_samples!r}")

    def __len__(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        rng, n = backend.resolve_rng(self.generator), len(self.data_source)
        if self.replacement:
            return iter(rng.integers(0, n, len(self)).tolist())
        order = numpy.concatenate([rng.permutation(n) for _ in range(-(-len(self) // n))])[:len(self)]
        return iter(order.tolist())


class SubsetRandomSampler(Sampler):
    """The given indices in a new random order each pass."""

    def __init__(self, indices, generator=None):
        self.indices = list(indices)
        self.generator = generator if generator is None else backend.resolve_rng(generator)

    def __len__(self):
        return len(self.indices)

    def __iter__(self):
        order = backend.resolve_rng(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order])


def default_collate(batch):
    """Stack a list of samples into a batch, as PyTorch's ``default_collate``.

    Tensors and arrays are stacked (dtype kept); Python floats give float64, ints int64 and bools
    bool tensors; tuples and lists are collated field by field (a list comes back), dicts key by key;
    strings stay a list.
    """
    if not batch:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor(numpy.stack([backend.to_numpy(b.data) for b in batch]))
    if isinstance(elem, (numpy.ndarray, numpy.generic)):
        return Tensor(numpy.stack([numpy.asarray(b) for b in batch]))
    if isinstance(elem, bool):
        return Tensor(numpy.array(batch, dtype=bool))
    if isinstance(elem, numbers.Integral):
        return Tensor(numpy.array(batch, dtype=numpy.int64))
    if isinstance(elem, numbers.Real):
        return Tensor(numpy.array(batch, dtype=numpy.float64))
    if isinstance(elem, str):
        return list(batch)
    if isinstance(elem, dict):
        return {key: default_collate([b[key] for b in batch]) for key in elem}
    if isinstance(elem, (tuple, list)):
        if len({len(b) for b in batch}) != 1:
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        fields = [default_collate(list(column)) for column in zip(*batch)]
        return type(elem)(*fields) if hasattr(elem, "_fields") else fields
    raise TypeError(f"default_collate: batch must contain tensors, arrays, numbers, strings, dicts or lists; "
                    f"found {type(elem).__name__}")
