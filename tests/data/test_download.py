"""Downloads against mirrors on loopback: bad mirrors are rejected, good ones used, nothing left behind."""
from __future__ import annotations

import numpy
import pytest

import gradkit as gk
from gradkit.cli import main
from gradkit.data import DataError


def test_full_fashion_mnist_skips_truncated_and_tampered_mirrors(tmp_path, mirror_server, fashion_dir, helpers):
    base, requests = mirror_server(fashion_dir)
    mirrors = [f"{base}/truncated/", f"{base}/tampered/", f"{base}/good/"]
    train, test = gk.data.load("fashion-mnist", root=tmp_path, mirrors=mirrors, log=None)
    assert (len(train), len(test)) == (60000, 10000)
    assert train.class_counts().tolist() == [6000] * 10 and test.class_counts().tolist() == [1000] * 10
    assert train.source == str(tmp_path / "fashion-mnist")
    names = [f.name for f in gk.data.get_spec("fashion-mnist").files]
    assert requests == [(mode, name) for name in names for mode in ("truncated", "tampered", "good")]
    assert [p.name for p in helpers.files_under(tmp_path)] == sorted(names)  # no temporary file left
    for name in names:  # the saved files are the good mirror's bytes
        assert (tmp_path / "fashion-mnist" / name).read_bytes() == (fashion_dir / name).read_bytes()
    # found now: a second load makes no request
    gk.data.load("fashion-mnist", root=tmp_path, mirrors=mirrors, log=None)
    assert len(requests) == 3 * len(names)


def test_only_bad_mirrors_raise_and_leave_the_cache_empty(tmp_path, mirror_server, fashion_dir,
                                                          fashion_labels_spec, helpers):
    base, _ = mirror_server(fashion_dir)
    with pytest.raises(DataError) as info:
        gk.data.download("fashion-labels", mirrors=[f"{base}/truncated/", f"{base}/tampered/"], log=None)
    message = str(info.value)
    assert f"{base}/truncated/train-labels-idx1-ubyte.gz: truncated gzip stream" in message
    assert f"{base}/tampered/train-labels-idx1-ubyte.gz: checksum mismatch" in message
    assert helpers.files_under(tmp_path / "xdg-cache") == [] and not (tmp_path / "xdg-cache").exists()


def test_a_failure_on_a_later_file_keeps_nothing(tmp_path, mirror_server, fashion_dir, fashion_labels_spec, helpers):
    served = tmp_path / "served"
    served.mkdir()
    (served / "train-labels-idx1-ubyte.gz").write_bytes((fashion_dir / "train-labels-idx1-ubyte.gz").read_bytes())
    base, requests = mirror_server(served)  # has the first file, 404 for the second
    with pytest.raises(DataError, match=r"could not download t10k-labels-idx1-ubyte\.gz.*\n.*HTTP 404"):
        gk.data.download("fashion-labels", root=tmp_path / "root", mirrors=[f"{base}/good/"], log=None)
    assert requests == [("good", "train-labels-idx1-ubyte.gz"), ("good", "t10k-labels-idx1-ubyte.gz")]
    assert not (tmp_path / "root").exists()


def test_broken_connections_are_retried_then_the_next_mirror_used(tmp_path, mirror_server, fashion_dir,
                                                                  fashion_labels_spec):
    base, requests = mirror_server(fashion_dir)
    mirrors = [f"{base}/missing/", f"{base}/broken/", f"{base}/good/"]
    folder = gk.data.download("fashion-labels", root=tmp_path, mirrors=mirrors, attempts=2, log=None)
    assert requests[:4] == [("missing", "train-labels-idx1-ubyte.gz")] + [("broken", "train-labels-idx1-ubyte.gz")] * 2 \
        + [("good", "train-labels-idx1-ubyte.gz")]
    assert sorted(p.name for p in folder.iterdir()) == ["t10k-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_mirrors_from_the_environment_and_file_urls(tmp_path, monkeypatch, mirror_server, fashion_dir,
                                                    fashion_labels_spec):
    base, requests = mirror_server(fashion_dir)
    monkeypatch.setenv("GRADKIT_MIRRORS", f"{base}/tampered/, {base}/good/")
    monkeypatch.setenv("GRADKIT_DATA", str(tmp_path / "env"))
    folder = gk.data.download("fashion-labels", log=None)
    assert folder == tmp_path / "env" / "fashion-labels" == gk.data.locate("fashion-labels")
    assert {mode for mode, _ in requests} == {"tampered", "good"}
    monkeypatch.setenv("GRADKIT_MIRRORS", fashion_dir.as_uri())
    again = gk.data.download("fashion-labels", root=tmp_path / "viafile", log=None)
    for name in ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert numpy.array_equal(gk.data.read_idx(again / name), gk.data.read_idx(folder / name))


def test_cli_download(tmp_path, mirror_server, fashion_dir, fashion_labels_spec, capsys):
    base, _ = mirror_server(fashion_dir)
    assert main(["data", "download", "fashion-labels", "--root", str(tmp_path), "--mirror", f"{base}/good/"]) == 0
    out, err = capsys.readouterr()
    assert f"fashion-labels: ready in {tmp_path / 'fashion-labels'}" in out and "downloading" in err
    code = main(["data", "download", "fashion-labels", "--root", str(tmp_path / "other"),
                 "--mirror", f"{base}/tampered/"])
    out, err = capsys.readouterr()
    assert code == 2 and "checksum mismatch" in err and not (tmp_path / "other").exists()
