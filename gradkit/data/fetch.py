"""Verified downloads: mirrors tried in turn, retries on transient errors, sha256, atomic writes.

A data set's files are fetched into hidden temporary files beside their destination; each one is
decompressed, checked against the sha256 of its decompressed IDX bytes (so a re-compressed copy of
the same data passes and a tampered one fails) and parsed with the expected shape. Only when every
file has passed are they renamed into place (fsync, ``os.replace``). On failure nothing is left
behind: no partial file, no temporary file, no folder that this call created.
"""
from __future__ import annotations

import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy

from .atomic import commit, discard, temporary_path
from .idx import DataError, check_shape, decompress, parse_idx, sha256_hex

MIRRORS_ENV = "GRADKIT_MIRRORS"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileSpec:
    """One IDX file of a data set.

    Attributes:
        name: the file's name on the mirrors and on disk, e.g. ``"train-images-idx3-ubyte.gz"``
            (a decompressed copy without ``.gz`` is accepted on disk too).
        shape: the array's expected shape.
        sha256: sha256 of the DECOMPRESSED IDX bytes (header + payload), which does not depend on
            how the file was gzipped; None skips the check (only for files shipped in the package).
    """
    name: str
    shape: tuple
    sha256: str | None = None

    @property
    def idx_bytes(self) -> int:
        """Size of the decompressed IDX file (uint8 payload): the most a download may grow to."""
        return 4 + 4 * len(self.shape) + int(numpy.prod(self.shape))


def decode_verified(raw: bytes, spec: FileSpec, source, verify: bool = True) -> numpy.ndarray:
    """Decompress, checksum and parse one file's bytes into its array.

    Raises:
        DataError: naming ``source``, when the file is corrupt, truncated, of the wrong shape or
            fails its checksum.
    """
    data = decompress(raw, source)
    if verify and spec.sha256 is not None:
        digest = sha256_hex(data)
        if digest != spec.sha256:
            raise DataError(f"{source}: checksum mismatch: the decompressed IDX data has sha256 {digest}, "
                            f"expected {spec.sha256} (the file is corrupt or not the official data)")
    return check_shape(parse_idx(data, source), spec.shape, source)


def mirror_list(defaults, mirrors=None) -> list[str]:
    """The base URLs to try: ``mirrors`` if given, else ``$GRADKIT_MIRRORS`` (separated by spaces or
    commas; ``file://`` folders work too), else the data set's official ``defaults``."""
    if mirrors is None:
        env = os.environ.get(MIRRORS_ENV, "").replace(",", " ").split()
        mirrors = env or list(defaults)
    elif isinstance(mirrors, str):
        mirrors = [mirrors]
    return [m if m.endswith("/") else m + "/" for m in mirrors]


class _Transient(Exception):
    """A failure worth retrying on the same mirror (connection reset, timeout, short read, HTTP 5xx)."""


def _fetch(url: str, destination: Path, limit: int, timeout: float) -> None:
    """Stream ``url`` into ``destination``; network failures raise _Transient or DataError, disk ones OSError."""
    try:
        response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - http(s) or file mirrors by design
    except urllib.error.HTTPError as err:
        if err.code >= 500:
            raise _Transient(f"HTTP {err.code} {err.reason}") from None
        raise DataError(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise _Transient(f"cannot connect: {err.reason}") from None
    except (http.client.HTTPException, OSError) as err:
        raise _Transient(f"{type(err).__name__}: {err}") from None
    except ValueError as err:  # e.g. an unknown URL scheme
        raise DataError(str(err)) from None
    with response, open(destination, "wb") as stream:
        expected = response.headers.get("Content-Length")
        received = 0
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (http.client.HTTPException, OSError) as err:
                raise _Transient(f"connection broken after {received} bytes ({type(err).__name__})") from None
            if not chunk:
                break
            received += len(chunk)
            if received > limit:
                raise DataError(f"more than {limit} bytes: larger than the data set's file can be")
            stream.write(chunk)
    if expected is not None and expected.isdigit() and received != int(expected):
        raise _Transient(f"short read: {received} of {expected} bytes")


def _download_one(spec: FileSpec, destination: Path, mirrors, attempts: int, backoff: float, timeout: float,
                  log, errors: list) -> Path | None:
    """Fetch and verify one file into a temporary file beside ``destination``; None if every mirror failed."""
    for mirror in mirrors:
        url = mirror + spec.name
        for attempt in range(1, attempts + 1):
            temporary = temporary_path(destination)
            try:
                log(f"downloading {url}")
                _fetch(url, temporary, limit=spec.idx_bytes + (1 << 20), timeout=timeout)
                decode_verified(temporary.read_bytes(), spec, url)
                return temporary
            except _Transient as err:
                discard(temporary)
                errors.append(f"{url}: {err} (attempt {attempt} of {attempts})")
                if attempt < attempts:
                    time.sleep(backoff * attempt)
            except DataError as err:  # the mirror answered with wrong data: a retry would get the same
                discard(temporary)
                message = str(err)
                errors.append(message if message.startswith(url) else f"{url}: {message}")
                break
            except BaseException:  # disk full, Ctrl-C ...: clean up and let it through
                discard(temporary)
                raise
    return None


def fetch_files(files, folder, mirrors, attempts: int = 2, backoff: float = 0.5, timeout: float = 30.0,
                log=None) -> Path:
    """Download the ``files`` missing from ``folder``, all or nothing.

    Args:
        files: the :class:`FileSpec` of each file.
        folder: destination folder (created if needed; removed again on failure if this call made it).
        mirrors: base URLs, tried in order for each file.
        attempts: tries per mirror for transient errors (a wrong or truncated file moves on at once).
        backoff: seconds to wait before the second try, doubled ... for later ones.
        timeout: socket timeout in seconds.
        log: callable taking one line of progress, or None for silence.

    Raises:
        DataError: listing every URL tried and why it failed, when some file could not be fetched.
    """
    log = log or (lambda line: None)
    folder = Path(folder)
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # folders this call creates, deepest first
    folder.mkdir(parents=True, exist_ok=True)
    done, failed, errors = [], [], []
    try:
        for spec in files:
            destination = folder / spec.name
            if existing(folder, spec) is not None:
                continue
            temporary = _download_one(spec, destination, mirrors, attempts, backoff, timeout, log, errors)
            if temporary is None:
                failed.append(spec.name)
                break
            done.append((temporary, destination))
    except BaseException:
        discard(*(t for t, _ in done))
        _remove_empty(made)
        raise
    if failed:
        discard(*(t for t, _ in done))
        _remove_empty(made)
        tried = "\n  ".join(errors) or "no mirror configured"
        raise DataError(f"could not download {failed[0]} into {folder}; tried:\n  {tried}")
    for temporary, destination in done:
        commit(temporary, destination)
        log(f"saved {destination}")
    return folder


def _remove_empty(folders) -> None:
    """Remove the folders a failed call created, deepest first, as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def existing(folder, spec: FileSpec) -> Path | None:
    """``folder/spec.name``, or its decompressed twin (without ``.gz``), whichever exists first."""
    for name in (spec.name, spec.name.removesuffix(".gz")):
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def stderr_log(line: str) -> None:
    """Progress lines for people: to stderr, so that stdout stays clean for data."""
    print(line, file=sys.stderr, flush=True)
