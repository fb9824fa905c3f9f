"""Cron discipline: alerts alone on stdout, one line per story, intervals honoured, a feed's ttl kept after 304.

The CLI runs as a real subprocess over a real SQLite file; feeds come from a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from testkit.feedserver import FeedServer, make_rss
from tests.conftest import BUNDLED_CONFIG, SEEDS, run_newswatch


def _seed_project(tmp_path: Path, topics: str | None = None) -> Path:
    project = tmp_path / "project"
    shutil.copytree(SEEDS, project / "seeds")
    text = BUNDLED_CONFIG.read_text(encoding="utf-8")
    if topics is not None:
        text = text[: text.index("[topics.")] + topics
    (project / "config.toml").write_text(text, encoding="utf-8")
    return project / "config.toml"


def test_ingest_alerts_prints_alerts_alone_one_line_per_story(tmp_path: Path) -> None:
    config = _seed_project(tmp_path)
    base = ("--config", str(config), "--db", str(tmp_path / "news.db"))
    first = run_newswatch(*base, "ingest", "--alerts")
    assert first.status == 0, first.stderr
    lines = first.stdout.splitlines()
    # Two stories: A (DPRK troops) and B (DPRK troops and Russia sanctions, in one line).
    assert len(lines) == 2, lines
    assert sum("[DPRK troops, Russia sanctions] They ask Moscow" in line for line in lines) == 1, lines
    assert "new," not in first.stdout
    assert "5 new, 0 updated, 0 unchanged, 0 failed sources" in first.stderr
    second = run_newswatch(*base, "ingest", "--alerts")
    assert (second.status, second.stdout) == (0, ""), second.stdout
    assert "0 new" in second.stderr


def test_alerts_json_names_every_topic_of_a_story(tmp_path: Path) -> None:
    config = _seed_project(tmp_path)
    base = ("--config", str(config), "--db", str(tmp_path / "news.db"))
    result = run_newswatch(*base, "ingest", "--alerts", "--json")
    rows = result.json_lines()
    assert all("topics" in row for row in rows) and len(rows) == 2
    assert sorted(map(tuple, (row["topics"] for row in rows))) == [
        ("DPRK troops",),
        ("DPRK troops", "Russia sanctions"),
    ]
    assert '"new": 5' in result.stderr


def test_a_topic_added_later_alerts_once_for_that_topic(tmp_path: Path) -> None:
    troops = '[topics."DPRK troops"]\nquery = "@dprk AND (troop* OR soldier* OR deploy*)"\nalert = true\n'
    config = _seed_project(tmp_path, troops)
    base = ("--config", str(config), "--db", str(tmp_path / "news.db"))
    assert len(run_newswatch(*base, "ingest", "--alerts").stdout.splitlines()) == 2
    sanctions = '\n[topics."Russia sanctions"]\nquery = "(Russia OR Moscow) AND sanction*"\nalert = true\n'
    config.write_text(config.read_text() + sanctions)
    later = run_newswatch(*base, "ingest", "--alerts").stdout.splitlines()
    assert len(later) == 1 and "[Russia sanctions] They ask Moscow" in later[0], later
    assert run_newswatch(*base, "ingest", "--alerts").stdout == ""


def _feed_config(tmp_path: Path, server: FeedServer, interval: str | None) -> Path:
    line = f'interval = "{interval}"\n' if interval else ""
    config = tmp_path / "feeds.toml"
    config.write_text(f'[[sources]]\nname = "Slow"\nurl = "{server.url("/slow.xml")}"\n{line}')
    return config


def test_ingest_skips_a_source_that_is_not_due_unless_forced(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.feed("/slow.xml", make_rss("Slow", 2, feed_id="s"))
    base = ("--config", str(_feed_config(tmp_path, feed_server, "6h")), "--db", str(tmp_path / "news.db"))
    assert run_newswatch(*base, "ingest").stdout.startswith("2 new")
    second = run_newswatch(*base, "ingest")
    assert "1 not due" in second.stdout
    assert len(feed_server.requests_for("/slow.xml")) == 1
    run_newswatch(*base, "ingest", "--force")
    assert len(feed_server.requests_for("/slow.xml")) == 2


def test_a_source_without_an_interval_is_fetched_on_every_ingest(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.feed("/slow.xml", make_rss("Slow", 2, feed_id="s"))
    base = ("--config", str(_feed_config(tmp_path, feed_server, None)), "--db", str(tmp_path / "news.db"))
    run_newswatch(*base, "ingest")
    run_newswatch(*base, "ingest")
    assert len(feed_server.requests_for("/slow.xml")) == 2


def test_a_feeds_ttl_outlives_a_304(feed_server: FeedServer, tmp_path: Path) -> None:
    body = make_rss("Slow", 2, feed_id="s").replace(b"<description>test feed</description>", b"<ttl>60</ttl>")
    feed_server.feed("/slow.xml", body, etag='"v1"')
    db = tmp_path / "news.db"
    base = ("--config", str(_feed_config(tmp_path, feed_server, None)), "--db", str(db))

    def next_fetch() -> datetime:
        with sqlite3.connect(db) as conn:
            (value,) = conn.execute("SELECT next_fetch_after FROM sources").fetchone()
        return datetime.fromisoformat(value)

    run_newswatch(*base, "ingest")
    assert next_fetch() - datetime.now(UTC) > timedelta(minutes=55)
    # Forced, the feed answers 304 (no body, so no <ttl>): the hour it asked for still stands.
    forced = run_newswatch(*base, "ingest", "--force")
    assert "2 unchanged" in forced.stdout
    assert feed_server.requests_for("/slow.xml")[-1].get("if-none-match") == '"v1"'
    assert next_fetch() - datetime.now(UTC) > timedelta(minutes=55)
    run_newswatch(*base, "ingest")
    assert len(feed_server.requests_for("/slow.xml")) == 2
