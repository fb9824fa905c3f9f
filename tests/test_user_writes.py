"""A read or star pressed while another process holds the write lock is retried, never lost, and the user
is told: that it waits, that it was saved, or that it finally failed. The real app, driven by Pilot, over a
real SQLite file locked by a real second connection."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.test_tui import STORY_A, app_for, ready, wait_for
from tui.widgets.story_list import StoryList

pytestmark = pytest.mark.anyio


def _unread(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT count(*) FROM articles WHERE story_id = ? AND read = 0", [STORY_A]
        ).fetchone()[0]


def _notices(app) -> list[tuple[str, str]]:
    return [(n.severity, n.message) for n in app._notifications]


def _hold_write_lock(db_path: Path) -> sqlite3.Connection:
    locker = sqlite3.connect(db_path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    return locker


async def test_a_read_pressed_during_a_long_write_is_saved_when_the_lock_is_free(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        assert story_list.selection().story_id == STORY_A
        locker = _hold_write_lock(seeds_db)
        try:
            await pilot.press("r")
            await wait_for(pilot, lambda: any(sev == "warning" for sev, _ in _notices(app)), timeout=15)
            assert "story marked read will be saved" in _notices(app)[-1][1]
            await pilot.pause(1.5)  # longer than one attempt: still waiting, not dropped
            assert _unread(seeds_db) == 4
        finally:
            locker.execute("COMMIT")
            locker.close()
        await wait_for(pilot, lambda: story_list.row(STORY_A).unread == 0, timeout=15)
        await app.workers.wait_for_complete()
        assert ("information", "Saved: story marked read.") in _notices(app)
    assert _unread(seeds_db) == 0


async def test_a_change_that_cannot_be_written_is_reported_not_dropped(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        app.open_connections().write_patience = 1.0
        story_list = screen.query_one(StoryList)
        locker = _hold_write_lock(seeds_db)
        try:
            await pilot.press("s")
            await wait_for(pilot, lambda: any(sev == "error" for sev, _ in _notices(app)), timeout=15)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        await app.workers.wait_for_complete()
        error = next(message for sev, message in _notices(app) if sev == "error")
        assert error.startswith("Not saved (story starred):")
        assert "locked" in error and str(seeds_db) in error
        assert not story_list.row(STORY_A).starred
