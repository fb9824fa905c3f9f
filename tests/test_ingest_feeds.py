"""Feed ingest end to end: the real CLI, a real SQLite file and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.feedserver import FeedServer, make_rss
from tests.conftest import REPO, connect_store, run_cli


@pytest.fixture
def db_path(store_target: str) -> str:
    """Every test here runs on an SQLite file and on a PostgreSQL database."""
    return store_target


ETAG = '"v1"'
LAST_MODIFIED = "Tue, 05 Nov 2024 10:00:00 GMT"


def _config(tmp_path: Path, feeds: dict[str, str], extra: str = "") -> Path:
    text = "".join(f'[[sources]]\nname = "{name}"\nurl = "{url}"\n\n' for name, url in feeds.items())
    path = tmp_path / "feeds.toml"
    path.write_text(text + extra)
    return path


def _sources(config: Path, db: Path) -> dict[str, dict]:
    return {
        row["name"]: row
        for row in run_cli("--config", str(config), "--db", str(db), "sources", "--json").json_lines()
    }


def test_second_ingest_sends_validators_and_adds_nothing(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    feed_server.feed("/a.xml", make_rss("Alpha", 5, feed_id="a"), etag=ETAG)
    feed_server.feed("/b.xml", make_rss("Beta", 3, feed_id="b"), last_modified=LAST_MODIFIED)
    config = _config(tmp_path, {"Alpha": feed_server.url("/a.xml"), "Beta": feed_server.url("/b.xml")})
    base = ("--config", str(config), "--db", str(db_path))
    first = run_cli(*base, "ingest")
    assert first.stdout.strip() == "8 new, 0 updated, 0 unchanged, 0 failed sources", first.stderr
    second = run_cli(*base, "ingest")
    assert second.stdout.strip() == "0 new, 0 updated, 8 unchanged, 0 failed sources"
    a_requests, b_requests = feed_server.requests_for("/a.xml"), feed_server.requests_for("/b.xml")
    assert "if-none-match" not in a_requests[0] and a_requests[1]["if-none-match"] == ETAG
    assert b_requests[1]["if-modified-since"] == LAST_MODIFIED
    assert "newswatch/" in a_requests[0]["user-agent"]
    with connect_store(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 8


def test_changed_entry_is_updated_in_place(feed_server: FeedServer, tmp_path: Path, db_path: Path) -> None:
    feed_server.feed("/a.xml", make_rss("Alpha", 3, feed_id="a"))
    config = _config(tmp_path, {"Alpha": feed_server.url("/a.xml")})
    base = ("--config", str(config), "--db", str(db_path))
    run_cli(*base, "ingest", "--quiet")
    changed = make_rss("Alpha", 3, feed_id="a").replace(b"Paragraph 1 of", b"Corrected paragraph 1 of")
    feed_server.feed("/a.xml", changed)
    result = run_cli(*base, "ingest")
    assert result.stdout.strip() == "0 new, 1 updated, 2 unchanged, 0 failed sources", result.stderr
    rows = run_cli(*base, "search", "corrected", "--json").json_lines()
    assert [row["title"] for row in rows] == ["Alpha item 1"]


def test_failing_feeds_are_recorded_and_the_others_go_on(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    feed_server.feed("/good.xml", make_rss("Good", 4, feed_id="g"))
    feed_server.status("/missing.xml", 404)
    feed_server.status("/broken.xml", 500)
    feed_server.feed(
        "/garbage.xml", b"<rss><channel><title>x</title><item><title>unclosed", content_type="text/xml"
    )
    feed_server.slow("/slow.xml", delay=5)
    feed_server.huge("/huge.xml", size=3 * 1024 * 1024)
    feeds = {
        "Good": feed_server.url("/good.xml"),
        "Missing": feed_server.url("/missing.xml"),
        "Broken": feed_server.url("/broken.xml"),
        "Garbage": feed_server.url("/garbage.xml"),
        "Slow": feed_server.url("/slow.xml"),
        "Huge": feed_server.url("/huge.xml"),
        "Nowhere": "http://127.0.0.1:9/feed.xml",  # nothing listens on the discard port
    }
    config = _config(tmp_path, feeds, "[fetch]\ntimeout = 1\ndeadline = 1.5\nmax_body_mb = 1\n")
    result = run_cli("--config", str(config), "--db", str(db_path), "ingest")
    assert result.status == 0
    assert result.stdout.strip().endswith("0 updated, 0 unchanged, 5 failed sources"), result.stdout
    sources = _sources(config, db_path)
    assert sources["Good"]["last_error"] is None and sources["Good"]["articles"] == 4
    assert "404" in sources["Missing"]["last_error"]
    assert "500" in sources["Broken"]["last_error"]
    assert "timed out" in sources["Slow"]["last_error"]
    assert "limit" in sources["Huge"]["last_error"]
    assert sources["Nowhere"]["last_error"]
    for name in ("Missing", "Broken", "Slow", "Huge", "Nowhere"):
        error = sources[name]["last_error"]
        assert "\n" not in error and sources[name]["last_error_at"], (name, error)
        assert f"{name}: " in result.stderr
    # Garbage: malformed but parseable feeds keep their items; unparseable ones record why.
    garbage = sources["Garbage"]
    assert garbage["articles"] == 1 and garbage["last_error"] is None
    assert result.stdout.startswith("5 new,")


def test_permanent_redirect_updates_the_stored_url(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    feed_server.feed("/new.xml", make_rss("Moved", 2, feed_id="m"))
    feed_server.redirect("/old.xml", feed_server.url("/new.xml"), code=301)
    feed_server.feed("/temp-target.xml", make_rss("Temp", 1, feed_id="t"))
    feed_server.redirect("/temp.xml", feed_server.url("/temp-target.xml"), code=302)
    config = _config(tmp_path, {"Moved": feed_server.url("/old.xml"), "Temp": feed_server.url("/temp.xml")})
    db = ("--db", str(db_path))
    run_cli("--config", str(config), *db, "ingest", "--quiet")
    with connect_store(db_path) as conn:
        locations = dict(conn.execute("SELECT name, location FROM sources"))
    assert locations["Moved"] == feed_server.url("/new.xml")
    assert locations["Temp"] == feed_server.url("/temp.xml")


def test_sources_add_remove_and_opml_round_trip(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    feed_server.feed("/a.xml", make_rss("Alpha", 2, feed_id="a"))
    config = tmp_path / "empty.toml"
    config.write_text("")
    base = ("--config", str(config), "--db", str(db_path))
    added = run_cli(
        *base, "sources", "add", feed_server.url("/a.xml"), "--name", "Alpha", "--interval", "15m"
    )
    assert added.status == 0, added.stderr
    assert run_cli(*base, "sources", "add", feed_server.url("/a.xml")).status == 2  # already there
    assert run_cli(*base, "ingest").stdout.startswith("2 new")
    exported = run_cli(*base, "opml", "export").stdout
    assert feed_server.url("/a.xml") in exported
    removed = run_cli(*base, "sources", "remove", "Alpha")
    assert removed.status == 0 and "2 articles" in removed.stdout
    opml = tmp_path / "feeds.opml"
    opml.write_text(exported)
    imported = run_cli(*base, "opml", "import", str(opml))
    assert imported.status == 0 and "imported 1 feeds" in imported.stdout
    assert run_cli(*base, "ingest").stdout.startswith("2 new")


def test_config_sources_cannot_be_removed_from_the_cli(tmp_path: Path, db_path: Path) -> None:
    result = run_cli("--db", str(db_path), "sources", "remove", "Samples")
    assert result.status == 2 and "is defined in" in result.stderr and "config.toml" in result.stderr


def test_json_summary(feed_server: FeedServer, tmp_path: Path, db_path: Path) -> None:
    feed_server.feed("/a.xml", make_rss("Alpha", 2, feed_id="a"))
    feed_server.status("/b.xml", 500)
    config = _config(tmp_path, {"Alpha": feed_server.url("/a.xml"), "Beta": feed_server.url("/b.xml")})
    summary = json.loads(run_cli("--config", str(config), "--db", str(db_path), "ingest", "--json").stdout)
    assert summary["new"] == 2
    assert [f["source"] for f in summary["failed_sources"]] == ["Beta"]


def test_a_pass_of_304s_loads_no_parser_no_sqlite_utils_and_reuses_connections(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    # The warm cron pass: every feed answers 304. Nothing is parsed, stored or placed, so the parsers,
    # sqlite-utils (and the numpy it brings) and the story engine stay unloaded, and so does httpx's own
    # command line (click, rich, pygments; see feeds/fetch.py); asserted on what is
    # imported rather than on a noisy clock (bench/story_engine.py times it against newsboat).
    feeds = {f"Feed {n}": feed_server.url(f"/{n}.xml") for n in range(10)}  # enough for the worker pool
    for n in range(10):
        feed_server.feed(f"/{n}.xml", make_rss(f"Feed {n}", 2, feed_id=str(n)), etag=ETAG)
    config = _config(tmp_path, feeds, "\n[fetch]\nper_host = 2\n")
    base = ["--config", str(config), "--db", str(tmp_path / "warm.db")]  # the embedded store's cron path
    assert run_cli(*base, "ingest", "--quiet").status == 0
    connections = feed_server.connections()
    probe = (
        "import sys\nfrom newswatch.cli import main\n"
        f"main({[*base, 'ingest', '--force']!r})\n"
        "heavy = ('sqlite_utils', 'numpy', 'feedparser', 'selectolax', 'trafilatura', 'feeds.parse',\n"
        "         'feeds.files', 'stories.engine', 'multiprocessing', 'click', 'rich', 'pygments')\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["0 new, 0 updated, 20 unchanged, 0 failed sources", "[]"]
    assert all(request.get("if-none-match") == ETAG for request in feed_server.requests_for("/9.xml")[1:])
    assert feed_server.connections() - connections <= 2


def test_a_removed_sources_articles_leave_the_grouper_too(
    feed_server: FeedServer, tmp_path: Path, db_path: str
) -> None:
    """Removed and added again, a feed's items are new articles: not copies of the deleted ones (nor, on
    SQLite, which reuses ids, of themselves), grouped as the first time."""
    feed_server.feed("/a.xml", make_rss("A", 2, feed_id="a"))
    config = tmp_path / "empty.toml"
    config.write_text("")
    base = ("--config", str(config), "--db", str(db_path))
    assert run_cli(*base, "sources", "add", feed_server.url("/a.xml"), "--name", "Alpha").status == 0
    assert run_cli(*base, "ingest").stdout.startswith("2 new")
    before = run_cli(*base, "stories", "--json").json_lines()
    assert run_cli(*base, "sources", "remove", "Alpha").status == 0
    assert run_cli(*base, "stories", "--json").json_lines() == []
    assert run_cli(*base, "sources", "add", feed_server.url("/a.xml"), "--name", "Alpha").status == 0
    assert run_cli(*base, "ingest").stdout.startswith("2 new")
    articles = run_cli(*base, "articles", "--json").json_lines()
    assert [a["duplicate_of"] for a in articles] == [None, None]
    after = run_cli(*base, "stories", "--json").json_lines()
    assert [(s["size"], s["title"]) for s in after] == [(s["size"], s["title"]) for s in before]
    assert sorted(i for s in after for i in s["article_ids"]) == sorted(a["id"] for a in articles)
