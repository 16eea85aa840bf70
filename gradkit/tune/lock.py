"""A lock shared by every worker of one study, whatever machine it runs on.

Workers count the study's trials and create the next one under this lock, so that N requested
trials become exactly N trials however many workers race for the last one (Optuna's
MaxTrialsCallback counts only after a trial ends, so k workers can overshoot by k - 1).

* PostgreSQL: a session-level advisory lock (``pg_advisory_lock``); MySQL: ``GET_LOCK``. The server
  frees it when the holder's connection dies, so a killed worker never leaves it held.
* SQLite: ``flock`` on ``<database>.lock`` beside the file (a SQLite file is one machine's; the
  kernel frees the lock when the holder dies).
* An in-memory database lives in one process: a thread lock.
"""
from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager


def _key(study: str) -> int:
    """A stable signed 64-bit key for the study (PostgreSQL advisory locks take a bigint)."""
    digest = hashlib.sha256(f"gradkit-tune:{study}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///path`` URL; None for an in-memory database."""
    from sqlalchemy.engine import make_url
    database = make_url(url).database
    return None if database in (None, "", ":memory:") else database


class StudyLock:
    """``with StudyLock(url, study): ...`` holds the study's lock for the block (re-entrant: no)."""

    _memory_locks: dict = {}

    def __init__(self, url: str, study: str):
        from sqlalchemy.engine import make_url
        self.url, self.study = url, study
        self.dialect = make_url(url).get_backend_name()
        if self.dialect not in ("sqlite", "postgresql", "mysql"):
            raise ValueError(f"tune: no cross-process lock for {self.dialect!r} storage ({url}); use sqlite, "
                             "postgresql or mysql")
        self._engine = self._connection = self._file = None

    def _connect(self):
        if self._connection is None:
            import sqlalchemy
            from sqlalchemy.pool import NullPool
            # a connection of its own, held open: the advisory lock belongs to this session
            self._engine = sqlalchemy.create_engine(self.url, poolclass=NullPool)
            self._connection = self._engine.connect()
        return self._connection

    @contextmanager
    def hold(self):
        if self.dialect == "sqlite":
            path = sqlite_path(self.url)
            if path is None:
                lock = self._memory_locks.setdefault(self.study, threading.Lock())
                with lock:
                    yield
                return
            import fcntl
            with open(path + ".lock", "a+b") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(f, fcntl.LOCK_UN)
            return
        import sqlalchemy
        connection = self._connect()
        if self.dialect == "postgresql":
            take, give = "SELECT pg_advisory_lock(:k)", "SELECT pg_advisory_unlock(:k)"
            args = {"k": _key(self.study)}
        else:
            take, give = "SELECT GET_LOCK(:k, -1)", "SELECT RELEASE_LOCK(:k)"
            args = {"k": f"gradkit-tune:{self.study}"[:64]}
        connection.execute(sqlalchemy.text(take), args)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(sqlalchemy.text(give), args)
            connection.commit()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._engine.dispose()
            self._connection = self._engine = None
