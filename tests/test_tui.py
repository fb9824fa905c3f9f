"""The interactive interface, driven with Textual's Pilot over real SQLite files (and, for the tests that take
`seeds_store`, real PostgreSQL databases too).

The databases are built through the same store, tagging and story-grouping functions an ingest uses,
with a fixed clock, so the screens are deterministic. The five seeds form two stories: A = seeds
000-003 (story id 1, lead 000, 000 a copy of 003, three outlets) and B = seed 004 alone (story id 5,
the only one about sanctions). Tests that need more separate stories add `distinct_records`: unrelated
events weeks apart, which no grouping joins.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.files import read_path
from feeds.records import DATE_FROM_MTIME, DATE_FROM_TEXT, ArticleRecord
from newswatch.config import Config, load_config
from newswatch.placement import place_pending
from newswatch.session import Session
from store.articles import get_article, upsert_articles
from store.db import open_db, write_batch
from store.grouping_state import store_features
from store.sources import SourceSpec, add_source
from stories.features import extract_features
from topics.tagging import compile_topics, sync_and_retag
from tui.app import NewswatchApp, bindings_for
from tui.screens.main import MainScreen
from tui.screens.reader import ReaderScreen
from tui.widgets.story_list import Selection, StoryList

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[1]
FIXED_NOW = datetime(2024, 12, 20, 12, 0, tzinfo=UTC)
HOSTILE_TITLES = [
    "[bold red]x[/]",
    "[@click=app.quit]y[/]",
    "Breaking [/news] \x1b[2J\x1b]0;pwned\x07 after \u202eevil",
]
# The seeds' two stories (see the module docstring).
STORY_A, STORY_B = 1, 5
SEEDS_PINNED = datetime(2024, 11, 4, 12, tzinfo=UTC)
# Unrelated events: (title, outlet, body). No two share a subject, so each is its own story.
DISTINCT_EVENTS = [
    (
        "Harbour ferry terminal reopens after winter repairs",
        "Harbour Gazette",
        "The ferry terminal at the north harbour reopened on Monday after six weeks of repairs to its "
        "pontoons and ticket hall. Commuters queued for the first crossing of the morning, and the port "
        "authority said timetables would return to normal by the weekend.",
    ),
    (
        "Library extends opening hours for exam season",
        "Campus Weekly",
        "The university library will stay open until midnight throughout the exam period, the librarian "
        "announced. Extra study desks, printers and laptop chargers have been installed on the third floor, "
        "and students can reserve seminar rooms online.",
    ),
    (
        "Orchard growers report a record apple harvest",
        "Farm Journal",
        "Orchard growers in the valley picked more apples this autumn than in any year on record. Mild "
        "spring weather and few late frosts helped the blossom set, cooperatives said, though cider presses "
        "struggled to keep pace with deliveries.",
    ),
]


def bundled_config() -> Config:
    return load_config(REPO / "config.toml")


def add_articles(
    db_path: Path, source: str, records: list[ArticleRecord], *, now: datetime = FIXED_NOW
) -> list[int]:
    """Store records as an ingest would: upsert with story features, tag with the bundled topics, then
    place the pending articles in stories."""
    config = bundled_config()
    topics = compile_topics([(t.name, t.query, t.alert) for t in config.topics], config.terms)
    db = open_db(db_path)
    try:
        with write_batch(db):
            row = db.execute("SELECT id FROM sources WHERE name = ?", [source]).fetchone()
            source_id = (
                row[0]
                if row
                else add_source(db, SourceSpec(source, "path", f"/nonexistent/{source}"), now=now)
            )
            sync_and_retag(db, topics, now=now)
            result = upsert_articles(db, source_id, records, now=now)
            from topics.tagging import tag_articles

            tag_articles(db, topics, result.new_ids)
            texts = {i: (t, b) for i, t, b in db.execute("SELECT id, title, body FROM articles").fetchall()}
            store_features(db, [(i, extract_features(*texts[i]).to_bytes()) for i in result.new_ids])
        place_pending(db)
        return result.new_ids
    finally:
        db.conn.close()


def seed_records() -> list[ArticleRecord]:
    records: list[ArticleRecord] = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        records.extend(read_path(path, default_outlet="Samples").records)
    for index, record in enumerate(records):
        # Seeds without a date line (000, 001, 004) are pinned, in file order, so screens are the same every
        # run (001 would take the ingest time), and before the statement's own date (5 Nov 2024): stories are
        # placed in time order, and the tests below are written for 000 being the first report (003, the
        # statement, is its copy). The seeds' true dates are tested in test_files.py and test_cli_ingest.py.
        # Pinned dates are stand-ins, and marked as such.
        if record.published is None or record.date_origin != DATE_FROM_TEXT:
            record.published = SEEDS_PINNED + timedelta(hours=index)
            record.date_origin = DATE_FROM_MTIME
    return records


def distinct_records(
    count: int, *, newest: datetime = FIXED_NOW, apart: timedelta = timedelta(days=20), prefix: str = "event"
) -> list[ArticleRecord]:
    """`count` unrelated events with feed dates `apart` from each other, newest first."""
    return [
        ArticleRecord(
            guid=f"{prefix}{index}",
            title=title,
            body=body,
            outlet=outlet,
            url=f"https://example.org/{prefix}/{index}",
            published=newest - apart * index,
        )
        for index, (title, outlet, body) in enumerate(DISTINCT_EVENTS[:count])
    ]


def check_seed_stories(db_path: Path) -> None:
    """The tests below are written for the seeds' two stories; say so plainly if grouping changed them."""
    db = open_db(db_path)
    try:
        placed = db.execute("SELECT id, story_id, duplicate_of FROM articles ORDER BY id").fetchall()
    finally:
        db.conn.close()
    expected = [(1, 1, 4), (2, 1, None), (3, 1, None), (4, 1, None), (5, 5, None)]
    assert placed == expected, (
        "the seeds should form two stories, A = 000-003 (000 a copy of 003) and B = 004 alone "
        f"(as tests/test_story_ingest.py::test_seeds_form_two_stories requires); got {placed}"
    )


def app_for(db_path: Path) -> NewswatchApp:
    return NewswatchApp(Session(bundled_config(), db_path))


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


async def ready(pilot) -> MainScreen:
    app = pilot.app

    def loaded() -> bool:
        screen = app.screen
        return (
            isinstance(screen, MainScreen)
            and screen.shown_complete
            and screen.shown_generation == screen.generation
            and screen.query_one(StoryList).visible_rows_loaded()
        )

    await wait_for(pilot, loaded)
    return app.screen  # type: ignore[return-value]


def list_text(screen: MainScreen) -> list[str]:
    story_list = screen.query_one(StoryList)
    return [story_list.render_line(y).text for y in range(min(story_list.line_count, story_list.size.height))]


# --- navigation -------------------------------------------------------------------------------------------


async def test_arrows_and_vim_keys_move_the_cursor_and_enter_opens_the_reader(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        assert story_list._ids == [STORY_A, STORY_B]
        await pilot.press("j")
        assert story_list.cursor == 1 and story_list.selection() == Selection(STORY_B, None)
        await pilot.press("k")
        assert story_list.cursor == 0 and story_list.selection() == Selection(STORY_A, None)
        # Opened, story A's four articles are lines of their own that the same keys move through.
        await pilot.press("space")
        await wait_for(pilot, lambda: story_list.expanded_story == STORY_A)
        assert story_list.line_count == 6
        await pilot.press("down", "j")
        assert story_list.cursor == 2 and story_list.selection().story_id == STORY_A
        assert story_list.selection().article_id is not None
        await pilot.press("k")
        assert story_list.cursor == 1
        await pilot.press("G")
        assert story_list.cursor == 5 and story_list.selection() == Selection(STORY_B, None)
        await pilot.press("g")
        assert story_list.cursor == 0
        first = story_list.row(story_list.selection().story_id)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        assert app.screen.article["id"] == first.lead_article_id
        assert app.screen.article["title"] in app.screen.query_one("#reader-headline").render().plain
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_mouse_click_selects_and_double_click_opens(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        await pilot.click(StoryList, offset=(40, 1))
        assert story_list.cursor == 1 and story_list.selection() == Selection(STORY_B, None)
        # A click on the left edge (mark, time, arrow) opens a story of several articles.
        await pilot.click(StoryList, offset=(4, 0))
        await wait_for(pilot, lambda: story_list.expanded_story == STORY_A)
        await pilot.click(StoryList, offset=(40, 2))
        assert story_list.cursor == 2
        member = story_list.selection()
        assert member.story_id == STORY_A and member.article_id is not None
        await pilot.click(StoryList, offset=(40, 2), times=2)
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        assert app.screen.article["id"] == member.article_id


# --- search -----------------------------------------------------------------------------------------------


async def test_search_updates_the_list_and_count_and_a_bad_query_gets_one_line(seeds_store: str) -> None:
    seeds_db = seeds_store  # on SQLite and on PostgreSQL
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash")
        await pilot.press(*"sanction*")
        await ready(pilot)
        story_list = screen.query_one(StoryList)
        # Only seed 004 mentions sanctions: the list narrows to its story.
        assert story_list._ids == [STORY_B]
        assert "1 story match" in screen.query_one("#search-status").render().plain
        assert "They ask Moscow to cease" in list_text(screen)[0]
        # A bad query keeps the last good results and says what is wrong, on one line.
        await pilot.press("space", "left_parenthesis")
        status = screen.query_one("#search-status").render().plain
        assert status.startswith("✗") and "\n" not in status
        assert story_list.story_count == 1
        await pilot.press("backspace")
        await ready(pilot)
        await pilot.press("escape")  # back to the list, query kept
        assert story_list.has_focus
        await pilot.press("escape")  # clears the search
        await ready(pilot)
        assert story_list._ids == [STORY_A, STORY_B]


async def test_reader_highlights_topic_terms_and_search_terms(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash", *"Moscow", "enter")
        await ready(pilot)
        # Story B (seed 004) says Moscow in its own text.
        screen.query_one(StoryList).move_cursor(screen.query_one(StoryList)._ids.index(STORY_B))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        body = app.screen.query_one("#reader-body").render()
        styled = {body.plain[span.start : span.end] for span in body.spans}
        assert "Moscow" in styled
        topics = app.screen.query_one("#reader-topics").render().plain
        assert "DPRK troops" in topics and "matched:" in topics
        del screen


# --- filters ----------------------------------------------------------------------------------------------


async def test_topic_source_unread_and_starred_filters(seeds_store: str) -> None:
    seeds_db = seeds_store  # on SQLite and on PostgreSQL
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        from tui.messages import FilterPicked

        screen.post_message(FilterPicked("topic", "Russia sanctions"))
        await pilot.pause()
        await ready(pilot)
        assert story_list._ids == [STORY_B]
        screen.post_message(FilterPicked("topic", "DPRK troops"))
        await pilot.pause()
        await ready(pilot)
        assert story_list._ids == [STORY_A, STORY_B]
        screen.post_message(FilterPicked("topic", None))
        await pilot.pause()
        await ready(pilot)
        assert story_list.story_count == 2
        screen.post_message(FilterPicked("source", "Samples"))
        await pilot.pause()
        await ready(pilot)
        assert story_list.story_count == 2
        # Star the first story, then show starred only.
        assert story_list.selection() == Selection(STORY_A, None)
        await pilot.press("s")
        await wait_for(pilot, lambda: story_list.row(STORY_A).starred)
        await pilot.press("asterisk")
        await ready(pilot)
        assert story_list._ids == [STORY_A]
        await pilot.press("asterisk")
        await ready(pilot)
        # Read the first story (all four of its articles), then unread only shows the other one.
        assert story_list.selection() == Selection(STORY_A, None)
        await pilot.press("r")
        await wait_for(pilot, lambda: story_list.row(STORY_A).unread == 0)
        await pilot.press("u")
        await ready(pilot)
        assert story_list._ids == [STORY_B]
        await pilot.press("x")
        await ready(pilot)
        assert story_list.story_count == 2 and not screen.story_query.is_filtered


async def test_filter_dialog_sets_a_date_range(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        # A story's time is its newest article's: A's is 000 (12:00), B's is 004 (08:00 the same day).
        last_seen = {story_id: story_list.row(story_id).last_seen for story_id in story_list._ids}
        assert last_seen[STORY_A] > last_seen[STORY_B]
        await pilot.press("f")
        await pilot.pause()
        app.screen.query_one("#filter-since").value = last_seen[STORY_A][:19]
        await pilot.click("#filter-apply")
        await pilot.pause()
        await ready(pilot)
        assert story_list._ids == [STORY_A]
        assert "now" in screen.query_one("#status").render().plain


# --- read and star ----------------------------------------------------------------------------------------


async def test_read_and_star_write_through_to_the_database(seeds_store: str) -> None:
    seeds_db = seeds_store  # on SQLite and on PostgreSQL
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        row = story_list.row(story_list.selection().story_id)
        assert row.id == STORY_A and row.size == 4 and row.unread == 4
        await pilot.press("r")
        await wait_for(pilot, lambda: story_list.row(row.id).unread == 0)
        read = open_db(seeds_db)
        assert (
            read.execute(
                "SELECT count(*) FROM articles WHERE story_id = ? AND read = 1", [row.id]
            ).fetchone()[0]
            == 4
        )
        read.conn.close()
        await pilot.press("r")
        await wait_for(pilot, lambda: story_list.row(row.id).unread == 4)
        await pilot.press("s")
        await wait_for(pilot, lambda: story_list.row(row.id).starred)
        await app.workers.wait_for_complete()
    db = open_db(seeds_db)
    # A story is starred through its lead; read/unread went to every article of the story.
    article = get_article(db, row.lead_article_id)
    assert article["starred"] == 1 and article["read"] == 0
    members = db.execute("SELECT id, read, starred FROM articles WHERE story_id = ?", [row.id]).fetchall()
    assert len(members) == 4 and all(read == 0 for _id, read, _starred in members)
    assert [i for i, _read, starred in members if starred] == [row.lead_article_id]


async def test_a_member_marked_read_or_starred_keeps_the_cursor(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        await pilot.press("space")
        await wait_for(pilot, lambda: story_list.expanded_story == STORY_A)
        await pilot.press("down", "down", "down", "down")  # lead (000), 001, 003, then 002
        selected = story_list.selection()
        assert selected == Selection(STORY_A, 3)

        def member(article_id: int) -> dict:
            return next(m for m in story_list._members if m["id"] == article_id)

        await pilot.press("r")
        await wait_for(pilot, lambda: member(3)["read"] == 1)
        assert story_list.selection() == selected and story_list.row(STORY_A).unread == 3
        await pilot.press("s")
        await wait_for(pilot, lambda: member(3)["starred"] == 1)
        assert story_list.selection() == selected
        # A copy arriving from an ingest reloads the open story; the cursor stays on its article.
        copy = seed_records()[0]
        copy.guid, copy.outlet = "mirror-000", "Mirror Outlet"
        await asyncio.to_thread(add_articles, seeds_db, "Samples", [copy])
        await wait_for(pilot, lambda: len(story_list._members) == 5, timeout=8)
        assert story_list.selection() == selected
        await app.workers.wait_for_complete()
    db = open_db(seeds_db)
    assert db.execute("SELECT id FROM articles WHERE read = 1 OR starred = 1").fetchall() == [(3,)]


async def test_opening_the_lead_marks_the_whole_story_read(seeds_store: str) -> None:
    seeds_db = seeds_store  # on SQLite and on PostgreSQL
    story_id = STORY_A
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        assert story_list.row(story_id).size == 4 and story_list.row(story_id).unread == 4
        line = story_list._ids.index(story_id)
        story_list.move_cursor(line)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        assert app.screen.article["id"] == story_list.row(story_id).lead_article_id
        await pilot.press("escape")
        await wait_for(pilot, lambda: (story_list.row(story_id) or row_placeholder).unread == 0)
        assert story_list.row(STORY_B).unread == 1


class _Unknown:
    """A row not (re)loaded yet."""

    unread = -1
    size = -1


row_placeholder = _Unknown()


# --- stories ----------------------------------------------------------------------------------------------


async def test_a_story_expands_to_its_articles_with_copies_marked(seeds_store: str) -> None:
    seeds_db = seeds_store  # on SQLite and on PostgreSQL
    story_id = STORY_A
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        assert story_list.story_count == 2
        story_list.move_cursor(story_list._ids.index(story_id))
        row = story_list.row(story_id)
        assert row.size == 4 and row.outlets == 3 and row.lead_article_id == 1
        assert "▸" in list_text(screen)[0] and "▸" not in list_text(screen)[1]  # B has one article
        await pilot.press("space")
        await wait_for(pilot, lambda: story_list.expanded_story == story_id)
        assert story_list.line_count == 6
        lines = list_text(screen)
        assert "▾" in lines[0]
        members = lines[1:5]
        assert all("└" in line for line in members) and "└" not in lines[5]
        # The lead (seed 000, the fullest text) comes first. It reprints the statement (003): the statement
        # has a real date (5 Nov) and 000 only a stand-in here, so 000 is the copy, whatever the store order.
        assert "lead copy" in members[0] and "Allies condemn the DPRK" in members[0]
        copies = [line for line in members if line.rstrip().endswith("copy")]
        assert copies == [members[0]]
        assert "Anadolu Agency" in lines[2] and "RTT News/dpa-AFX" in lines[4]  # members in time order
        # Enter on a member opens that article, and the reader lists the other outlets one key away.
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        reader = app.screen
        assert reader.article["id"] == row.lead_article_id
        assert len(reader.others) == 3
        also = reader.query_one("#reader-also").render().plain
        assert "[1]" in also and "[3]" in also and reader.article["duplicate_of"] == 4
        opened = reader.article["id"]
        await pilot.press("2")  # the statement (seed 003) the lead is a copy of; the others in time order
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ReaderScreen)
                and app.screen.article
                and app.screen.article["id"] != opened
            ),
        )
        assert app.screen.article["id"] == 4 and reader.article["duplicate_of"] == 4
        await pilot.press("escape")
        await pilot.press("h")
        assert story_list.expanded_story is None


async def test_sort_by_most_outlets(seeds_db: Path) -> None:
    # A newer one-outlet story goes on top of the newest-first list; story A has three outlets.
    (newer,) = add_articles(seeds_db, "Samples", distinct_records(1))
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        assert story_list._ids == [newer, STORY_A, STORY_B]
        await pilot.press("t")
        await ready(pilot)
        assert story_list._ids == [STORY_A, newer, STORY_B]
        assert [story_list.row(i).outlets for i in story_list._ids] == [3, 1, 1]
        assert "most outlets first" in screen.query_one("#status").render().plain


# --- first run, safety, live updates -------------------------------------------------------------------


async def test_an_empty_database_shows_the_first_run_screen(tmp_path: Path) -> None:
    app = app_for(tmp_path / "empty.db")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.query_one("#first-run").display
        )
        text = app.screen.query_one("#first-run").render().plain
        assert "newswatch ingest" in text and "sources add" in text and "press R" in text
        assert not app.screen.query_one(StoryList).display


async def test_hostile_titles_and_bodies_are_shown_literally(tmp_path: Path) -> None:
    path = tmp_path / "hostile.db"
    # Three unrelated events weeks apart, so each hostile title is a story line of its own.
    records = distinct_records(3, prefix="h")
    for record, title in zip(records, HOSTILE_TITLES, strict=True):
        record.title = title
        record.body += " [link=https://evil.example]click[/link] \x1b]52;c;cHduZWQ=\x07 end"
        record.url = "javascript:alert(1)"
        record.outlet = "[i]Outlet[/i]"
    add_articles(path, "Hostile [b]source[/b]", records)
    app = app_for(path)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        assert story_list.story_count == 3
        sources = screen.query_one("#sources")
        # The sidebar fills in its own worker: wait until the source's line is there (not an error before).
        await wait_for(
            pilot,
            lambda: (
                sources.option_count > 1
                and "Hostile [b]source[/b]" in sources.get_option_at_index(1).prompt.plain
            ),
        )
        lines = "\n".join(list_text(screen))
        assert "[bold red]x[/]" in lines
        assert "[@click=app.quit]y[/]" in lines
        assert "Breaking [/news]" in lines
        assert "\x1b" not in lines and "\u202e" not in lines
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        reader = app.screen
        assert reader.query_one("#reader-headline").render().plain == "[@click=app.quit]y[/]"
        body = reader.query_one("#reader-body").render().plain
        assert "[link=https://evil.example]click[/link]" in body and "\x1b" not in body
        assert "[i]Outlet[/i]" in reader.query_one("#reader-meta").render().plain
        # Clicking the would-be action link does nothing; `o` refuses a javascript: URL.
        await pilot.click("#reader-headline")
        await pilot.press("o")
        await wait_for(pilot, lambda: any("no http(s) link" in str(n.message) for n in app._notifications))
        assert app.is_running


async def test_new_articles_appear_without_losing_the_selection(seeds_store: str) -> None:
    seeds_db = seeds_store  # on SQLite and on PostgreSQL
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        await pilot.press("down")
        selected = story_list.selection()
        assert selected == Selection(STORY_B, None)
        screen_row = story_list.cursor - int(story_list.scroll_offset.y)
        # A new event: a story of its own, the newest.
        (new,) = distinct_records(1, prefix="late")
        await asyncio.to_thread(add_articles, seeds_db, "Samples", [new])
        await wait_for(pilot, lambda: story_list.story_count == 3, timeout=8)
        assert story_list.selection() == selected
        # The list fits on screen, so the new story at the top pushes the selection down one row.
        assert story_list.cursor - int(story_list.scroll_offset.y) == screen_row + 1
        await ready(pilot)
        assert new.title in list_text(screen)[0]
        # Another outlet's copy of seed 000 joins story A: no new line, the story grows, nothing moves.
        copy = seed_records()[0]
        copy.guid, copy.outlet = "mirror-000", "Mirror Outlet"
        await asyncio.to_thread(add_articles, seeds_db, "Samples", [copy])
        await wait_for(pilot, lambda: (story_list.row(STORY_A) or row_placeholder).size == 5, timeout=8)
        await ready(pilot)
        assert story_list.story_count == 3 and story_list.selection() == selected
        assert story_list.cursor - int(story_list.scroll_offset.y) == screen_row + 1
        assert story_list.row(STORY_A).outlets == 4


async def test_a_scrolled_list_keeps_its_place_when_stories_arrive(tmp_path: Path) -> None:
    from testkit.synth_db import build

    path = tmp_path / "synth.db"
    build(path, articles=1500, seed=3, sources=20)
    app = app_for(path)
    async with app.run_test(size=(140, 30)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        await pilot.press("pagedown", "pagedown", "down")
        await ready(pilot)
        selected = story_list.selection()
        top = int(story_list.scroll_offset.y)
        screen_row = story_list.cursor - top
        assert top > 0
        before = story_list.story_count
        # Three unrelated events at once: three new stories above the selection.
        new = distinct_records(3, newest=datetime.now(UTC), apart=timedelta(minutes=1), prefix="late")
        await asyncio.to_thread(add_articles, path, "Outlet 001", new)
        await wait_for(pilot, lambda: story_list.story_count == before + 3, timeout=8)
        assert story_list.selection() == selected
        assert story_list.cursor - int(story_list.scroll_offset.y) == screen_row
        assert int(story_list.scroll_offset.y) == top + 3


async def test_help_lists_every_binding_and_the_palette_offers_every_action(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await ready(pilot)
        commands = {command.title for command in app.get_system_commands(screen)}
        for _owner, binding in bindings_for(screen):
            if not binding.action.startswith("app.focus"):
                assert binding.description in commands
        await pilot.press("question_mark")
        await pilot.pause()
        text = app.screen.query_one("#help Static").render().plain
        for binding in [*MainScreen.BINDINGS, *StoryList.BINDINGS, *ReaderScreen.BINDINGS[:4]]:
            if binding.description and not binding.action.startswith("app.focus"):
                if binding in ReaderScreen.BINDINGS:
                    continue
                assert binding.description in text, binding.description
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_fetch_now_runs_an_ingest_in_a_worker(seed_config: Path, tmp_path: Path) -> None:
    config = load_config(seed_config)
    app = NewswatchApp(Session(config, tmp_path / "fresh.db"))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.query_one("#first-run").display
        )
        await pilot.press("R")
        # Five articles, grouped as the seeds always are: two stories.
        await wait_for(pilot, lambda: app.screen.query_one(StoryList).story_count == 2, timeout=20)
        assert "5 new" in app.screen.query_one("#status").render().plain
        assert not app.screen.query_one("#first-run").display


async def test_on_a_server_store_changes_are_pushed_not_polled(
    pg_cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL tells the interface when another connection commits (LISTEN/NOTIFY): the poll timer stops
    and a new story appears without one poll."""
    url = pg_cluster.new_database()
    add_articles(url, "Samples", seed_records())
    polls: list[float] = []
    monkeypatch.setattr(MainScreen, "poll_changes", lambda self: polls.append(time.monotonic()))
    app = app_for(url)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        await wait_for(pilot, lambda: screen._poll_timer._task is None, timeout=8)
        polls.clear()
        (new,) = distinct_records(1, prefix="pushed")
        await asyncio.to_thread(add_articles, url, "Samples", [new])
        await wait_for(pilot, lambda: story_list.story_count == 3, timeout=8)
        assert polls == []
