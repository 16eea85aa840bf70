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


class FolderLock:
    """``with FolderLock(folder, "gradkit train"):`` one writer per output folder.

    The lock is a file ``.gradkit.lock`` created with O_EXCL (atomic on local file systems) holding
    the owner's pid and host. A second process gets FolderLockedError naming the folder and the
    owner; a lock left by a process that no longer exists on this host is stale and taken over.
    """

    NAME = ".gradkit.lock"

    def __init__(self, folder, what: str = "gradkit"):
        self.folder, self.what = Path(folder), what
        self.path = self.folder / self.NAME
        self._held = False

    def acquire(self) -> "FolderLock":
        import socket

        from ..errors import FolderLockedError
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and owner[1] == socket.gethostname() and not _alive(owner[0]):
                    discard(self.path)      # stale: its process is gone
                    continue
                who = f"process {owner[0]} on {owner[1]}" if owner else "another process"
                raise FolderLockedError(f"{self.folder} is in use by {who} ({self.what}); wait for it to finish, "
                                        f"use another --out, or delete {self.path} if no such process runs") from None
            with os.fdopen(handle, "w") as stream:
                stream.write(f"{os.getpid()} {socket.gethostname()}\n")
            self._held = True
            return self
        raise FolderLockedError(f"{self.folder}: could not take the lock {self.path}")

    def _owner(self):
        try:
            pid, host = self.path.read_text().split()[:2]
            return int(pid), host
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._held:
            discard(self.path)
            self._held = False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # exists, owned by someone else
        return True
    return True
