"""`D` in the interface: the digest of the current filter, the same lines `newswatch digest` prints.

A real SQLite file built through the store, tagging and placement functions an ingest uses, and the real
app driven by Pilot.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.text import render_text
from tests.test_tui import add_articles, app_for, ready, seed_records, wait_for
from tui.screens.digest import DigestScreen
from tui.screens.main import MainScreen

pytestmark = pytest.mark.anyio

HOSTILE = "[@click=app.quit]North Korean troops[/] [bold]deploy[/] \\[x] <script>"


@pytest.fixture
def recent_db(tmp_path: Path) -> Path:
    """The seeds, dated within the last day (so a 24 h digest holds them), plus a hostile headline."""
    now = datetime.now(UTC).replace(microsecond=0)
    records = [
        replace(record, published=now - timedelta(hours=10 - index), date_origin="feed")
        for index, record in enumerate(seed_records())
    ]
    hostile = replace(
        records[-1],
        guid="hostile",
        title=HOSTILE,
        body="North Korean troops were seen at a fishing port far from any front. " * 3,
        published=now - timedelta(days=40),
    )
    path = tmp_path / "recent.db"
    add_articles(path, "Samples", [*records, hostile], now=now)
    return path


def screen_lines(screen: DigestScreen) -> list[str]:
    return screen.query_one("#digest-body").render().plain.split("\n")


async def test_d_shows_the_digest_of_the_current_filter(recent_db: Path) -> None:
    app = app_for(recent_db)
    async with app.run_test(size=(140, 50)) as pilot:
        main = await ready(pilot)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DigestScreen) and app.screen.digest is not None)
        screen = app.screen
        digest = screen.digest
        assert [section.topic for section in digest.sections] == ["DPRK troops", "Russia sanctions"]
        # Dated within hours of each other, the seeds' two statements are one story: listed once, under the
        # first topic, and the second topic says so.
        assert digest.story_count == 1 and digest.sections[1].listed_earlier == 1
        assert digest.sections[0].stories[0].other_topics == ["Russia sanctions"]
        # The same lines as the text digest (less its underlines), from the same data.
        text = [
            line
            for line in render_text(digest).rstrip("\n").split("\n")
            if not set(line) <= {"="} or not line
        ]
        assert screen_lines(screen) == text
        # The hostile story is 40 days old: outside the default 24 h period.
        assert not any("fishing port" in line or "click" in line for line in screen_lines(screen))
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)

        # A topic filter and a date range: that topic alone, over that period.
        main._apply(topic="Russia sanctions", since=datetime.now(UTC) - timedelta(days=60))
        await ready(pilot)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DigestScreen) and app.screen.digest is not None)
        digest = app.screen.digest
        assert [section.topic for section in digest.sections] == ["Russia sanctions"]
        [story] = digest.sections[0].stories
        assert story.other_topics == ["DPRK troops"]  # named, though not in this digest
        await pilot.press("D")
        assert isinstance(app.screen, MainScreen)

        # The search box narrows the digest too, and the screen shows feed text literally.
        main._apply(topic=None, since=datetime.now(UTC) - timedelta(days=60))
        main.query_one("#search").value = "fishing"
        await ready(pilot)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DigestScreen) and app.screen.digest is not None)
        lines = screen_lines(app.screen)
        assert app.screen.digest.filters == ["search fishing"]
        assert [story.headline for s in app.screen.digest.sections for story in s.stories] == [HOSTILE]
        assert any(HOSTILE in line for line in lines), lines
        assert app.is_running  # the [@click=app.quit] in the headline did nothing
