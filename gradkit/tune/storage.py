"""Where a study lives: Optuna's relational storage (a SQLite file by default, any SQLAlchemy URL).

    sqlite:///runs/tune/study.db                       one machine, nothing to start (the default)
    postgresql://user:password@host:5432/gradkit       many machines join one study

A worker that dies mid-trial leaves its trial RUNNING; every worker beats a heartbeat while it
trains, and a trial whose heartbeat is older than ``grace`` seconds is marked FAIL by the next
worker that looks (Optuna's ``fail_stale_trials``).
"""
from __future__ import annotations

import os
import warnings
from contextlib import contextmanager

HEARTBEAT_S = 10      # seconds between heartbeats of a running trial
GRACE_S = 60          # a RUNNING trial silent this long is taken for dead and marked FAIL


def storage_url(storage: str | None, out: str | None = None) -> str | None:
    """A SQLAlchemy URL: ``None`` gives ``sqlite:///OUT/study.db`` when ``out`` is set (else None:
    in memory); a bare path becomes a SQLite URL; anything with ``://`` is taken as it is."""
    if storage is None:
        return None if out is None else "sqlite:///" + os.path.abspath(os.path.join(out, "study.db"))
    if "://" in storage:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError
        try:
            make_url(storage).get_dialect()
        except (ArgumentError, NoSuchModuleError) as error:
            raise ValueError(f"tune: --storage {storage!r} is not a SQLAlchemy URL whose driver is installed: "
                             f"{error}") from None
        return storage
    if storage in ("", ":memory:"):
        raise ValueError("tune: --storage needs a URL or a file path; leave it out for OUT/study.db")
    return "sqlite:///" + os.path.abspath(storage)


def open_storage(url: str | None, heartbeat: int = HEARTBEAT_S, grace: int = GRACE_S):
    """Optuna's RDBStorage for ``url`` with heartbeats on (None: an in-memory storage)."""
    import optuna
    if url is None:
        return optuna.storages.InMemoryStorage()
    if heartbeat < 1 or grace <= heartbeat:
        raise ValueError(f"tune: need heartbeat >= 1 s and grace > heartbeat, got heartbeat={heartbeat}, grace={grace}")
    from sqlalchemy.engine import make_url
    sqlite = make_url(url).get_backend_name() == "sqlite"
    path = make_url(url).database if sqlite else None
    kwargs = {"pool_pre_ping": True}
    if path and path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        kwargs = {"creator": _sqlite_connector(path)}
    with quiet_optuna():
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=heartbeat, grace_period=grace)


def _sqlite_connector(path: str):
    """Connections to a SQLite file in WAL mode with synchronous=NORMAL: readers never wait for a
    writer and a commit costs no fsync of the file (measured: 13 ms a commit before, on a busy disk,
    about 16 commits a trial). A commit survives the death of its process (kill -9); only a power
    cut may lose the last few. Writers queue for up to a minute instead of failing with "database is
    locked". WAL needs a local file system, as SQLite shared between processes does anyway."""
    import sqlite3

    def connect():
        connection = sqlite3.connect(path, timeout=60, check_same_thread=False)  # pooled across threads
        try:
            connection.execute("PRAGMA journal_mode=WAL")   # stored in the file; a no-op once set
        except sqlite3.OperationalError:
            pass   # another process is switching it at this instant
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection
    return connect


@contextmanager
def quiet_optuna():
    """Silence Optuna's warnings that heartbeats are "experimental" (since v2.9) and meant for
    ``Study.optimize``: we beat them ourselves around ``ask``/``tell`` (see search.py)."""
    import optuna
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
        yield


def default_study_name(setup) -> str:
    return f"{setup.model}-{setup.data}"


def sweep_stale(study) -> list[int]:
    """Mark FAIL every RUNNING trial whose heartbeat is older than the grace period; returns their numbers."""
    import optuna
    states = optuna.trial.TrialState
    running = {t.number for t in study.get_trials(deepcopy=False, states=(states.RUNNING,))}
    if not running:
        return []
    with quiet_optuna():
        optuna.storages.fail_stale_trials(study)
    return sorted(running & {t.number for t in study.get_trials(deepcopy=False, states=(states.FAIL,))})
