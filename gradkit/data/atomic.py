"""Atomic file writes: a reader sees the old file or the complete new one, never half of one.

The recipe: write a temporary file in the destination's own folder (so the rename cannot cross
file systems), flush and ``fsync`` it, ``os.replace`` it onto the destination, then ``fsync`` the
folder so that the rename itself survives a crash. On any failure the temporary file is removed.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def temporary_path(destination) -> Path:
    """A new empty hidden file beside ``destination`` (same folder), for a later :func:`commit`."""
    destination = Path(destination)
    handle, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    os.close(handle)
    return Path(name)


def fsync_file(path) -> None:
    """Flush ``path``'s data to the disk."""
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def fsync_dir(folder) -> None:
    """Flush a folder's entries (a rename) to the disk, where the platform allows it."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open folders
        return
    try:
        os.fsync(handle)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(handle)


def commit(temporary, destination) -> Path:
    """fsync ``temporary`` and rename it onto ``destination`` (atomic), then fsync the folder."""
    destination = Path(destination)
    fsync_file(temporary)
    os.replace(temporary, destination)
    fsync_dir(destination.parent)
    return destination


def discard(*paths) -> None:
    """Remove temporary files, ignoring those already gone."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def atomic_write(destination):
    """Open a binary stream whose content replaces ``destination`` only if the block succeeds.

    Example:
        >>> with atomic_write("weights.npz") as stream:  # doctest: +SKIP
        ...     stream.write(data)
    """
    destination = Path(destination)
    temporary = temporary_path(destination)
    try:
        with open(temporary, "wb") as stream:
            yield stream
        commit(temporary, destination)
    except BaseException:
        discard(temporary)
        raise
