"""Fixtures of the tune tests: tiny set-ups, and a real PostgreSQL server on loopback."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

import pytest

pytest.importorskip("optuna")

# a trial of a few milliseconds: 48 training and 12 validation images, one 8-unit layer, 2 epochs
TINY = dict(samples=60, epochs=2, depth=1, width=8, batch_size=16)


def _initdb() -> str | None:
    found = shutil.which("initdb")
    if found:
        return found
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server started for these tests (initdb into a temporary folder, a free loopback
    port, its socket in that folder), one database in it; stopped and deleted at the end.

    PostgreSQL refuses to run as root: as root it runs as the ``postgres`` system user (or ``nobody``)."""
    initdb = _initdb()
    if initdb is None:
        pytest.skip("PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin; "
                    "Debian: apt-get install postgresql; .ci/run installs it)")
    pytest.importorskip("psycopg2")
    bindir = os.path.dirname(os.path.realpath(initdb))
    as_user = []
    root = tempfile.mkdtemp(prefix="gradkit-pg-")    # in /tmp, which the server's user can traverse
    if os.geteuid() == 0:
        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None:
            pytest.skip("running as root and there is no 'postgres' or 'nobody' user to run PostgreSQL as")
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        as_user = ["runuser", "-u", user, "--"]
    data, port = os.path.join(root, "data"), _free_port()
    run = lambda *cmd: subprocess.run(as_user + list(cmd), check=True, capture_output=True, text=True, timeout=120)
    try:
        run(os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        run(os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(root, "server.log"), "-w", "-t", "60",
            "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    except subprocess.CalledProcessError as error:
        log = open(os.path.join(root, "server.log")).read() if os.path.exists(os.path.join(root, "server.log")) else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {error.stderr}\n{log}") from None
    try:
        import sqlalchemy
        engine = sqlalchemy.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres",
                                          isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(sqlalchemy.text("CREATE DATABASE gradkit_tune"))
        engine.dispose()
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/gradkit_tune"
    finally:
        subprocess.run(as_user + [os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    """A fresh storage URL of each kind: a SQLite file, and a fresh schema-free database on the server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    url = request.getfixturevalue("postgres_url")
    import sqlalchemy
    name = f"t_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}"
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name
