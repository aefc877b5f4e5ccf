"""A throwaway PostgreSQL server for the suite: `initdb` and `pg_ctl` on a free port in a temporary folder,
started the first time a test needs it and stopped when the suite ends. initdb refuses to run as root, so
under root the server runs as the `postgres` system user (Debian's package makes it)."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def postgres_bindir() -> Path:
    """Debian keeps the server's programs under /usr/lib/postgresql/<version>/bin, off the PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL's server is not installed (no initdb): ./quickstart.sh test installs it "
                       "(apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PASSWORD_ROLE, ROLE_PASSWORD = "backroom_pw", "Queue-planted-7713-secret"


class PostgresServer:
    def __init__(self) -> None:
        bindir = postgres_bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="backroom-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.folder, 0o700)
        self._pg_ctl = str(bindir / "pg_ctl")
        self._names = itertools.count(1)
        self._call([str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--no-sync"])
        # one role must give a password over TCP, as on a real server: how a runner finds it is tested with it
        hba = self.data / "pg_hba.conf"
        rules = f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text()
        subprocess.run([*self.as_user, "tee", str(hba)], input=rules, text=True, capture_output=True, check=True)
        # fsync off: a test server's data need not survive a power cut, and the suite runs faster
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._call([self._pg_ctl, "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60",
                    "-o", options, "start"])
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '{ROLE_PASSWORD}'")

    def _call(self, command: list[str]) -> None:
        done = subprocess.run(self.as_user + command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.folder / "server.log"
            raise RuntimeError(f"{' '.join(command[:1])} failed ({done.returncode}): {done.stdout}{done.stderr}"
                               + (log.read_text() if log.exists() else ""))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on the server: the URL of a queue no test has used."""
        import psycopg

        name = f"queue_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._call([self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


_server: PostgresServer | None = None


def postgres_database() -> str:
    """A fresh database on the suite's server, which starts on first use."""
    global _server
    if _server is None:
        _server = PostgresServer()
    return _server.new_database()


def postgres_database_with_password() -> str:
    """A fresh database whose URL names a role that must give its password (ROLE_PASSWORD); the URL has none."""
    url = postgres_database()
    return url.replace("postgresql://postgres@", f"postgresql://{PASSWORD_ROLE}@")


def stop_postgres() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None
