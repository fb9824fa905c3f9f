"""Read state and triage: reading any member reads the story, mark all read, next unread, and the CLI's
read / star / --unread / --starred. The real app with Pilot and the CLI as a real subprocess, over real files.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_newswatch
from tests.test_tui import (
    STORY_A,
    STORY_B,
    add_articles,
    app_for,
    distinct_records,
    ready,
    wait_for,
)
from tui.screens.reader import ReaderScreen
from tui.widgets.story_list import StoryList

pytestmark = pytest.mark.anyio


def _read_flags(db: Path) -> dict[int, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, read FROM articles").fetchall())


@pytest.mark.parametrize("mark_story_read", [True, False])
async def test_reading_any_member_marks_the_story_read(seeds_db: Path, mark_story_read: bool) -> None:
    app = app_for(seeds_db)
    app.config.mark_story_read = mark_story_read
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        story_list.select_story(STORY_A)
        await pilot.press("space")
        await wait_for(pilot, lambda: story_list.expanded_story == STORY_A)
        await pilot.press("down", "down")  # past the lead (000) to seed 001, not the lead
        member = story_list.selection().article_id
        assert member == 2
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        await app.workers.wait_for_complete()
    flags = _read_flags(seeds_db)
    story_a = [1, 2, 3, 4]
    if mark_story_read:
        assert all(flags[i] for i in story_a) and not flags[5]
    else:
        assert [i for i in story_a if flags[i]] == [member]


async def test_next_unread_and_mark_all_read(tmp_path: Path) -> None:
    db_path = tmp_path / "events.db"
    add_articles(db_path, "Events", distinct_records(3))
    app = app_for(db_path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        ids = list(story_list._ids)
        assert len(ids) == 3
        # The middle story is read: `n` from the first goes to the third.
        with sqlite3.connect(db_path) as conn:
            conn.execute("UPDATE articles SET read = 1 WHERE story_id = ?", [ids[1]])
        await pilot.press("n")
        await wait_for(pilot, lambda: story_list.selection().story_id == ids[2])
        await pilot.press("n")  # nothing unread below: the cursor stays, and the app says so
        await pilot.pause(0.2)
        assert story_list.selection().story_id == ids[2]
        # Mark all read over a filtered view marks only that view.
        await pilot.press("slash", *"ferry", "enter")
        await ready(pilot)
        assert story_list._ids == [ids[0]]
        await pilot.press("A")
        await wait_for(pilot, lambda: _read_flags(db_path)[1] == 1)
        await pilot.press("escape", "escape")
        await ready(pilot)
        assert not _read_flags(db_path)[3]
        await pilot.press("A")
        await wait_for(pilot, lambda: all(_read_flags(db_path).values()))
        await wait_for(pilot, lambda: all(story_list.row(i) and story_list.row(i).unread == 0 for i in ids))


async def test_mark_all_read_inside_a_story_marks_that_story(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        story_list.select_story(STORY_A)
        await pilot.press("space")
        await wait_for(pilot, lambda: story_list.expanded_story == STORY_A)
        await pilot.press("down", "A")
        await wait_for(pilot, lambda: _read_flags(seeds_db)[1] == 1)
        await app.workers.wait_for_complete()
    flags = _read_flags(seeds_db)
    assert all(flags[i] for i in (1, 2, 3, 4)) and not flags[5]


def test_cli_read_star_and_filters(seeds_db: Path) -> None:
    base = ("--db", str(seeds_db))
    assert run_newswatch(*base, "read", "2", "3").status == 0
    unread = {row["id"] for row in run_newswatch(*base, "articles", "--unread", "--json").json_lines()}
    assert unread == {1, 4, 5}
    assert run_newswatch(*base, "star", "5").status == 0
    assert [row["id"] for row in run_newswatch(*base, "articles", "--starred", "--json").json_lines()] == [5]
    assert [row["id"] for row in run_newswatch(*base, "stories", "--starred", "--json").json_lines()] == [
        STORY_B
    ]
    assert run_newswatch(*base, "read", "--story", str(STORY_A)).status == 0
    assert [row["id"] for row in run_newswatch(*base, "stories", "--unread", "--json").json_lines()] == [
        STORY_B
    ]
    assert run_newswatch(*base, "read", "--undo", "1").status == 0
    assert {row["id"] for row in run_newswatch(*base, "articles", "--unread", "--json").json_lines()} == {
        1,
        5,
    }
    missing = run_newswatch(*base, "read", "99")
    assert missing.status == 2 and "no article with id 99" in missing.stderr
