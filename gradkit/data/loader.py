"""Datasets of arrays, a resumable DataLoader that gathers each batch with one fancy index, random_split.

A dataset here is anything with ``len()`` and ``dataset[i]``; the fast path is a ``gather(indices,
rng)`` method that returns the whole batch as a tuple of arrays with one fancy-indexing operation
per array (no Python loop over samples). Every random choice (shuffling, augmentation) flows from
an explicit ``numpy.random.Generator``, and the loader's position can be saved as JSON-able data
and restored, so that a resumed run sees exactly the batches the uninterrupted run would have seen.
"""
from __future__ import annotations

import copy
import math

import numpy

from .. import backend
from ..autograd.tensor import Tensor


def as_indices(indices, length: int, where: str) -> numpy.ndarray:
    """``indices`` (ints, a slice, a boolean mask) as a 1-D intp array of valid positions into ``length``."""
    if isinstance(indices, slice):
        return numpy.arange(length)[indices]
    array = numpy.asarray(indices)
    if array.dtype == bool:
        if array.shape != (length,):
            raise ValueError(f"{where}: a boolean mask must have shape ({length},), got {array.shape}")
        return numpy.flatnonzero(array)
    if array.size == 0:
        return numpy.zeros(0, dtype=numpy.intp)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise TypeError(f"{where}: indices must be a 1-D array of ints, a slice or a boolean mask, "
                        f"got dtype {array.dtype} with shape {array.shape}")
    if array.min() < -length or array.max() >= length:
        raise IndexError(f"{where}: indices must lie in [-{length}, {length}), got min {array.min()} max {array.max()}")
    return array.astype(numpy.intp, copy=False)


class ArrayDataset:
    """Samples are the rows of equally long arrays: ``dataset[i] == (a[i], b[i], ...)``.

    Args:
        *arrays: NumPy arrays (or Tensors) with the same first dimension, e.g. images and labels.
        transform: optional callable ``transform(batch, rng)`` applied to the first array's batch
            (see :mod:`gradkit.data.transforms`).

    Example:
        >>> ds = ArrayDataset(numpy.zeros((10, 3), numpy.float32), numpy.arange(10))
        >>> x, y = ds.gather(numpy.array([0, 4]))
        >>> x.shape, y.tolist()
        ((2, 3), [0, 4])
    """

    def __init__(self, *arrays, transform=None):
        if not arrays:
            raise ValueError("ArrayDataset: needs at least one array")
        arrays = tuple(backend.to_numpy(a.data if isinstance(a, Tensor) else numpy.asarray(a)) for a in arrays)
        lengths = [a.shape[0] if a.ndim else None for a in arrays]
        if None in lengths or len(set(lengths)) != 1:
            raise ValueError(f"ArrayDataset: every array needs the same first dimension, got shapes "
                             f"{[a.shape for a in arrays]}")
        self.arrays = arrays
        self.transform = transform

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def features(self, batch: numpy.ndarray) -> numpy.ndarray:
        """Turn the stored rows of the first array into model inputs (identity here; images override it)."""
        return batch

    def gather(self, indices, rng=None) -> tuple:
        """The batch at ``indices``: one fancy index per array, then ``features`` and ``transform``."""
        indices = as_indices(indices, len(self), f"{type(self).__name__}.gather")
        first, *rest = (a[indices] for a in self.arrays)
        first = self.features(first)
        if self.transform is not None:
            first = self.transform(first, backend.resolve_rng(rng))
        return (first, *rest)

    def __getitem__(self, index):
        if isinstance(index, (int, numpy.integer)):
            return tuple(a[0] for a in self.gather(numpy.array([index])))
        return self.gather(index)

    def subset(self, indices):
        """A dataset of the same kind (same classes, transform ...) holding copies of the rows at ``indices``."""
        indices = as_indices(indices, len(self), f"{type(self).__name__}.subset")
        new = copy.copy(self)
        new.arrays = tuple(a[indices] for a in self.arrays)
        return new

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in self.arrays)
        return f"{type(self).__name__}({shapes})"


class Subset:
    """A view of ``dataset`` at ``indices``, for datasets that have no ``subset`` method of their own."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = as_indices(indices, len(dataset), "Subset")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (int, numpy.integer)):
            return self.dataset[int(self.indices[index])]
        return self.gather(index)

    def gather(self, indices, rng=None) -> tuple:
        return _gather(self.dataset, self.indices[as_indices(indices, len(self), "Subset.gather")], rng)

    def subset(self, indices):
        return Subset(self.dataset, self.indices[as_indices(indices, len(self), "Subset.subset")])


def _gather(dataset, indices, rng) -> tuple:
    """The batch at ``indices``: the dataset's own vectorised ``gather``, else stacked samples (slow path)."""
    if hasattr(dataset, "gather"):
        return tuple(dataset.gather(indices, rng))
    samples = [dataset[int(i)] for i in indices]
    if not samples or not isinstance(samples[0], tuple):
        samples = [(s,) for s in samples]
    return tuple(numpy.stack([numpy.asarray(s[k]) for s in samples]) for k in range(len(samples[0])))


def _has_transform(dataset) -> bool:
    while dataset is not None:
        if getattr(dataset, "transform", None) is not None:
            return True
        dataset = getattr(dataset, "dataset", None)
    return False


class DataLoader:
    """Iterate over a dataset in batches of Tensors, optionally shuffled and augmented, resumably.

    Each epoch draws one 63-bit seed from ``rng``; the epoch's permutation comes from that seed and
    batch ``k``'s augmentation from the pair ``(seed, k)``. So the same seed gives the same batches,
    every epoch differs from the last, and :meth:`state_dict` (epoch, batches done, the rng's state at
    the epoch's start) is enough to resume bit-exactly, even mid-epoch. Give the loader a Generator of
    its own: restoring a state rewinds that Generator.

    Args:
        dataset: an :class:`ArrayDataset` (or anything with ``len`` and ``[i]``; ``gather`` is the fast path).
        batch_size: samples per batch, from 1 to ``len(dataset)`` (larger gives one batch).
        shuffle: draw a new order every epoch.
        rng: Generator, seed or None (the global generator) for shuffling and augmentation;
            ``generator=`` is PyTorch's name for it.
        drop_last: drop the last, smaller batch.
        transform: ``transform(batch, rng)`` applied to each batch's first array (after the dataset's own).
        sampler: an iterable of indices giving each epoch's order (``len`` needed); excludes ``shuffle``.
        num_workers: 0 builds batches in this process; N > 0 in N worker processes
            (``gradkit.data.workers``), giving exactly the same batches in the same order.
        collate_fn: ``collate_fn(list of samples) -> batch``; by default a dataset with ``gather``
            gives a tuple of Tensors (one per array) and others go through ``default_collate``.
        pin_memory: accepted and without effect: gradkit computes on the CPU, batches already live
            in host memory.
        persistent_workers: keep the worker processes between epochs (else they stop after each).
        worker_init_fn: ``fn(worker_id)`` run in each worker when it starts.
        prefetch_factor: batches in flight per worker (default 2).
        timeout: seconds to wait for a worker's batch (0: forever).

    Example:
        >>> loader = DataLoader(train, batch_size=100, shuffle=True, rng=0)  # doctest: +SKIP
        >>> for images, labels in loader: ...                                 # doctest: +SKIP
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, rng=None, drop_last: bool = False,
                 transform=None, *, sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 persistent_workers: bool = False, worker_init_fn=None, generator=None, prefetch_factor=None,
                 timeout: float = 0, batch_sampler=None, multiprocessing_context=None):
        if batch_size is None:
            raise ValueError("DataLoader: batch_size=None (no automatic batching) is not supported; give an int >= 1")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be an int >= 1, got {batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, numpy.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None or multiprocessing_context is not None:
            raise NotImplementedError("DataLoader: batch_sampler and multiprocessing_context are not supported")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if prefetch_factor is not None and num_workers == 0:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                             "let num_workers > 0 to enable multiprocessing")
        if rng is not None and generator is not None:
            raise ValueError("DataLoader: give rng or generator (the same thing), not both")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.sampler, self.collate_fn = sampler, collate_fn
        self.num_workers, self.persistent_workers = int(num_workers), bool(persistent_workers)
        self.pin_memory = bool(pin_memory)  # no effect: see the docstring
        self.worker_init_fn, self.timeout = worker_init_fn, timeout
        self.prefetch_factor = 2 if prefetch_factor is None else int(prefetch_factor)
        self._pool = None
        self.rng = backend.resolve_rng(rng if generator is None else generator)
        self.epoch = 0          # the epoch under way (or the next one)
        self._position = 0      # batches of that epoch already handed out
        self._epoch_state = None  # the rng's state when that epoch began
        self._resume = False

    def _samples(self) -> int:
        return len(self.sampler) if self.sampler is not None else len(self.dataset)

    def __len__(self) -> int:
        n = self._samples()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _make_batch(self, indices, batch_rng):
        """The batch at ``indices`` as plain data (arrays, or what ``collate_fn`` returns)."""
        if self.collate_fn is not None or not hasattr(self.dataset, "gather"):
            from .torchlike import default_collate
            collate = self.collate_fn or default_collate
            return collate([self.dataset[int(i)] for i in indices])
        arrays = _gather(self.dataset, indices, batch_rng)
        if self.transform is not None:
            arrays = (self.transform(arrays[0], batch_rng), *arrays[1:])
        return arrays

    def _deliver(self, batch):
        if self.collate_fn is None and hasattr(self.dataset, "gather"):
            return tuple(Tensor(a) for a in batch)
        return batch

    def __iter__(self):
        if self._position and not self._resume:  # the last pass was abandoned midway: start the next epoch
            self.epoch, self._position, self._epoch_state = self.epoch + 1, 0, None
        self._resume = False
        if self._epoch_state is None:
            self._epoch_state = copy.deepcopy(self.rng.bit_generator.state)
        else:
            self.rng.bit_generator.state = copy.deepcopy(self._epoch_state)
        random = self.shuffle or self.transform is not None or _has_transform(self.dataset)
        seed = int(self.rng.integers(2 ** 63)) if random else 0
        if self.sampler is not None:
            order = numpy.fromiter((int(i) for i in self.sampler), dtype=numpy.intp)
        else:
            n = len(self.dataset)
            order = numpy.random.default_rng(seed).permutation(n) if self.shuffle else numpy.arange(n)
        spans = [(k, order[k * self.batch_size:(k + 1) * self.batch_size]) for k in range(self._position, len(self))]
        if self.num_workers:
            batches = self._from_workers(spans, seed if random else None)
        else:
            batches = (self._make_batch(indices, numpy.random.default_rng([seed, k]) if random else None)
                       for k, indices in spans)
        try:
            for k, batch in zip((k for k, _ in spans), batches):
                self._position = k + 1
                yield self._deliver(batch)
        finally:
            if self.num_workers and not self.persistent_workers:
                self._close_pool()
        self.epoch, self._position, self._epoch_state = self.epoch + 1, 0, None

    def _from_workers(self, spans, seed):
        from .workers import WorkerPool
        if self._pool is None:
            self._pool = WorkerPool(self._make_batch, self.num_workers, 0 if seed is None else seed,
                                    self.worker_init_fn, self.timeout)
        return self._pool.run(spans, seed, self.prefetch_factor)

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __del__(self):
        try:
            self._close_pool()
        except Exception:  # interpreter shutdown: the daemon workers end with it
            pass

    def state_dict(self) -> dict:
        """The loader's position as JSON-able data: epoch, batches done, rng state at the epoch's start."""
        state = self._epoch_state if self._epoch_state is not None else self.rng.bit_generator.state
        return {"epoch": self.epoch, "batch": self._position, "batch_size": self.batch_size,
                "length": self._samples(), "shuffle": self.shuffle, "rng": rng_state_to_json(state)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a position saved by :meth:`state_dict`; the next iteration continues from it."""
        missing = {"epoch", "batch", "batch_size", "length", "rng"} - set(state)
        if missing:
            raise ValueError(f"DataLoader.load_state_dict: missing keys {sorted(missing)}")
        for key, mine in (("batch_size", self.batch_size), ("length", self._samples()), ("shuffle", self.shuffle)):
            if key in state and state[key] != mine:
                raise ValueError(f"DataLoader.load_state_dict: the state is of a loader with {key}={state[key]!r}, "
                                 f"this one has {key}={mine!r}")
        if not 0 <= state["batch"] <= len(self):
            raise ValueError(f"DataLoader.load_state_dict: batch must lie in [0, {len(self)}], got {state['batch']}")
        self.epoch, self._position = int(state["epoch"]), int(state["batch"])
        self._epoch_state = rng_state_from_json(state["rng"])
        self.rng.bit_generator.state = copy.deepcopy(self._epoch_state)
        self._resume = self._position > 0


def rng_state_to_json(state):
    """A bit generator's state as JSON-safe data: ints beyond 2**53 become decimal strings, arrays lists."""
    if isinstance(state, dict):
        return {key: rng_state_to_json(value) for key, value in state.items()}
    if isinstance(state, numpy.ndarray):
        return [rng_state_to_json(v) for v in state.tolist()]
    if isinstance(state, (list, tuple)):
        return [rng_state_to_json(v) for v in state]
    if isinstance(state, (int, numpy.integer)) and not isinstance(state, bool):
        return int(state) if abs(int(state)) < 2 ** 53 else str(int(state))
    return state


def rng_state_from_json(data):
    """Invert :func:`rng_state_to_json` (a state that ``bit_generator.state = ...`` accepts)."""
    if isinstance(data, dict):
        return {key: rng_state_from_json(value) for key, value in data.items()}
    if isinstance(data, list):
        return [rng_state_from_json(v) for v in data]
    if isinstance(data, str) and data.lstrip("-").isdigit():
        return int(data)
    return data


def random_split(dataset, lengths, rng=None, generator=None) -> list:
    """Split ``dataset`` into non-overlapping random parts of the given sizes.

    Args:
        dataset: anything with ``len``; parts come from its ``subset`` method when it has one.
        lengths: ints summing to ``len(dataset)``, or fractions summing to 1 (floors, then the
            remainder handed out one by one from the first part, as in PyTorch).
        rng: Generator, seed or None (the global generator); the same seed gives the same split.
        generator: PyTorch's name for ``rng``.

    Example:
        >>> train, val = random_split(ArrayDataset(numpy.arange(10)), [0.8, 0.2], rng=0)
        >>> len(train), len(val)
        (8, 2)
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths):
        if any(x < 0 for x in lengths) or not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
            raise ValueError(f"random_split: fractions must be >= 0 and sum to 1, got {lengths}")
        counts = [int(math.floor(n * x)) for x in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
        if any(c < 0 or c != x for c, x in zip(counts, lengths)) or sum(counts) != n:
            raise ValueError(f"random_split: lengths must be ints >= 0 summing to len(dataset)={n} "
                             f"(or fractions summing to 1), got {lengths}")
    order = backend.resolve_rng(rng if generator is None else generator).permutation(n)
    bounds = numpy.cumsum([0] + counts)
    parts = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    make = dataset.subset if hasattr(dataset, "subset") else (lambda idx: Subset(dataset, idx))
    return [make(part) for part in parts]
