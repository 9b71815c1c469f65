"""A throw-away PostgreSQL server for the tests of shared Optuna / MLflow stores.

`make postgres` installs Debian's `postgresql` package; the server binaries
(`initdb`, `pg_ctl`) live in /usr/lib/postgresql/<version>/bin there, off the
PATH. `PostgresServer` makes a fresh cluster in a temporary folder, owned by
a non-root user (PostgreSQL refuses to run as root), listening on 127.0.0.1
only, with `trust` authentication: nothing outside this machine can reach it,
and it is deleted when stopped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUPERUSER = "genpipe"  # the cluster's superuser role (not a system user)
SERVER_USER = "postgres"  # the system user that runs the server when we are root


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed (or cannot be run) on this machine."""


def find_bindir() -> Path:
    """The folder holding `initdb` and `pg_ctl`: $GENPIPE_PG_BINDIR, the PATH,
    then Debian's newest /usr/lib/postgresql/<version>/bin."""
    candidates = [os.environ.get("GENPIPE_PG_BINDIR", "")]
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).parent) if on_path else "")
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    candidates += [str(p) for p in reversed(debian)]
    for folder in filter(None, candidates):
        if all((Path(folder) / tool).is_file() for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    raise PostgresUnavailable(
        "PostgreSQL is not installed (no initdb/pg_ctl on the PATH, in "
        "$GENPIPE_PG_BINDIR or /usr/lib/postgresql/*/bin): run `make postgres` "
        "(apt-get install postgresql)")


def _server_user() -> str | None:
    """Who runs the server: None (ourselves) unless we are root; then the
    `postgres` system user, created if the package did not."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", SERVER_USER], check=True)
    return SERVER_USER


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One running cluster: `url(database)` for SQLAlchemy, `create_database`."""

    def __init__(self, bindir: Path, datadir: Path, port: int,
                 user: str | None) -> None:
        self.bindir, self.datadir, self.port, self.user = bindir, datadir, port, user
        self.log = datadir.parent / "postgres.log"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bindir / tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120,
                              cwd=self.datadir.parent)

    def _check(self, result: subprocess.CompletedProcess, what: str) -> None:
        if result.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.is_file() else ""
            raise PostgresUnavailable(f"PostgreSQL {what} failed: "
                                      f"{result.stderr.strip()[-2000:]}\n{log}")

    def start(self) -> None:
        self._check(self._run("initdb", "-D", str(self.datadir), "-U", SUPERUSER,
                              "--auth=trust", "-E", "UTF8", "--no-sync"), "initdb")
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.datadir} "
                   "-c fsync=off -c synchronous_commit=off -c max_connections=200")
        self._check(self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.log),
                              "-o", options, "-w", "-t", "60", "start"), "start")

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").is_file():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w",
                      "stop")

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Creates database `name`; returns its SQLAlchemy URL."""
        import psycopg

        # autocommit: CREATE DATABASE refuses to run inside a transaction
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER,
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A fresh cluster on a free port of 127.0.0.1, stopped and deleted after
    (also when the body fails).

    Raises:
        PostgresUnavailable: Not installed, or it would not start.
    """
    bindir = find_bindir()
    user = _server_user()
    # Under /tmp, not pytest's tmp_path: the server user must reach the folder,
    # and pytest's base folder is private to root.
    root = Path(tempfile.mkdtemp(prefix="genpipe-pg-"))
    datadir = root / "data"
    datadir.mkdir(mode=0o700)
    if user:
        record = pwd.getpwnam(user)
        for path in (root, datadir):
            os.chown(path, record.pw_uid, record.pw_gid)
    server = PostgresServer(bindir, datadir, free_port(), user)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
