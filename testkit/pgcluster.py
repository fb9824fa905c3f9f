"""A throwaway PostgreSQL cluster for the tests: real server, temp dir, Unix socket, stopped afterwards.

`initdb` refuses to run as root, so as root (CI on a fresh machine) the cluster runs as `nobody`; otherwise as
the current user. It listens only on a Unix socket in its own directory (no TCP port that another run or
another engineer's cluster could hold). Durability is switched off: a test database never outlives the run.
Each test gets a fresh database copied from a template that already holds the current schema, which costs a
file copy instead of running every migration again.
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
from urllib.parse import quote

SUPERUSER = "newswatch"


class ClusterUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; str() says why (shown as the skip reason)."""


def _server_bin() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    if not found:
        raise ClusterUnavailable("PostgreSQL server not installed (no /usr/lib/postgresql/*/bin/initdb)")
    return Path(found[-1]).parent


def _free_port() -> int:
    # Only names the socket file (.s.PGSQL.<port>); still a free TCP port, so a misconfigured listen fails loud.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgCluster:
    """One running server. `new_database()` returns the URL of a fresh database of the current schema."""

    def __init__(self) -> None:
        self.bin = _server_bin()
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="nw-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.port = _free_port()
        self.template: str | None = None
        self._started = False

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_root:
            command = ["runuser", "-u", "nobody", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)

    def start(self) -> None:
        self.socket_dir.mkdir()
        if self.as_root:
            shutil.chown(self.root, "nobody")
            shutil.chown(self.socket_dir, "nobody")
            # mkdtemp makes the directory 0700; nobody must reach it through /tmp.
            os.chmod(self.root, 0o755)
        init = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        if init.returncode != 0:
            raise ClusterUnavailable(f"initdb failed: {(init.stderr or init.stdout).strip()[-300:]}")
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' -c port={self.port}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        started = self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )
        if started.returncode != 0:
            log = (
                (self.root / "log").read_text(errors="replace")[-300:] if (self.root / "log").exists() else ""
            )
            raise ClusterUnavailable(f"pg_ctl start failed: {(started.stderr or log).strip()[-300:]}")
        self._started = True

    def url(self, dbname: str = "postgres") -> str:
        return (
            f"postgresql://{SUPERUSER}@/{dbname}?host={quote(str(self.socket_dir), safe='')}&port={self.port}"
        )

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def empty_database(self) -> str:
        """A fresh database without the newswatch schema, as a URL."""
        name = "e_" + uuid.uuid4().hex[:16]
        self.admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def new_database(self) -> str:
        """A fresh database holding the current schema, copied from a template migrated once, as a URL."""
        if self.template is None:
            from store.db import open_db

            self.admin("CREATE DATABASE nw_template")
            open_db(self.url("nw_template")).close()
            self.template = "nw_template"
        name = "t_" + uuid.uuid4().hex[:16]
        self.admin(f"CREATE DATABASE {name} TEMPLATE {self.template} STRATEGY FILE_COPY")
        return self.url(name)

    def stop(self) -> None:
        if self._started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PgCluster:
    """A running cluster, or ClusterUnavailable saying why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError as error:
        raise ClusterUnavailable(f"psycopg is not installed: {error}") from None
    cluster = PgCluster()
    try:
        cluster.start()
    except (OSError, subprocess.SubprocessError, ClusterUnavailable) as error:
        cluster.stop()
        if isinstance(error, ClusterUnavailable):
            raise
        raise ClusterUnavailable(f"cannot start PostgreSQL: {error}") from None
    # Wait until the socket accepts connections (pg_ctl -w already did, but be explicit about a slow box).
    deadline = time.monotonic() + 30
    while True:
        try:
            cluster.admin("SELECT 1")
            return cluster
        except Exception as error:
            if time.monotonic() > deadline:
                cluster.stop()
                raise ClusterUnavailable(f"PostgreSQL did not accept connections: {error}") from None
            time.sleep(0.1)
