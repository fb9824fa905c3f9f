"""The interactive interface, driven with Textual's Pilot over real SQLite files.

The databases are built through the same store and tagging functions an ingest uses, with a fixed clock,
so the screens are deterministic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.files import read_path
from feeds.records import UNCERTAIN_DATE_ORIGINS, ArticleRecord
from newswatch.config import Config, load_config
from newswatch.storying import place_new_articles
from store import stories as story_store
from store.articles import get_article, upsert_articles
from store.db import open_db, write_batch
from store.sources import SourceSpec, add_source
from topics.tagging import compile_topics, sync_and_retag
from tui.app import NewswatchApp, bindings_for
from tui.screens.main import MainScreen
from tui.screens.reader import ReaderScreen
from tui.widgets.story_list import StoryList

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[1]
FIXED_NOW = datetime(2024, 12, 20, 12, 0, tzinfo=UTC)
HOSTILE_TITLES = [
    "[bold red]x[/]",
    "[@click=app.quit]y[/]",
    "Breaking [/news] \x1b[2J\x1b]0;pwned\x07 after \u202eevil",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def bundled_config() -> Config:
    return load_config(REPO / "config.toml")


def add_articles(
    db_path: Path, source: str, records: list[ArticleRecord], *, now: datetime = FIXED_NOW
) -> list[int]:
    """Store records as an ingest would: upsert, tag with the bundled topics, place in stories."""
    config = bundled_config()
    topics = compile_topics([(t.name, t.query, t.alert) for t in config.topics], config.terms)
    db = open_db(db_path)
    try:
        with write_batch(db):
            row = db.execute("SELECT id FROM sources WHERE name = ?", [source]).fetchone()
            source_id = row[0] if row else add_source(db, SourceSpec(source, "path", "/dev/null"), now=now)
            sync_and_retag(db, topics, now=now)
            result = upsert_articles(db, source_id, records, now=now)
            from topics.tagging import tag_articles

            tag_articles(db, topics, result.new_ids)
            place_new_articles(db, result.new_ids)
        return result.new_ids
    finally:
        db.conn.close()


def seed_records() -> list[ArticleRecord]:
    records: list[ArticleRecord] = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        records.extend(read_path(path, default_outlet="Samples").records)
    for index, record in enumerate(records):
        # Undated seeds would take the ingest time; pin them so screens are the same every run.
        if record.published is None or record.date_origin in UNCERTAIN_DATE_ORIGINS:
            record.published = FIXED_NOW - timedelta(days=30, hours=index)
    return records


@pytest.fixture
def seeds_db(tmp_path: Path) -> Path:
    path = tmp_path / "seeds.db"
    add_articles(path, "Samples", seed_records())
    return path


def group_story(db_path: Path, article_ids: list[int], copies: tuple[int, ...] = ()) -> int:
    """Put these articles in one story (as the grouper will): the first id names the story."""
    db = open_db(db_path)
    try:
        with write_batch(db):
            story_id = article_ids[0]
            old = [story_store.story_sizes(db, [i]) for i in article_ids]
            for article_id in article_ids:
                story_store.assign_story(db, article_id, story_id, story_id if article_id in copies else None)
            story_store.refresh_stories(db, [story_id, *(i for sizes in old for i in sizes)])
        return story_id
    finally:
        db.conn.close()


def app_for(db_path: Path) -> NewswatchApp:
    return NewswatchApp(bundled_config(), db_path)


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
        assert story_list.story_count == 5
        await pilot.press("down", "j")
        assert story_list.cursor == 2
        await pilot.press("k")
        assert story_list.cursor == 1
        await pilot.press("G")
        assert story_list.cursor == 4
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
        await pilot.click(StoryList, offset=(40, 2))
        assert story_list.cursor == 2
        await pilot.click(StoryList, offset=(40, 2), times=2)
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen))


# --- search -----------------------------------------------------------------------------------------------


async def test_search_updates_the_list_and_count_and_a_bad_query_gets_one_line(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash")
        await pilot.press(*"sanction*")
        await ready(pilot)
        story_list = screen.query_one(StoryList)
        assert story_list.story_count == 1
        assert "1 story match" in screen.query_one("#search-status").render().plain
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
        assert story_list.story_count == 5


async def test_reader_highlights_topic_terms_and_search_terms(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        await pilot.press("slash", *"Moscow", "enter")
        await ready(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        body = app.screen.query_one("#reader-body").render()
        styled = {body.plain[span.start : span.end] for span in body.spans}
        assert "Moscow" in styled
        topics = app.screen.query_one("#reader-topics").render().plain
        assert "DPRK troops" in topics and "matched:" in topics
        del screen


# --- filters ----------------------------------------------------------------------------------------------


async def test_topic_source_unread_and_starred_filters(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        from tui.messages import FilterPicked

        screen.post_message(FilterPicked("topic", "Russia sanctions"))
        await pilot.pause()
        await ready(pilot)
        assert story_list.story_count == 1
        screen.post_message(FilterPicked("topic", None))
        await pilot.pause()
        await ready(pilot)
        assert story_list.story_count == 5
        screen.post_message(FilterPicked("source", "Samples"))
        await pilot.pause()
        await ready(pilot)
        assert story_list.story_count == 5
        # Star the first story, then show starred only.
        await pilot.press("s")
        await wait_for(pilot, lambda: story_list.row(story_list.selection().story_id).starred)
        await pilot.press("asterisk")
        await ready(pilot)
        assert story_list.story_count == 1
        await pilot.press("asterisk")
        # Read one story, then unread only shows the other four.
        await pilot.press("r")
        await wait_for(pilot, lambda: story_list.row(story_list.selection().story_id).unread == 0)
        await pilot.press("u")
        await ready(pilot)
        assert story_list.story_count == 4
        await pilot.press("x")
        await ready(pilot)
        assert story_list.story_count == 5 and not screen.story_query.is_filtered


async def test_filter_dialog_sets_a_date_range(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        dates = sorted(screen.query_one(StoryList).row(i).last_seen for i in screen.query_one(StoryList)._ids)
        await pilot.press("f")
        await pilot.pause()
        app.screen.query_one("#filter-since").value = dates[-2][:19]
        await pilot.click("#filter-apply")
        await pilot.pause()
        await ready(pilot)
        assert (
            screen.query_one(StoryList).story_count == sum(date >= dates[-2] for date in dates) < len(dates)
        )
        assert "now" in screen.query_one("#status").render().plain


# --- read and star ----------------------------------------------------------------------------------------


async def test_read_and_star_write_through_to_the_database(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        row = story_list.row(story_list.selection().story_id)
        assert row.unread == 1
        await pilot.press("r")
        await wait_for(pilot, lambda: story_list.row(row.id).unread == 0)
        await pilot.press("r")
        await wait_for(pilot, lambda: story_list.row(row.id).unread == 1)
        await pilot.press("s")
        await wait_for(pilot, lambda: story_list.row(row.id).starred)
        await app.workers.wait_for_complete()
    db = open_db(seeds_db)
    article = get_article(db, row.lead_article_id)
    assert article["starred"] == 1 and article["read"] == 0


async def test_opening_the_lead_marks_the_whole_story_read(seeds_db: Path) -> None:
    story_id = group_story(seeds_db, [1, 2, 3])
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        line = story_list._ids.index(story_id)
        story_list.move_cursor(line)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        await pilot.press("escape")
        await wait_for(pilot, lambda: (story_list.row(story_id) or row_placeholder).unread == 0)


class _Unknown:
    unread = -1


row_placeholder = _Unknown()


# --- stories ----------------------------------------------------------------------------------------------


async def test_a_story_expands_to_its_articles_with_copies_marked(seeds_db: Path) -> None:
    story_id = group_story(seeds_db, [1, 2, 3, 4], copies=(4,))
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        assert story_list.story_count == 2
        story_list.move_cursor(story_list._ids.index(story_id))
        row = story_list.row(story_id)
        assert row.size == 4
        await pilot.press("space")
        await wait_for(pilot, lambda: story_list.expanded_story == story_id)
        assert story_list.line_count == 6
        lines = list_text(screen)
        assert sum("└" in line for line in lines) == 4
        assert sum(line.rstrip().endswith("copy") for line in lines) == 1
        # Enter on a member opens that article, and the reader lists the other outlets one key away.
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.article is not None)
        reader = app.screen
        assert len(reader.others) == 3
        also = reader.query_one("#reader-also").render().plain
        assert "[1]" in also and "[3]" in also and "copy" in also
        opened = reader.article["id"]
        await pilot.press("1")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, ReaderScreen)
                and app.screen.article
                and app.screen.article["id"] != opened
            ),
        )
        await pilot.press("escape")
        await pilot.press("h")
        assert story_list.expanded_story is None


async def test_sort_by_most_outlets(seeds_db: Path) -> None:
    db = open_db(seeds_db)
    with write_batch(db):
        db.conn.execute("UPDATE articles SET outlet = 'Outlet ' || id")
    db.conn.close()
    story_id = group_story(seeds_db, [4, 5])
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        await pilot.press("t")
        await ready(pilot)
        assert story_list._ids[0] == story_id and story_list.row(story_id).outlets == 2


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
    records = [
        ArticleRecord(
            guid=f"h{index}",
            title=title,
            body=f"Body {title} [link=https://evil.example]click[/link] \x1b]52;c;cHduZWQ=\x07 end",
            url="javascript:alert(1)",
            outlet="[i]Outlet[/i]",
            published=FIXED_NOW - timedelta(hours=index),
        )
        for index, title in enumerate(HOSTILE_TITLES)
    ]
    add_articles(path, "Hostile [b]source[/b]", records)
    app = app_for(path)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await ready(pilot)
        await wait_for(
            pilot,
            lambda: (
                "Hostile [b]source[/b]" in screen.query_one("#sources").get_option_at_index(1).prompt.plain
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


async def test_o_opens_only_http_links_through_webbrowser(
    seeds_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, new=0: opened.append(url))
    db = open_db(seeds_db)
    with write_batch(db):
        db.conn.execute("UPDATE articles SET url = 'https://example.org/a' WHERE id = 1")
    db.conn.close()
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        story_list.move_cursor(story_list._ids.index(1))
        await pilot.press("o")
        await app.workers.wait_for_complete()
    assert opened == ["https://example.org/a"]


async def test_new_articles_appear_without_losing_the_selection(seeds_db: Path) -> None:
    app = app_for(seeds_db)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await ready(pilot)
        story_list = screen.query_one(StoryList)
        await pilot.press("down", "down")
        selected = story_list.selection()
        screen_row = story_list.cursor - int(story_list.scroll_offset.y)
        new = ArticleRecord(
            guid="late", title="A late report on troops", body="DPRK troops arrive.", published=FIXED_NOW
        )
        await asyncio.to_thread(add_articles, seeds_db, "Samples", [new])
        await wait_for(pilot, lambda: story_list.story_count == 6, timeout=8)
        assert story_list.selection() == selected
        # The list fits on screen, so the new story at the top pushes the selection down one row.
        assert story_list.cursor - int(story_list.scroll_offset.y) == screen_row + 1
        await ready(pilot)
        assert "A late report on troops" in list_text(screen)[0]


async def test_a_scrolled_list_keeps_its_place_when_stories_arrive(tmp_path: Path) -> None:
    from bench.synth_db import build

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
        new = [
            ArticleRecord(
                guid=f"late{n}",
                title=f"Late report {n}",
                body="Storm and flooding.",
                published=datetime.now(UTC),
            )
            for n in range(3)
        ]
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
    app = NewswatchApp(config, tmp_path / "fresh.db")
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.query_one("#first-run").display
        )
        await pilot.press("R")
        await wait_for(pilot, lambda: app.screen.query_one(StoryList).story_count == 5, timeout=20)
        assert "5 new" in app.screen.query_one("#status").render().plain
        assert not app.screen.query_one("#first-run").display
