"""A permanent redirect from one source onto another source's URL: the first is told (and its attempts
recorded on every pass), the second is counted once. The real local HTTP server and a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from testkit.feedserver import FeedServer, make_rss
from tests.conftest import run_cli


def _sources(db_path: Path) -> dict[str, tuple]:
    with sqlite3.connect(db_path) as conn:
        return {
            name: (location, attempt, error, articles)
            for name, location, attempt, error, articles in conn.execute(
                """SELECT name, location, last_attempt_at, last_error,
                          (SELECT count(*) FROM articles a WHERE a.source_id = s.id) FROM sources s"""
            )
        }


def _setup(tmp_path: Path, feed_server: FeedServer) -> tuple[Path, str, str]:
    feed_server.feed("/b.xml", make_rss("B feed", 3, feed_id="b"))
    feed_server.redirect("/a.xml", "/b.xml", 301)
    config = tmp_path / "c.toml"
    config.write_text("")
    return config, feed_server.url("/a.xml"), feed_server.url("/b.xml")


def test_a_redirect_onto_another_sources_url_is_reported_not_followed(
    tmp_path: Path, db_path: Path, feed_server: FeedServer
) -> None:
    config, a_url, b_url = _setup(tmp_path, feed_server)
    base = ("--config", str(config), "--db", str(db_path))
    assert run_cli(*base, "sources", "add", a_url, "--name", "A").status == 0
    assert run_cli(*base, "sources", "add", b_url, "--name", "B").status == 0
    first = run_cli(*base, "ingest")
    assert first.stdout == "3 new, 0 updated, 0 unchanged, 1 failed source\n"
    assert first.stderr == (
        f"newswatch: A: moved permanently to {b_url}, which source 'B' already reads; remove one\n"
    )
    after_first = _sources(db_path)
    assert after_first["A"][0] == a_url and after_first["A"][3] == 0
    assert after_first["B"][3] == 3
    with sqlite3.connect(db_path) as conn:  # pretend the first pass was long ago
        conn.execute(
            "UPDATE sources SET last_attempt_at = '2000-01-01T00:00:00+00:00', next_fetch_after = NULL"
        )
    second = run_cli(*base, "ingest")
    assert second.stdout == "0 new, 0 updated, 3 unchanged, 1 failed source\n"
    after_second = _sources(db_path)
    assert after_second["A"][1] > "2000-01-01", "A's attempt was not recorded"
    assert after_second["B"][1] > "2000-01-01"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 3


def test_two_sources_already_on_one_url_are_each_recorded_and_counted_once(
    tmp_path: Path, db_path: Path, feed_server: FeedServer
) -> None:
    config, a_url, b_url = _setup(tmp_path, feed_server)
    base = ("--config", str(config), "--db", str(db_path))
    assert run_cli(*base, "sources", "add", b_url, "--name", "B").status == 0
    assert run_cli(*base, "sources", "add", a_url, "--name", "A").status == 0
    # The state an earlier version left: A moved onto B's URL.
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE sources SET location = ? WHERE name = 'A'", [b_url])
    result = run_cli(*base, "ingest")
    assert result.stdout == "3 new, 0 updated, 0 unchanged, 1 failed source\n"
    assert result.stderr == "newswatch: A: reads the same URL as source 'B'; remove one\n"
    rows = _sources(db_path)
    assert rows["A"][1] is not None and rows["A"][2] == "reads the same URL as source 'B'; remove one"
    assert rows["B"][3] == 3 and rows["A"][3] == 0
    assert len(feed_server.requests_for("/b.xml")) == 1
