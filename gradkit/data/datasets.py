"""The data set registry: mnist-10k (inside the package), mnist and fashion-mnist (found or downloaded).

``load(name)`` returns ``(train, test)`` :class:`ImageDataset` objects. The bundled ``mnist-10k``
needs no network. The full sets are looked up, in order, in ``root/<name>`` (when given),
``$GRADKIT_DATA/<name>``, the user cache ``$XDG_CACHE_HOME/gradkit/<name>`` (``~/.cache/gradkit``)
and Debian's ``/usr/share/datasets/<name>`` (packages ``dataset-fashion-mnist`` ...); otherwise
they are downloaded from the official mirrors, verified and saved atomically
(see :mod:`gradkit.data.fetch`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy

from .. import backend
from .fetch import FileSpec, decode_verified, existing, fetch_files, mirror_list, stderr_log
from ..errors import ArgumentError
from .idx import DataError
from .loader import ArrayDataset

DATA_ENV = "GRADKIT_DATA"
SYSTEM_DIRS = (Path("/usr/share/datasets"),)  # Debian's dataset-* packages install here

DIGITS = tuple("0123456789")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is, where it comes from and how it splits into train and test.

    ``files`` holds (images, labels) of the train set then of the test set; a data set with only
    (images, labels) is split at ``split_at``: the first ``split_at`` samples train, the rest test.
    """
    name: str
    description: str
    files: tuple
    classes: tuple
    licence: str
    homepage: str
    mirrors: tuple = ()
    bundled: bool = False
    split_at: int | None = None
    notes: tuple = field(default=())

    @property
    def sizes(self) -> tuple:
        """(train size, test size)."""
        if self.split_at is not None:
            return self.split_at, self.files[0].shape[0] - self.split_at
        return self.files[0].shape[0], self.files[2].shape[0]


def _idx_files(prefix_train: str, prefix_test: str, n_train: int, n_test: int, sums) -> tuple:
    return (FileSpec(f"{prefix_train}-images-idx3-ubyte.gz", (n_train, 28, 28), sums[0]),
            FileSpec(f"{prefix_train}-labels-idx1-ubyte.gz", (n_train,), sums[1]),
            FileSpec(f"{prefix_test}-images-idx3-ubyte.gz", (n_test, 28, 28), sums[2]),
            FileSpec(f"{prefix_test}-labels-idx1-ubyte.gz", (n_test,), sums[3]))


_REGISTRY: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec, replace: bool = False) -> DatasetSpec:
    """Add a data set to the registry (``replace=True`` to redefine an existing name)."""
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"register: data set {spec.name!r} is already registered (pass replace=True)")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a data set from the registry (tests use it to clean up)."""
    _REGISTRY.pop(name, None)


def names() -> list[str]:
    """The registered data sets, in registration order."""
    return list(_REGISTRY)


def get_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name``; ValueError listing the known names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ArgumentError(f"unknown data set {name!r}; known: {', '.join(_REGISTRY)}") from None


# mnist-10k: 10000 real MNIST digits, already shuffled, shipped in gradkit/data/files/mnist-10k.
# Deterministic split: the first 8000 samples train, the last 2000 test.
register(DatasetSpec(
    name="mnist-10k",
    description="10000 MNIST handwritten digits shipped inside gradkit (first 8000 train, last 2000 test)",
    files=(FileSpec("images-idx3-ubyte.gz", (10000, 28, 28),
                    "87ff80b1af14cbb3cd72b14f87b48775177b2bbd6ad1b2645c25bd389d95c284"),
           FileSpec("labels-idx1-ubyte.gz", (10000,),
                    "abc1ca0c0af29e09d56751fab3baff6f96ac830fe542e7e091e7f3ed8afce81d")),
    classes=DIGITS, bundled=True, split_at=8000,
    licence="CC BY-SA 3.0, Yann LeCun, Corinna Cortes, Christopher J.C. Burges",
    homepage="http://yann.lecun.com/exdb/mnist/"))

# Full MNIST. Yann LeCun's page publishes no checksums. torchvision pins the MD5 of the four .gz files
# (f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d...) and TensorFlow Datasets their sha256 (440fcabf...,
# 3552534a..., 8d422c7b..., f7ae60f9...). The sums below are sha256 of the DECOMPRESSED IDX files, as
# listed by several independent third-party projects that verify downloads of those same archives;
# we could not recompute them here (the full set is not available offline), but the scheme is the one
# used for Fashion-MNIST below, where we did.
register(DatasetSpec(
    name="mnist",
    description="MNIST handwritten digits, complete: 60000 train, 10000 test",
    files=_idx_files("train", "t10k", 60000, 10000, (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")),
    classes=DIGITS,
    licence="CC BY-SA 3.0, Yann LeCun, Corinna Cortes, Christopher J.C. Burges",
    homepage="http://yann.lecun.com/exdb/mnist/",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")))

# Fashion-MNIST. The project publishes MD5 of its .gz files (8d4fb7e6..., 25c81989..., bef4ecab...,
# bb300cfd...); Debian's dataset-fashion-mnist re-compresses them, so we pin the sha256 of the
# DECOMPRESSED IDX files instead, computed from Debian's copy and equal to those listed by third-party
# projects that verify the official downloads: one sum fits every gzip wrapper of the same data.
register(DatasetSpec(
    name="fashion-mnist",
    description="Fashion-MNIST (Zalando article images), complete: 60000 train, 10000 test",
    files=_idx_files("train", "t10k", 60000, 10000, (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34")),
    classes=FASHION_CLASSES,
    licence="MIT, (c) 2017 Zalando SE",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
             "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/")))


class ImageDataset(ArrayDataset):
    """Labelled images stored as uint8 ``(N, H, W)`` and int64 ``(N,)``.

    Samples come out as float32 (the default dtype) in [0, 1] with a channel axis, ``(1, H, W)``,
    as in PyTorch; :meth:`gather` builds a whole batch ``(B, 1, H, W)`` with one fancy index.

    Attributes:
        images, labels: the stored arrays. classes: class names, index = label.
        name: e.g. ``"fashion-mnist/train"``. source: where the files were read from.
    """

    def __init__(self, images, labels, classes=None, name: str = "", source: str = "", transform=None):
        images, labels = numpy.asarray(images), numpy.asarray(labels)
        if images.dtype != numpy.uint8 or images.ndim not in (3, 4):
            raise ValueError(f"ImageDataset: images must be uint8 (N, H, W) or (N, C, H, W), "
                             f"got {images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError(f"ImageDataset: labels must be a 1-D int array, got {labels.dtype} {labels.shape}")
        super().__init__(images, labels.astype(numpy.int64, copy=False), transform=transform)
        self.classes = tuple(classes) if classes is not None else tuple(str(c) for c in range(labels.max(initial=-1) + 1))
        self.name = name
        self.source = source

    @property
    def images(self) -> numpy.ndarray:
        return self.arrays[0]

    @property
    def labels(self) -> numpy.ndarray:
        return self.arrays[1]

    def features(self, batch: numpy.ndarray) -> numpy.ndarray:
        """uint8 ``(B, H, W)`` -> float ``(B, 1, H, W)`` in [0, 1] (``x / 255``, exact at 0 and 1)."""
        dtype = backend.get_default_dtype()
        x = numpy.divide(batch, dtype.type(255), dtype=dtype)
        return x[:, None] if x.ndim == 3 else x

    def class_counts(self) -> numpy.ndarray:
        """Samples per class, index = label."""
        return numpy.bincount(self.labels, minlength=len(self.classes))

    def __repr__(self) -> str:
        return (f"ImageDataset({self.name or 'unnamed'!r}, {len(self)} images "
                f"{'x'.join(map(str, self.images.shape[1:]))}, {len(self.classes)} classes)")


def cache_dir() -> Path:
    """The user cache for gradkit's data: ``$XDG_CACHE_HOME/gradkit`` or ``~/.cache/gradkit``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gradkit"


def search_places(name: str, root=None) -> list[tuple[Path, str]]:
    """Where ``name`` is looked for, in order, each with why it is searched."""
    places = []
    if root is not None:
        places.append((Path(root) / name, "root argument"))
    if os.environ.get(DATA_ENV):
        places.append((Path(os.environ[DATA_ENV]) / name, f"${DATA_ENV}"))
    places.append((cache_dir() / name, "user cache"))
    places.extend((folder / name, f"Debian's dataset-{name} package") for folder in SYSTEM_DIRS)
    return places


def download_dir(name: str, root=None) -> Path:
    """Where a download goes: ``root/<name>``, else ``$GRADKIT_DATA/<name>``, else the user cache."""
    if root is not None:
        return Path(root) / name
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]) / name
    return cache_dir() / name


def locate(name: str, root=None) -> Path | None:
    """The first folder holding every file of ``name`` (the package's own for a bundled set), or None."""
    spec = get_spec(name)
    if spec.bundled:
        return Path(str(resources.files(__package__) / "files" / name))
    for folder, _ in search_places(name, root):
        if all(existing(folder, f) is not None for f in spec.files):
            return folder
    return None


def download(name: str, root=None, mirrors=None, attempts: int = 2, timeout: float = 30.0, log=stderr_log) -> Path:
    """Download the files of ``name`` missing from ``download_dir(name, root)``; returns that folder.

    Mirrors: ``mirrors`` (base URLs), else ``$GRADKIT_MIRRORS``, else the official ones.

    Raises:
        DataError: listing every URL tried and why it failed; nothing is left behind.
    """
    return _download(name, root, mirrors, attempts, timeout, log)


def _download(name, root, mirrors, attempts, timeout, log) -> Path:
    spec = get_spec(name)
    if spec.bundled:
        return locate(name)
    return fetch_files(spec.files, download_dir(name, root), mirror_list(spec.mirrors, mirrors),
                       attempts=attempts, timeout=timeout, log=log)


def _missing_message(spec: DatasetSpec, root, reason: str) -> str:
    looked = "\n".join(f"  {folder}  ({why}){_lacking(spec, folder)}" for folder, why in search_places(spec.name, root))
    files = ", ".join(f.name for f in spec.files)
    return (f"data set {spec.name!r} not found; looked in:\n{looked}\n{reason}\n"
            f"Get it with `gradkit data download {spec.name}` (add --root DIR for another folder), or put "
            f"its files ({files}) in a folder <DIR>/{spec.name}/ and set {DATA_ENV}=<DIR>.")


def _lacking(spec: DatasetSpec, folder: Path) -> str:
    """For a folder that exists but misses some of the data set's files: which ones."""
    if not folder.is_dir():
        return ""
    missing = [f.name for f in spec.files if existing(folder, f) is None]
    return f": the folder exists but lacks {', '.join(missing)}" if missing else ""


def _read(spec: DatasetSpec, folder: Path, verify: bool) -> list:
    if spec.bundled:
        package = resources.files(__package__) / "files" / spec.name
        return [decode_verified((package / f.name).read_bytes(), f, package / f.name, verify) for f in spec.files]
    arrays = []
    for f in spec.files:
        path = existing(folder, f)
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
        arrays.append(decode_verified(raw, f, path, verify))
    return arrays


def verify(name: str, root=None) -> Path:
    """Check every file of a found data set (readable, intact, right shape and sha256); returns its folder.

    Raises:
        DataError: naming the data set's places when it is nowhere, or the first bad file.
    """
    spec = get_spec(name)
    folder = locate(name, root)
    if folder is None:
        raise DataError(_missing_message(spec, root, "(verify does not download)."))
    _read(spec, folder, verify=True)
    return folder


def load(name: str = "mnist-10k", root=None, *, download: bool = True, mirrors=None, verify: bool = True,
         log=stderr_log) -> tuple[ImageDataset, ImageDataset]:
    """Load a registered data set as ``(train, test)``.

    Args:
        name: ``"mnist-10k"`` (default, offline), ``"fashion-mnist"``, ``"mnist"`` or a registered name.
        root: a folder holding ``<name>/``, searched first and used for downloads.
        download: fetch the files when they are found nowhere.
        mirrors: base URLs to download from (default ``$GRADKIT_MIRRORS``, else the official ones).
        verify: check each file's sha256 (of its decompressed IDX bytes).
        log: progress lines of a download (default: stderr); None for silence.

    Raises:
        DataError: when the data set is nowhere and cannot be downloaded (naming every place looked
            in and how to get it), or a file is corrupt, truncated or fails its checksum.

    Example:
        >>> train, test = load("mnist-10k")
        >>> len(train), len(test), train[0][0].shape
        (8000, 2000, (1, 28, 28))
    """
    spec = get_spec(name)
    folder = locate(name, root)
    if folder is None:
        if not download:
            raise DataError(_missing_message(spec, root, "and downloading was turned off (download=False)."))
        try:
            folder = _download(name, root, mirrors, attempts=2, timeout=30.0, log=log)
        except DataError as err:
            raise DataError(_missing_message(spec, root, f"and the download failed: {err}")) from None
    train_x, train_y, *rest = _read(spec, folder, verify)
    if spec.split_at is not None:
        (train_x, test_x), (train_y, test_y) = (numpy.split(a, [spec.split_at]) for a in (train_x, train_y))
    else:
        test_x, test_y = rest
    source = "bundled with gradkit" if spec.bundled else str(folder)
    return (ImageDataset(train_x, train_y, spec.classes, f"{name}/train", source),
            ImageDataset(test_x, test_y, spec.classes, f"{name}/test", source))
