"""The real app under the terminal settings analysts actually have: NO_COLOR, few colours, 80 columns.

Textual reads NO_COLOR and the colour system from the environment when the app is made, so each test sets
the environment first and then drives the real app with Pilot over a real SQLite file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color
from textual.filter import Monochrome

from tests.test_tui import app_for, list_text, ready, wait_for
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.screens.reader import ReaderScreen
from tui.widgets.story_list import StoryList

pytestmark = pytest.mark.anyio


def _backgrounds(segments) -> set:
    return {segment.style.bgcolor for segment in segments if segment.text.strip() and segment.style}


async def _walk_every_screen(pilot) -> MainScreen:
    """List, an expanded story, the reader, help: every line the app draws passes the terminal's filters."""
    app = pilot.app
    screen = await ready(pilot)
    story_list = screen.query_one(StoryList)
    await pilot.press("space")
    await wait_for(pilot, lambda: story_list.expanded_story is not None)
    await pilot.press("j")
    await pilot.pause(0.1)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
    await pilot.pause(0.1)
    await pilot.press("escape")
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
    await pilot.pause(0.1)
    await pilot.press("escape")
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
    return screen


async def test_no_color_runs_and_the_cursor_stays_visible(
    seeds_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(seeds_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color
        screen = await _walk_every_screen(pilot)
        # Drawn once more after the walk: a crash in the NO_COLOR filter would end the app here.
        await pilot.pause(0.2)
        assert app.is_running and app.return_code is None
        story_list = screen.query_one(StoryList)
        assert story_list.line_count > 1 and "└" in "".join(list_text(screen))
        # Every segment of a list line carries a style (textual's monochrome filter reads it), and after that
        # filter the cursor line still stands out from the others.
        story_list.focus()
        story_list.move_cursor(0)
        cursor_line = list(story_list.render_line(0))
        other_line = list(story_list.render_line(1))
        assert all(segment.style is not None for segment in cursor_line + other_line)
        grey = Monochrome().apply
        background = Color(0, 0, 0)
        assert _backgrounds(grey(cursor_line, background)) != _backgrounds(grey(other_line, background))


async def test_sixteen_colours_keep_the_cursor_distinct(
    seeds_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.setenv("TERM", "xterm-16color")
    app = app_for(seeds_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.console.color_system == "standard"
        screen = await _walk_every_screen(pilot)
        story_list = screen.query_one(StoryList)
        story_list.focus()
        story_list.move_cursor(0)
        await pilot.pause(0.1)

        def downgraded(line: int) -> set:
            colours = _backgrounds(story_list.render_line(line))
            return {colour.downgrade(app.console._color_system) for colour in colours if colour}

        assert downgraded(0) and downgraded(0) != downgraded(1)


async def test_dumb_terminal_runs(seeds_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(seeds_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _walk_every_screen(pilot)
        await pilot.pause(0.2)
        assert app.is_running
