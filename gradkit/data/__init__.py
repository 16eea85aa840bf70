"""Data: IDX files, the data set registry (mnist-10k ships inside), loaders, splits and transforms.

    >>> import gradkit as gk
    >>> train, test = gk.data.load("mnist-10k")            # offline, ships with the package
    >>> loader = gk.data.DataLoader(train, batch_size=100, shuffle=True, rng=0)
    >>> images, labels = next(iter(loader))
    >>> images.shape, images.dtype, labels.dtype
    ((100, 1, 28, 28), dtype('float32'), dtype('int64'))
"""
from . import transforms
from .datasets import (DatasetSpec, ImageDataset, cache_dir, download, download_dir, get_spec, load, locate, names,
                       register, search_places, unregister, verify)
from .fetch import FileSpec
from .idx import DataError, read_idx, write_idx
from .loader import ArrayDataset, DataLoader, Subset, random_split, rng_state_from_json, rng_state_to_json
from .torchlike import ConcatDataset, Dataset, TensorDataset, default_collate

__all__ = ["ArrayDataset", "ConcatDataset", "Dataset", "TensorDataset", "default_collate", "DataError", "DataLoader", "DatasetSpec", "FileSpec", "ImageDataset", "Subset",
           "cache_dir", "download", "download_dir", "get_spec", "load", "locate", "names", "random_split",
           "read_idx", "register", "rng_state_from_json", "rng_state_to_json", "search_places", "transforms",
           "unregister", "verify", "write_idx"]
