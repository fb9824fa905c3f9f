"""The reader says whether it shows an article page's full text or the feed's summary, and `f` shows the
other; page text is data, never markup or escape sequences (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from store import fulltext
from store.db import open_db, write_batch
from tests.test_tui import app_for, ready, wait_for
from tui.screens.reader import ReaderScreen

pytestmark = pytest.mark.anyio
PAGE = "Full report: [bold]not markup[/] and [@click=app.quit]no action[/] from the page. " * 6


def _text(screen: ReaderScreen, selector: str) -> str:
    return screen.query_one(selector).render().plain


async def test_reader_shows_full_text_or_summary_and_f_switches(seeds_db: Path) -> None:
    db = open_db(seeds_db)
    try:
        with write_batch(db):
            article, summary = db.execute("SELECT id, body FROM articles ORDER BY id LIMIT 1").fetchone()
            fulltext.queue_pages(db, [article])
            assert fulltext.store_page_text(db, article, PAGE, now=datetime(2024, 11, 6, tzinfo=UTC))
            other = db.execute(
                "SELECT id FROM articles WHERE id != ? ORDER BY id LIMIT 1", [article]
            ).fetchone()[0]
            fulltext.queue_pages(db, [other])
            fulltext.record_page_failure(
                db, other, "HTTP 404 Not Found", now=datetime(2024, 11, 6, tzinfo=UTC)
            )
    finally:
        db.conn.close()
    app = app_for(seeds_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        app.push_screen(ReaderScreen(article))
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        screen = app.screen
        assert _text(screen, "#reader-text-kind").startswith("Full text from the article page")
        assert "[@click=app.quit]no action[/]" in _text(screen, "#reader-body")
        await pilot.press("f")
        assert _text(screen, "#reader-text-kind").startswith("Feed summary")
        assert _text(screen, "#reader-body").split()[:5] == summary.split()[:5]
        await pilot.press("f")
        assert "Full report" in _text(screen, "#reader-body")
        assert isinstance(app.screen, ReaderScreen)  # the hostile text ran no action
        app.switch_screen(ReaderScreen(other))
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ReaderScreen)
                and app.screen.article_id == other
                and app.screen.article is not None
            ),
        )
        assert _text(app.screen, "#reader-text-kind") == (
            "Feed summary (full text not fetched yet; last try: HTTP 404 Not Found)"
        )
