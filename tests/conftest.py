"""Shared fixtures: a real SQLite file per test, a real PostgreSQL database per test (where a server can be
started), the repo's paths, and a helper to run the CLI in-process."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
BUNDLED_CONFIG = REPO / "config.toml"
SHARED_EVAL = REPO.parent / "shared" / "eval"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never read or write the developer's real config or data dirs."""
    monkeypatch.delenv("NEWSWATCH_CONFIG", raising=False)
    monkeypatch.delenv("NEWSWATCH_DB", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "news.db"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    """One throwaway PostgreSQL server per test process (testkit/pgcluster.py); skips, saying why, where
    PostgreSQL cannot be started."""
    from testkit.pgcluster import ClusterUnavailable, start_cluster

    try:
        cluster = start_cluster()
    except ClusterUnavailable as error:
        pytest.skip(f"PostgreSQL unavailable: {error}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """The URL of a fresh database on the test server."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on both stores: a fresh SQLite file's path, or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "news.db")
    return request.getfixturevalue("pg_cluster").new_database()


@contextlib.contextmanager
def connect_store(target: str | Path) -> Iterator[Any]:
    """The store at `target` (file or URL) for a test's own SQL, in SQLite's dialect on either backend."""
    from store.db import open_db

    db = open_db(target)
    try:
        yield db
    finally:
        db.conn.close()


@pytest.fixture
def anyio_backend() -> str:
    """The interface tests run on asyncio, Textual's loop."""
    return "asyncio"


@pytest.fixture
def seeds_db(tmp_path: Path) -> Path:
    """A real database holding the five seeds, checked to form the two stories the interface tests expect."""
    from tests.test_tui import add_articles, check_seed_stories, seed_records

    path = tmp_path / "seeds.db"
    add_articles(path, "Samples", seed_records())
    check_seed_stories(path)
    return path


@pytest.fixture
def seeds_store(store_target: str) -> str:
    """`seeds_db` on either store: the seeds in an SQLite file or a PostgreSQL database."""
    from tests.test_tui import add_articles, check_seed_stories, seed_records

    add_articles(store_target, "Samples", seed_records())
    check_seed_stories(store_target)
    return store_target


@pytest.fixture
def seed_config(tmp_path: Path) -> Path:
    """A copy of the bundled config with its own copy of the seeds, so tests may touch files."""
    workdir = tmp_path / "project"
    workdir.mkdir()
    shutil.copytree(SEEDS, workdir / "seeds")
    config = workdir / "config.toml"
    config.write_text(BUNDLED_CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return config


class CliRun:
    def __init__(self, status: int, stdout: str, stderr: str):
        self.status = status
        self.stdout = stdout
        self.stderr = stderr

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run_cli(*argv: str) -> CliRun:
    """Run `newswatch ARGV` in this process, capturing stdout and stderr."""
    from newswatch.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as exit_:  # argparse errors and --help
            status = int(exit_.code or 0)
    return CliRun(status, out.getvalue(), err.getvalue())


def run_newswatch(*argv: str, tz: str = "UTC", env: dict[str, str] | None = None) -> CliRun:
    """Run `newswatch ARGV` as a real subprocess (its own TZ and environment)."""
    import os
    import subprocess
    import sys

    full_env = {**os.environ, "TZ": tz, **(env or {})}
    full_env.pop("NEWSWATCH_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "newswatch.cli", *argv],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli() -> Iterator[object]:
    yield run_cli


# The real local HTTP server, as a fixture for every test module.
from testkit.feedserver import feed_server  # noqa: E402, F401
