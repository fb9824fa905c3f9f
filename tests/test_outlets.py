"""Who reported a story: outlets are the configured sources, `source:` and `--source` agree, and the original
of a set of copies is the earliest report, whatever order the copies were stored in.

Feeds come from a real HTTP server on 127.0.0.1; the CLI runs as a real subprocess over a real SQLite file.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from feeds.records import ArticleRecord
from store.db import open_db, write_batch
from store.sources import remove_source
from testkit.feedserver import FeedServer
from tests.conftest import run_newswatch
from tests.test_tui import add_articles

EVENT = (
    "Harbour ferry terminal reopens after winter repairs",
    "The ferry terminal at the north harbour reopened on Monday after six weeks of repairs to its pontoons and "
    "ticket hall. Commuters queued for the first crossing of the morning, and the port authority said "
    "timetables would return to normal by the weekend.",
)


def _rss(feed_title: str, guid: str, when: str) -> bytes:
    title, body = EVENT
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(feed_title)}</title><link>https://example.org/</link><description>d</description>"
        f"<item><title>{escape(title)}</title><link>https://example.org/{guid}</link><guid>{guid}</guid>"
        f"<pubDate>{when}</pubDate><description>{escape(body)}</description></item>"
        "</channel></rss>"
    ).encode()


def _two_news_feeds(feed_server: FeedServer, tmp_path: Path) -> Path:
    # Both feeds are titled "News": two sources, so two outlets.
    feed_server.feed("/r.xml", _rss("News", "r1", "Tue, 05 Nov 2024 14:05:00 +0000"))
    feed_server.feed("/a.xml", _rss("News", "a1", "Tue, 05 Nov 2024 14:20:00 +0000"))
    feed_server.feed("/b.xml", _rss("News", "b1", "Tue, 05 Nov 2024 15:00:00 +0000"))
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[[sources]]\nname = "reuters"\nurl = "{feed_server.url("/r.xml")}"\n\n'
        f'[[sources]]\nname = "apnews"\nurl = "{feed_server.url("/a.xml")}"\n\n'
        f'[[sources]]\nname = "bbc-world"\nurl = "{feed_server.url("/b.xml")}"\noutlet = "BBC"\n'
    )
    return config


def test_outlets_are_the_configured_sources_not_the_feed_titles(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    config = _two_news_feeds(feed_server, tmp_path)
    base = ("--config", str(config), "--db", str(db_path))
    assert run_newswatch(*base, "ingest", "--quiet").status == 0
    [story] = run_newswatch(*base, "stories", "--json").json_lines()
    assert story["size"] == 3 and story["outlets"] == 3
    assert story["sources"] == ["apnews", "BBC", "reuters"]
    text = run_newswatch(*base, "stories", "--outlets").stdout.splitlines()
    assert "(3 articles, 3 outlets)" in text[0] and text[1].strip() == "apnews, BBC, reuters"


def test_source_in_a_query_matches_the_same_names_as_the_source_option(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    config = _two_news_feeds(feed_server, tmp_path)
    base = ("--config", str(config), "--db", str(db_path))
    run_newswatch(*base, "ingest", "--quiet")
    for name in ("reuters", "apnews"):
        by_option = {
            row["id"] for row in run_newswatch(*base, "articles", "--source", name, "--json").json_lines()
        }
        by_query = {
            row["id"] for row in run_newswatch(*base, "articles", f"source:{name}", "--json").json_lines()
        }
        assert by_option and by_option == by_query, name
    assert not run_newswatch(*base, "articles", "source:News", "--json").json_lines()


def _record(guid: str, outlet: str, when: datetime, extra: str = "") -> ArticleRecord:
    title, body = EVENT
    return ArticleRecord(
        guid=guid,
        title=title,
        body=body + extra,
        outlet=outlet,
        url=f"https://example.org/{guid}",
        published=when,
    )


def test_the_earliest_report_is_the_original_whatever_the_store_order(tmp_path: Path) -> None:
    db_path = tmp_path / "news.db"
    wire_time = datetime(2024, 11, 5, 14, 5, tzinfo=UTC)
    # The 14:20 reprint arrives (and is placed) in one ingest; the 14:05 wire in the next.
    [reprint] = add_articles(
        db_path, "Reprints", [_record("reprint", "Daily Reprint", wire_time + timedelta(minutes=15))]
    )
    [wire] = add_articles(db_path, "Wire", [_record("wire", "Wire Service", wire_time)])
    db = open_db(db_path)
    try:
        copies = dict(db.execute("SELECT id, duplicate_of FROM articles").fetchall())
        story = db.execute("SELECT lead_article_id, first_seen FROM stories").fetchall()
    finally:
        db.conn.close()
    assert copies == {wire: None, reprint: wire}
    assert story == [(wire, "2024-11-05T14:05:00+00:00")]


def test_the_lead_is_the_fullest_original(tmp_path: Path) -> None:
    db_path = tmp_path / "news.db"
    when = datetime(2024, 11, 5, 14, 5, tzinfo=UTC)
    longer = " The harbour master added that a second berth would open in the spring, once dredging ends."
    add_articles(db_path, "Wire", [_record("short", "Wire Service", when)])
    [full] = add_articles(
        db_path, "Paper", [_record("full", "Harbour Gazette", when + timedelta(hours=2), longer)]
    )
    db = open_db(db_path)
    try:
        [(lead,)] = db.execute("SELECT lead_article_id FROM stories").fetchall()
    finally:
        db.conn.close()
    assert lead == full


def _fts_integrity(db_path: Path) -> None:
    """FTS5's own check of the index against what it reads as content (raises if they differ)."""
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")


def test_source_in_a_query_also_matches_a_file_source_whose_articles_name_other_outlets(
    seed_config: Path, db_path: Path
) -> None:
    # The seeds are the file source "Samples"; one names its outlet in a byline ("by Anadolu Agency").
    base = ("--config", str(seed_config), "--db", str(db_path))
    run_newswatch(*base, "ingest", "--quiet")

    def ids(*args: str) -> set[int]:
        return {row["id"] for row in run_newswatch(*base, "articles", *args, "--json").json_lines()}

    by_option = ids("--source", "Samples")
    assert len(by_option) == 5
    assert ids("source:samples") == by_option
    byline = ids('source:"Anadolu Agency"')
    assert len(byline) == 1 and byline < by_option
    assert ids("source:samples NOT source:anadolu") == by_option - byline
    _fts_integrity(db_path)

    # The index stays exact when a file changes (the update trigger) and when the source goes with its
    # articles (the delete trigger), the source's name included.
    seed = next((seed_config.parent / "seeds").glob("001_*.txt"))
    seed.write_text(seed.read_text(encoding="utf-8").replace("G7", "Group of Seven", 1), encoding="utf-8")
    assert run_newswatch(*base, "ingest", "--quiet").status == 0
    assert ids('source:"Anadolu Agency"') == byline
    _fts_integrity(db_path)
    with sqlite3.connect(db_path) as conn:  # as if added with `sources add`, which `sources remove` takes
        conn.execute("UPDATE sources SET origin = 'cli' WHERE name = 'Samples'")
    db = open_db(db_path)
    try:
        with write_batch(db):
            assert remove_source(db, "Samples") == 5
    finally:
        db.conn.close()
    _fts_integrity(db_path)
    with sqlite3.connect(db_path) as conn:
        assert (
            conn.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'samples'").fetchone()[0]
            == 0
        )
