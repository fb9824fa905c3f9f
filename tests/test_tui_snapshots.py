"""A few pictures of the main screens (pytest-textual-snapshot); behaviour is tested in test_tui.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_tui import STORY_A, add_articles, app_for, check_seed_stories, ready, seed_records

SIZE = (140, 36)


@pytest.fixture
def snapshot_db(tmp_path: Path) -> Path:
    """The five seeds, grouped as an ingest groups them: story A (000-003, 003 a copy) and story B (004)."""
    path = tmp_path / "seeds.db"
    add_articles(path, "Samples", seed_records())
    check_seed_stories(path)
    return path


def test_main_screen(snap_compare, snapshot_db: Path) -> None:
    async def loaded(pilot) -> None:
        await ready(pilot)
        await pilot.pause(0.3)

    assert snap_compare(app_for(snapshot_db), terminal_size=SIZE, run_before=loaded)


def test_expanded_story(snap_compare, snapshot_db: Path) -> None:
    async def expand(pilot) -> None:
        screen = await ready(pilot)
        from tui.widgets.story_list import StoryList

        story_list = screen.query_one(StoryList)
        story_list.move_cursor(story_list._ids.index(STORY_A))
        await pilot.press("space")
        await pilot.pause(0.3)

    assert snap_compare(app_for(snapshot_db), terminal_size=SIZE, run_before=expand)


def test_reader(snap_compare, snapshot_db: Path) -> None:
    async def open_lead(pilot) -> None:
        screen = await ready(pilot)
        from tui.widgets.story_list import StoryList

        story_list = screen.query_one(StoryList)
        story_list.move_cursor(story_list._ids.index(STORY_A))
        await pilot.press("enter")
        await pilot.pause(0.5)

    assert snap_compare(app_for(snapshot_db), terminal_size=SIZE, run_before=open_lead)


def test_first_run(snap_compare, tmp_path: Path) -> None:
    async def settle(pilot) -> None:
        await pilot.pause(0.5)

    app = app_for(tmp_path / "empty.db")
    # The config path is machine-specific: show a fixed one.
    app.config.path = Path("/home/analyst/.config/newswatch/config.toml")
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_help(snap_compare, snapshot_db: Path) -> None:
    async def help_screen(pilot) -> None:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(app_for(snapshot_db), terminal_size=(140, 60), run_before=help_screen)
