"""A throw-away PostgreSQL server for the tests (Debian's package, no service needed).

`postgres` (session) runs ``initdb`` and ``pg_ctl start`` on a temporary folder
and a free port, and stops and deletes it at the end; `postgres_url` gives each
test a database of its own. Without the PostgreSQL binaries (``apt-get install
postgresql``; `.ci/run` does) or psycopg, the tests that use them skip and say why.

PostgreSQL refuses to run as root: as root (CI containers, this machine), the
server runs as the unprivileged user ``nobody`` through ``runuser``. The data is
throw-away, so fsync is off.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

UNPRIVILEGED = "nobody"


def postgres_bin() -> Path | None:
    """The folder with initdb and pg_ctl: $PG_BIN, else Debian's newest, else PATH."""
    candidates = [os.environ.get("PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    candidates += [str(Path(shutil.which("initdb")).parent)] if shutil.which("initdb") else []
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One server on 127.0.0.1:`port`, trust authentication, superuser ``postgres``."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="nnkit-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_user = ["runuser", "-u", UNPRIVILEGED, "--"] if os.geteuid() == 0 else []

    def _run(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.as_user + [str(self.bindir / argv[0]), *argv[1:]],
                              capture_output=True, text=True, timeout=120)

    def start(self) -> "PostgresServer":
        if self.as_user:
            os.chmod(self.folder, 0o755)
            shutil.chown(self.folder, user=UNPRIVILEGED)
        done = self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")
        for attempt in range(3):  # the port may be taken between probing and binding
            options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off " \
                      f"-c max_connections=200"
            done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w",
                             "-t", "60", "-o", options, "start")
            if done.returncode == 0:
                return self
            self.port = _free_port()
        raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}{done.stderr}\n{self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return (self.folder / "server.log").read_text()[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"gradebook_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres():
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl in /usr/lib/postgresql/*/bin, $PG_BIN or PATH): "
                    "apt-get install postgresql (.ci/run does)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install 'psycopg[binary]'")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root and no runuser to start PostgreSQL as an unprivileged user")
    server = PostgresServer(bindir)
    start = time.monotonic()
    server.start()
    print(f"\nPostgreSQL from {bindir} on port {server.port}, started in {time.monotonic() - start:.1f} s")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres) -> str:
    """A fresh database on the session's server, as an SQLAlchemy URL (postgresql+psycopg://)."""
    return postgres.create_database()
