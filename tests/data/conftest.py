"""Shared fixtures of the data tests: a hermetic environment, no network, a loopback mirror server."""
from __future__ import annotations

import functools
import gzip
import http.server
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import numpy
import pytest

from gradkit.data import datasets

# shared/ lies beside the checkout (CI clones main next to it); /work/shared on the developers' machines
SHARED_FASHION = next((p for p in (Path(__file__).resolve().parents[3] / "shared/data/fashion-mnist",
                                   Path("/work/shared/data/fashion-mnist")) if p.is_dir()),
                      Path("/work/shared/data/fashion-mnist"))


@pytest.fixture(autouse=True)
def hermetic(tmp_path, monkeypatch):
    """No real cache, no $GRADKIT_DATA, no system folders, and no URL but loopback or file://."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("GRADKIT_DATA", raising=False)
    monkeypatch.delenv("GRADKIT_MIRRORS", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DIRS", (tmp_path / "usr-share-datasets",))
    real_urlopen = urllib.request.urlopen

    def loopback_only(url, *args, **kwargs):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "file" and parts.hostname not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"a test tried to reach the network: {url}")
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", loopback_only)
    yield


def files_under(folder: Path) -> list[Path]:
    """Every file (hidden ones included) below ``folder``."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file()) if Path(folder).exists() else []


@functools.lru_cache(maxsize=None)
def _tampered(path: Path) -> bytes:
    """The file re-gzipped with one value of its payload changed: valid gzip, valid IDX, wrong sha256."""
    data = bytearray(gzip.decompress(path.read_bytes()))
    data[-1] ^= 0x01
    return gzip.compress(bytes(data), compresslevel=1, mtime=0)


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``root`` under several behaviours, chosen by the first path segment:

    /good/F       the file
    /truncated/F  the first half of the file, with a matching Content-Length (a bad mirror)
    /tampered/F   the same data with one value changed, re-gzipped (fails the checksum)
    /broken/F     announces the full length, sends half and hangs up (a transient failure)
    /missing/F    404
    """
    root: Path
    requests: list

    def do_GET(self):  # noqa: N802 - http.server's naming
        _, mode, name = self.path.split("/", 2)
        self.requests.append((mode, name))
        path = self.root / name
        if mode == "missing" or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        length = len(body)
        if mode == "truncated":
            body = body[: len(body) // 2]
            length = len(body)
        elif mode == "tampered":
            body = _tampered(path)
            length = len(body)
        elif mode == "broken":
            body = body[: len(body) // 2]
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        if mode == "broken":
            self.close_connection = True

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def mirror_server():
    """Start a server on 127.0.0.1 (port 0) serving a folder; returns ``serve(folder) -> (base_url, requests)``."""
    servers = []

    def serve(folder):
        handler = type("Handler", (MirrorHandler,), {"root": Path(folder), "requests": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler.requests

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fashion_dir():
    if not (SHARED_FASHION / "train-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"needs {SHARED_FASHION}")
    return SHARED_FASHION


@pytest.fixture
def fashion_labels_spec():
    """A registered data set made of Fashion-MNIST's two label files only (fast to fetch, real checksums)."""
    full = datasets.get_spec("fashion-mnist")
    spec = datasets.register(datasets.DatasetSpec(
        name="fashion-labels", description="test: the label files of Fashion-MNIST",
        files=(full.files[1], full.files[3]), classes=full.classes, licence=full.licence,
        homepage=full.homepage, mirrors=("http://127.0.0.1:9/unused/",)))
    yield spec
    datasets.unregister(spec.name)


def make_tiny(folder: Path, label: int, gz: bool = True) -> None:
    """Write a 'tiny' data set (4 train + 2 test images) whose labels are all ``label``."""
    from gradkit.data import write_idx
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    images = numpy.arange(6 * 28 * 28, dtype=numpy.uint8).reshape(6, 28, 28)
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", images[:4])
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", numpy.full(4, label, numpy.uint8))
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", images[4:])
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", numpy.full(2, label, numpy.uint8))


@pytest.fixture
def tiny_spec():
    """A registered 'tiny' data set without checksums (its files are made per test by make_tiny)."""
    spec = datasets.register(datasets.DatasetSpec(
        name="tiny", description="test data set", classes=tuple("0123456789"), licence="none", homepage="",
        files=datasets._idx_files("train", "t10k", 4, 2, (None,) * 4), mirrors=()))
    yield spec
    datasets.unregister(spec.name)


@pytest.fixture
def helpers():
    """Plain helper functions (pytest's importlib mode cannot import conftest by name)."""
    return type("Helpers", (), {"files_under": staticmethod(files_under), "make_tiny": staticmethod(make_tiny)})
