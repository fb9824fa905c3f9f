"""A database newswatch cannot use (a newer schema, not SQLite at all) gets one line and exit 1, from every
command and from the interface, and the file is left exactly as it was."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from testkit.cli import newswatch_command
from tests.conftest import BUNDLED_CONFIG, REPO


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


# --- the database deleted under the open interface ----------------------------------------------------------


@pytest.mark.anyio
async def test_the_interface_says_when_its_database_file_is_deleted(tmp_path: Path) -> None:
    from tests.test_tui import STORY_A, add_articles, app_for, ready, seed_records, wait_for

    db_path = tmp_path / "seeds.db"
    add_articles(db_path, "Samples", seed_records())
    app = app_for(db_path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)

        def errors() -> list[str]:
            return [n.message for n in app._notifications if n.severity == "error"]

        await wait_for(pilot, lambda: bool(errors()), timeout=15)
        assert errors() == [
            f"{db_path}: the database file was deleted while open; changes are not saved. Restart newswatch."
        ]
        assert screen.query_one("#status").render().plain.startswith("✗ ")
        # A change pressed now is refused with the same reason, not written where nobody will read it.
        assert screen.query_one("StoryList").selection().story_id == STORY_A
        await pilot.press("s")
        await wait_for(pilot, lambda: len(errors()) == 2, timeout=15)
        assert errors()[1].startswith("Not saved (story starred): ") and "deleted while open" in errors()[1]
        await pilot.pause(2.5)  # later polls find the same problem: said once
        assert len(errors()) == 2
    assert not db_path.exists()
