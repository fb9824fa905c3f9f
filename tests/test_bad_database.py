"""A database newswatch cannot use (a newer schema, not SQLite at all) gets one line and exit 1, from every
command and from the interface, and the file is left exactly as it was."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import BUNDLED_CONFIG, REPO

from bench._cli import newswatch_command


def _newer_schema(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    return path


def _not_sqlite(path: Path) -> Path:
    path.write_text("these are my notes, not a database\n" * 100)
    return path


@pytest.mark.parametrize("make", [_newer_schema, _not_sqlite], ids=["newer schema", "not sqlite"])
@pytest.mark.parametrize(
    "argv", [[], ["articles"], ["ingest"], ["topics"]], ids=lambda a: " ".join(a) or "tui"
)
def test_an_unusable_database_gets_one_line_and_exit_1(tmp_path: Path, make, argv: list[str]) -> None:
    db_path = make(tmp_path / "news.db")
    before = db_path.read_bytes()
    result = subprocess.run(
        newswatch_command(BUNDLED_CONFIG, db_path, *argv),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"newswatch: {db_path}: ")
    if make is _newer_schema:
        assert "schema version 99 is newer than this newswatch understands" in lines[0]
    else:
        assert "not a valid newswatch database" in lines[0]
    assert result.stdout == ""
    assert db_path.read_bytes() == before
    assert not Path(f"{db_path}-wal").exists()
