"""The registry: bundled mnist-10k offline, lookup order, missing and corrupt data sets."""
from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import numpy
import pytest

import gradkit as gk
from gradkit.data import DataError, datasets, read_idx

MNIST_10K_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]


def test_mnist_10k_loads_offline_with_the_documented_split():
    train, test = gk.data.load()  # the default; the hermetic fixture blocks every URL
    assert (len(train), len(test)) == (8000, 2000)
    assert train.images.dtype == numpy.uint8 and train.images.shape == (8000, 28, 28)
    assert train.labels.dtype == numpy.int64 and test.labels.shape == (2000,)
    counts = train.class_counts() + test.class_counts()
    assert counts.tolist() == MNIST_10K_COUNTS
    assert train.classes == tuple("0123456789") and train.source == "bundled with gradkit"
    folder = resources.files("gradkit.data") / "files" / "mnist-10k"
    with resources.as_file(folder / "images-idx3-ubyte.gz") as path:
        images = read_idx(path)
    numpy.testing.assert_array_equal(train.images, images[:8000])  # first 8000 train
    numpy.testing.assert_array_equal(test.images, images[8000:])   # last 2000 test


def test_samples_are_float_in_unit_interval_with_a_channel_axis():
    train, _ = gk.data.load("mnist-10k")
    x, y = train[3]
    assert x.shape == (1, 28, 28) and x.dtype == numpy.float32 and isinstance(y, numpy.int64)
    assert x.min() == 0.0 and x.max() == 1.0
    numpy.testing.assert_array_equal(x[0], train.images[3] / numpy.float32(255))
    xs, ys = train.gather(numpy.array([5, 1, 5]))
    assert xs.shape == (3, 1, 28, 28) and xs.dtype == numpy.float32 and ys.tolist() == train.labels[[5, 1, 5]].tolist()
    part = train.subset(numpy.arange(10))
    assert len(part) == 10 and part.classes == train.classes and part.name == "mnist-10k/train"


def test_bundled_files_are_package_data():
    folder = resources.files("gradkit.data") / "files" / "mnist-10k"
    for name in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz", "README.md"):
        assert (folder / name).is_file(), name
    readme = (folder / "README.md").read_text()
    for credit in ("CC BY-SA 3.0", "Yann LeCun", "Corinna Cortes", "Christopher J.C. Burges", "first 8000"):
        assert credit in readme
    # pyproject's package-data globs must cover every bundled file, or a wheel would ship without them
    root = Path(gk.__file__).parent
    pyproject = root.parent / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not a source checkout")
    patterns = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["gradkit"]
    shipped = {p for pattern in patterns for p in root.glob(pattern) if p.is_file()}
    bundled = {p for p in (root / "data" / "files").rglob("*") if p.is_file()}
    assert bundled and bundled <= shipped, sorted(map(str, bundled - shipped))


def test_registry_names_classes_and_unknown_name():
    assert {"mnist-10k", "mnist", "fashion-mnist"} <= set(gk.data.names())
    spec = gk.data.get_spec("fashion-mnist")
    assert spec.classes[0] == "T-shirt/top" and spec.classes[9] == "Ankle boot" and len(spec.classes) == 10
    assert spec.sizes == (60000, 10000) and gk.data.get_spec("mnist-10k").sizes == (8000, 2000)
    assert all(f.sha256 and len(f.sha256) == 64 for f in gk.data.get_spec("mnist").files)
    with pytest.raises(ValueError, match="unknown data set 'cifar'; known: mnist-10k"):
        gk.data.load("cifar")


def test_lookup_order(tmp_path, monkeypatch, tiny_spec, helpers):
    places = {"root": tmp_path / "root", "env": tmp_path / "env", "cache": tmp_path / "xdg-cache" / "gradkit",
              "system": tmp_path / "usr-share-datasets"}
    monkeypatch.setenv("GRADKIT_DATA", str(places["env"]))
    for label, (key, folder) in enumerate(places.items()):
        helpers.make_tiny(folder / "tiny", label, gz=key != "cache")  # the cache holds decompressed files
    searched = [p for p, _ in gk.data.search_places("tiny", root=places["root"])]
    assert searched == [places[k] / "tiny" for k in ("root", "env", "cache", "system")]
    for label, key in enumerate(places):
        train, test = gk.data.load("tiny", root=places["root"])
        assert gk.data.locate("tiny", root=places["root"]) == places[key] / "tiny"
        assert set(train.labels.tolist()) == {label} and train.source == str(places[key] / "tiny")
        assert (len(train), len(test)) == (4, 2)
        (places[key] / "tiny" / "t10k-labels-idx1-ubyte").with_suffix(".gz").unlink(missing_ok=True)
        (places[key] / "tiny" / "t10k-labels-idx1-ubyte").unlink(missing_ok=True)  # incomplete: skipped
    assert gk.data.locate("tiny", root=places["root"]) is None


def test_missing_data_set_names_every_place_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "mine"))
    with pytest.raises(DataError) as info:
        gk.data.load("fashion-mnist", download=False)
    message = str(info.value)
    for place in (tmp_path / "mine" / "fashion-mnist", tmp_path / "xdg-cache" / "gradkit" / "fashion-mnist",
                  tmp_path / "usr-share-datasets" / "fashion-mnist"):
        assert str(place) in message
    assert "gradkit data download fashion-mnist" in message and "GRADKIT_DATA" in message
    # with a download that cannot succeed (nothing listens on port 9), nothing is left behind
    with pytest.raises(DataError, match=r"(?s)looked in:.*download failed.*127\.0\.0\.1:9/train-images"):
        gk.data.load("fashion-mnist", mirrors=["http://127.0.0.1:9/"], log=None)
    assert not (tmp_path / "mine").exists()


def test_corrupt_local_file_fails_its_checksum(tmp_path, monkeypatch, tiny_spec, helpers):
    helpers.make_tiny(tmp_path / "data" / "tiny", 3)
    path = tmp_path / "data" / "tiny" / "train-labels-idx1-ubyte.gz"
    files = list(tiny_spec.files)
    files[1] = gk.data.FileSpec(files[1].name, files[1].shape, "0" * 64)
    datasets.register(datasets.DatasetSpec(**{**vars(tiny_spec), "files": tuple(files)}), replace=True)
    with pytest.raises(DataError, match=rf"{path}: checksum mismatch: .* expected 0000"):
        gk.data.load("tiny", root=tmp_path / "data")
    train, _ = gk.data.load("tiny", root=tmp_path / "data", verify=False)
    assert train.labels.tolist() == [3, 3, 3, 3]


def test_truncated_local_file_names_the_file(tmp_path, tiny_spec, helpers):
    helpers.make_tiny(tmp_path / "tiny", 1)
    path = tmp_path / "tiny" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match=rf"{path}: truncated gzip"):
        gk.data.load("tiny", root=tmp_path)
