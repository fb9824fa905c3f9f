"""Dates an analyst sees are true: stand-ins marked, the seeds' real dates, stories by first report, local time.

The CLI runs as a real subprocess (its own TZ), over a real SQLite file built from the seeds or through the
store functions an ingest uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.records import DATE_FROM_FEED, DATE_FROM_MTIME, ArticleRecord
from newswatch.timefmt import format_span, format_when
from store import browsing
from store.db import open_db
from tests.test_tui import DISTINCT_EVENTS, add_articles

REPO = Path(__file__).resolve().parents[1]


def newswatch(*args: str, tz: str = "UTC", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TZ": tz}
    env.pop("NEWSWATCH_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "newswatch.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or REPO,
        timeout=120,
        check=False,
    )


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """The bundled config and seeds as a fresh clone has them: every file's time is 'now'."""
    project = tmp_path / "clone"
    shutil.copytree(REPO / "seeds", project / "seeds")
    shutil.copy(REPO / "config.toml", project / "config.toml")
    now = datetime.now(UTC).timestamp()
    for path in (project / "seeds").iterdir():
        os.utime(path, (now, now))
    return project


# --- formatting ---------------------------------------------------------------------------------------------


def test_a_stand_in_is_marked_and_a_day_is_shown_as_a_day() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert format_when("2026-12-01T10:02:00+00:00", DATE_FROM_MTIME, utc=True) == "~2026-12-01 10:02"
    assert (
        format_when("2026-12-01T10:02:00+00:00", DATE_FROM_MTIME, utc=True, now=now, short=True)
        == "~12-01 10:02"
    )
    # A date without a time (stored as midnight UTC) is a date: no "00:00", and no shift to the evening before.
    assert format_when("2024-11-05T00:00:00+00:00", DATE_FROM_FEED) == "2024-11-05"
    assert format_when("2026-11-05T00:00:00+00:00", "text", now=now, short=True) == "11-05"
    assert format_span("2024-11-05T00:00:00+00:00", "2024-11-07T00:00:00+00:00", "text", "text") == (
        "2024-11-05 → 2024-11-07"
    )
    assert (
        format_span("2024-11-05T00:00:00+00:00", "2024-11-05T00:00:00+00:00", "text", "text") == "2024-11-05"
    )


def test_times_are_local_unless_utc_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert format_when("2024-11-05T14:05:00+00:00", DATE_FROM_FEED) == "2024-11-05 23:05"
        assert format_when("2024-11-05T14:05:00+00:00", DATE_FROM_FEED, utc=True) == "2024-11-05 14:05"
    finally:
        monkeypatch.undo()
        time.tzset()


# --- the seeds, as `make run` shows them ----------------------------------------------------------------------


def test_a_fresh_clone_shows_the_seeds_with_their_true_dates(fresh_clone: Path) -> None:
    db = fresh_clone / "news.db"
    config = str(fresh_clone / "config.toml")
    ingest = newswatch("--config", config, "--db", str(db), "ingest", "--quiet")
    assert ingest.returncode == 0, ingest.stderr
    stories = newswatch("--config", config, "--db", str(db), "stories").stdout.splitlines()
    # Story B (004, 16 Dec 2024) is newer than story A (first reported 5 Nov 2024, last 7 Nov): newest first
    # means the newest story, dated by its first report, with its span.
    assert stories[0].startswith("2024-12-16  They ask Moscow"), stories
    assert stories[1].startswith("2024-11-05 → 2024-11-07  "), stories
    lines = newswatch("--config", config, "--db", str(db), "articles").stdout.splitlines()

    def date_of(fragment: str) -> str:
        [line] = [line for line in lines if fragment in line]
        return line.split("  ", 1)[0]

    assert date_of("Samples: Allies condemn") == "2024-11-06", lines  # 000
    assert date_of("Samples: They ask Moscow") == "2024-12-16", lines  # 004
    assert date_of("RTT News/dpa-AFX: The international") == "2024-11-07", lines  # 002
    assert date_of("Samples: Statement by the Foreign") == "2024-11-05", lines  # 003
    # 001 has no date at all: its file time stands in, and says so.
    assert date_of("Anadolu Agency: G7 countries").startswith("~"), lines
    alerts = newswatch("--config", config, "--db", str(db), "alerts", "--dry-run").stdout.splitlines()
    assert alerts and all(line[:10] in {"2024-11-05", "2024-12-16"} for line in alerts), alerts


def test_the_cli_respects_tz_and_utc(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    add_articles(db, "Wire", [_record("w", 0, datetime(2024, 11, 5, 14, 5, tzinfo=UTC))])
    local = newswatch("--db", str(db), "articles", tz="America/New_York").stdout
    assert local.startswith("2024-11-05 09:05  "), local
    utc = newswatch("--db", str(db), "--utc", "articles", tz="America/New_York").stdout
    assert utc.startswith("2024-11-05 14:05  "), utc


# --- stories are dated by their first report ----------------------------------------------------------------


def _record(guid: str, event: int, when: datetime, *, origin: str = DATE_FROM_FEED) -> ArticleRecord:
    title, outlet, body = DISTINCT_EVENTS[event]
    return ArticleRecord(
        guid=guid,
        title=title,
        body=body,
        outlet=outlet,
        url=f"https://example.org/{guid}",
        published=when,
        date_origin=origin,
    )


def test_newest_first_means_newest_story_not_latest_copy(tmp_path: Path) -> None:
    db_path = tmp_path / "news.db"
    old_first = datetime(2024, 12, 1, 9, tzinfo=UTC)
    # Story X was first reported on 1 Dec and copied again on 3 Dec; story Y was first reported on 2 Dec.
    add_articles(db_path, "A", [_record("x1", 0, old_first), _record("y1", 1, old_first + timedelta(days=1))])
    add_articles(db_path, "B", [_record("x2", 0, old_first + timedelta(days=2))])
    db = open_db(db_path)
    try:
        ids = browsing.story_ids(db, browsing.StoryQuery())
        rows = browsing.stories_by_ids(db, ids)
    finally:
        db.conn.close()
    titles = [rows[i].title for i in ids]
    assert titles == [DISTINCT_EVENTS[1][0], DISTINCT_EVENTS[0][0]]
    x = rows[ids[1]]
    assert (x.first_seen[:10], x.last_seen[:10]) == ("2024-12-01", "2024-12-03")
    cli = newswatch("--db", str(db_path), "stories").stdout.splitlines()
    assert cli[0].startswith("2024-12-02 09:00  "), cli
    assert "2024-12-01 09:00 → " in cli[1], cli


def test_a_stand_in_date_does_not_make_an_old_story_new(tmp_path: Path) -> None:
    db_path = tmp_path / "news.db"
    dated = datetime(2024, 11, 5, 10, tzinfo=UTC)
    add_articles(db_path, "A", [_record("a", 0, dated)])
    # The same event again from a file with no date, ingested a month later: its stand-in date is not a report.
    add_articles(db_path, "B", [_record("b", 0, dated + timedelta(days=30), origin=DATE_FROM_MTIME)])
    db = open_db(db_path)
    try:
        [story_id] = browsing.story_ids(db, browsing.StoryQuery())
        row = browsing.stories_by_ids(db, [story_id])[story_id]
    finally:
        db.conn.close()
    assert row.first_seen == row.last_seen == "2024-11-05T10:00:00+00:00"
    assert row.first_origin == DATE_FROM_FEED


def test_the_sparkline_counts_stories_on_their_own_day(tmp_path: Path) -> None:
    db_path = tmp_path / "news.db"
    today = datetime(2024, 12, 20, 12, tzinfo=UTC)
    story_day = today - timedelta(days=3)
    # One DPRK story first reported three days ago, copied by three outlets today: one story, on its day.
    text = "North Korean troops deployed to Russia, the ministry said on Monday, citing intelligence reports."
    records = [
        ArticleRecord(
            guid=f"k{i}",
            title="DPRK troops in Kursk",
            body=text,
            outlet=f"Outlet {i}",
            url=f"https://example.org/k{i}",
            published=story_day + timedelta(days=3 if i else 0),
        )
        for i in range(4)
    ]
    add_articles(db_path, "Wire", records)
    db = open_db(db_path)
    try:
        summaries = {s.name: s for s in browsing.topic_summaries(db, today=today, days=14, utc=True)}
    finally:
        db.conn.close()
    daily = summaries["DPRK troops"].daily
    assert sum(daily) == 1
    assert daily[-4] == 1 and daily[-1] == 0


# --- the interface ------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_list_and_the_reader_mark_a_stand_in_date(tmp_path: Path) -> None:
    from tests.test_tui import STORY_B, app_for, check_seed_stories, list_text, ready, seed_records, wait_for
    from tui.screens.reader import ReaderScreen
    from tui.widgets.story_list import StoryList

    db_path = tmp_path / "seeds.db"
    add_articles(db_path, "Samples", seed_records())
    check_seed_stories(db_path)
    app = app_for(db_path)
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        lines = list_text(screen)
        # Story A's first report is 003's date line (5 Nov 2024); story B (004, pinned here) has only a stand-in.
        index_b = story_list._ids.index(STORY_B)
        assert lines[index_b].lstrip("● ").startswith("~2024-11-04"), lines
        assert lines[1 - index_b].lstrip("● ").startswith("2024-11-05"), lines
        story_list.move_cursor(index_b)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        meta = app.screen.query_one("#reader-meta").render().plain
        assert "~2024-11-04 16:00" in meta and "modification time stands in" in meta, meta


@pytest.mark.anyio
async def test_a_wide_list_shows_a_storys_span_and_a_narrow_one_keeps_the_headline(tmp_path: Path) -> None:
    from tests.test_tui import STORY_B, app_for, list_text, ready, seed_records
    from tui.widgets.story_list import StoryList

    db_path = tmp_path / "seeds.db"
    add_articles(db_path, "Samples", seed_records())
    db = open_db(db_path)
    try:
        first, last = db.execute(
            "SELECT first_seen, last_seen FROM stories WHERE id != ? AND size > 1", [STORY_B]
        ).fetchone()
    finally:
        db.conn.close()
    assert first[:10] < last[:10]  # story A's reports span days
    for width, shown in ((140, True), (90, False)):
        app = app_for(db_path)
        async with app.run_test(size=(width, 30)) as pilot:
            screen = await ready(pilot)
            story_list = screen.query_one(StoryList)
            line = list_text(screen)[1 - story_list._ids.index(STORY_B)]
            assert (f"→ {last[:10]}" in line) is shown, (width, line)
            assert line.lstrip("● ").startswith(first[:10]), line
