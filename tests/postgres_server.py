"""A throwaway PostgreSQL server on 127.0.0.1 from Debian's packages, for the production-instance tests.

``postgres_server`` finds ``initdb``/``pg_ctl`` (on PATH or under /usr/lib/postgresql/<version>/bin),
makes a cluster in a temporary folder, starts it on a free port of 127.0.0.1 only (no Unix socket
outside that folder), creates a database and yields its connection settings; the server is stopped
and the folder removed afterwards. PostgreSQL refuses to run as root: as root, the server runs as
the ``postgres`` user the Debian package creates. ``missing_reason`` says why none can start here.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    password: str
    database: str

    def environment(self) -> dict[str, str]:
        """The variables the shipped deploy/dagster.yaml reads."""
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_USERNAME": self.user,
                "DAGSTER_PG_PASSWORD": self.password, "DAGSTER_PG_DB": self.database}


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _server_user() -> str | None:
    """Who runs the server: this user, or ``postgres`` when this is root (None: root without that user)."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    with contextlib.suppress(KeyError):
        return pwd.getpwnam("postgres").pw_name
    return None


def missing_reason() -> str | None:
    """Why no server can be started here (None when one can)."""
    if _binary("initdb") is None or _binary("pg_ctl") is None:
        return "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)"
    if _server_user() is None:
        return "running as root and there is no 'postgres' user to run PostgreSQL as"
    with contextlib.suppress(ImportError):
        import psycopg2  # noqa: F401

        return None
    return "psycopg2 is not installed (pip install -c constraints.txt -e '.[dev]')"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def postgres_server(database: str = "dagster") -> Iterator[PostgresSettings]:
    """Start a private server on 127.0.0.1 with one database; yield how to reach it."""
    user = _server_user()
    as_user = [] if os.geteuid() != 0 else ["runuser", "-u", str(user), "--"]
    folder = Path(tempfile.mkdtemp(prefix="topic_pipeline-pg-"))
    data, password = folder / "data", "topic-pipeline-test"
    (folder / "password").write_text(password)
    if os.geteuid() == 0:
        record = pwd.getpwnam(str(user))
        for path in (folder, folder / "password"):
            os.chown(path, record.pw_uid, record.pw_gid)
    port = _free_port()
    try:
        subprocess.run([*as_user, _binary("initdb"), "-D", str(data), "-U", "tester", "--auth=scram-sha-256",
                        f"--pwfile={folder / 'password'}", "-E", "UTF8"], check=True, capture_output=True)
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder} -c fsync=off"
        subprocess.run([*as_user, _binary("pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                        "-w", "-t", "60", "start"], check=True, capture_output=True)
        import psycopg2

        with contextlib.closing(psycopg2.connect(host="127.0.0.1", port=port, user="tester", password=password,
                                                 dbname="postgres")) as connection:
            connection.autocommit = True
            connection.cursor().execute(f'CREATE DATABASE "{database}"')
        yield PostgresSettings("127.0.0.1", port, "tester", password, database)
    finally:
        if data.exists():
            subprocess.run([*as_user, _binary("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                           capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
