"""Ingest commits in groups bounded in time, stores story features per new article, and places stories once.

A real SQLite file, real .jsonl files and the real local HTTP server; the group duration
(`pipeline.COMMIT_GROUP_SECONDS`) is made tiny so a 5,000-line file spans many transactions.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import newswatch.pipeline as pipeline
from feeds.limits import FetchLimits
from newswatch.pipeline import IngestOptions, run_ingest, sync_config
from store.articles import FEATURES_AT_PLACEMENT
from store.db import CommitGroups, open_db
from store.sources import SourceSpec
from testkit.feedserver import FeedServer, make_rss
from topics.tagging import compile_topics

LINES = 5000
NOW = datetime(2024, 11, 20, tzinfo=UTC)
TOPICS = compile_topics([("Troops", "troop*", False)], {})


def _write_jsonl(path: Path, lines: int = LINES) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for n in range(lines):
            subject = "troops deployed near the border" if n % 3 == 0 else "grain exports resumed at the port"
            handle.write(
                json.dumps(
                    {
                        "guid": f"g{n}",
                        "title": f"Report {n}: {subject}",
                        "body": f"Officials said on day {n % 28 + 1} that {subject}. Statement number {n}.",
                        "published": f"2024-11-{n % 28 + 1:02d}T10:00:00+00:00",
                    }
                )
                + "\n"
            )
    return path


class Placer:
    """Stands in for the story placer: records its calls and consumes the pending features, as it will."""

    def __init__(self) -> None:
        self.calls = 0
        self.placed: list[int] = []

    def __call__(self, db: Any) -> None:
        self.calls += 1
        with db.conn:
            self.placed += [row[0] for row in db.execute("SELECT article_id FROM article_features")]
            db.conn.execute("DELETE FROM article_features")


def _ingest(db: Any, specs: list[SourceSpec], placer: Placer | None = None) -> pipeline.IngestSummary:
    sync_config(db, specs, TOPICS, now=NOW)
    return run_ingest(db, IngestOptions(topics=TOPICS, place_stories=placer), now=NOW)


def _count(db_path: Path, sql: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _untagged_troop_articles(conn: sqlite3.Connection) -> int:
    return conn.execute(
        "SELECT count(*) FROM articles WHERE title LIKE '%troops%'"
        " AND id NOT IN (SELECT article_id FROM article_topics)"
    ).fetchone()[0]


def test_a_large_file_commits_in_several_groups_and_others_write_between_them(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "COMMIT_GROUP_SECONDS", 0.0)
    source = _write_jsonl(tmp_path / "big.jsonl")
    db = open_db(db_path)
    commits = []
    db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
    seen_between: list[tuple[float, int, int]] = []
    real_commit = CommitGroups.commit

    def commit_then_let_another_process_write(self: CommitGroups) -> None:
        real_commit(self)
        if len(seen_between) < 3:  # a second connection, as the TUI marking an article read
            other = sqlite3.connect(db_path, timeout=5, isolation_level=None)
            started = time.monotonic()
            other.execute("UPDATE articles SET read = 1 WHERE id = (SELECT min(id) FROM articles)")
            waited = time.monotonic() - started
            stored = other.execute("SELECT count(*) FROM articles").fetchone()[0]
            seen_between.append((waited, stored, _untagged_troop_articles(other)))
            other.close()

    monkeypatch.setattr(CommitGroups, "commit", commit_then_let_another_process_write)
    summary = _ingest(db, [SourceSpec("Big", "path", str(source))])
    assert summary.line() == f"{LINES:,} new, 0 updated, 0 unchanged, 0 failed sources"
    assert len(commits) > 5
    assert len(seen_between) == 3
    for waited, stored, untagged in seen_between:
        assert waited < 1.0  # the write lock was free between groups
        assert 0 < stored < LINES  # ... while the source was still being written
        assert untagged == 0  # no reader ever sees an article without its tags
    assert _count(db_path, "SELECT count(*) FROM articles WHERE read = 1") == 1


def test_features_are_stored_for_new_articles_and_a_second_ingest_adds_nothing(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "COMMIT_GROUP_SECONDS", 0.01)
    source = _write_jsonl(tmp_path / "big.jsonl")
    db = open_db(db_path)
    specs = [SourceSpec("Big", "path", str(source))]
    summary = _ingest(db, specs)  # no placer: the features rows stay
    assert summary.new == LINES
    rows = db.execute(
        "SELECT a.id, a.title, f.blob FROM articles a LEFT JOIN article_features f ON f.article_id = a.id"
    ).fetchall()
    # Every new article waits for placement, which computes its features from its text.
    assert len(rows) == LINES and all(blob == FEATURES_AT_PLACEMENT for _, _, blob in rows)
    assert _count(db_path, "SELECT count(*) FROM article_topics") == len(range(0, LINES, 3))
    assert _count(db_path, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'troops'") == len(
        range(0, LINES, 3)
    )
    db.conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")

    placer = Placer()
    again = _ingest(db, specs, placer)  # nothing new, but features are pending: placed once
    assert again.line() == f"0 new, 0 updated, {LINES:,} unchanged, 0 failed sources"
    assert placer.calls == 1 and len(placer.placed) == LINES
    source.touch()  # re-read the file: still nothing new, nothing pending, no placement
    third = _ingest(db, specs, placer)
    assert third.line() == f"0 new, 0 updated, {LINES:,} unchanged, 0 failed sources"
    assert placer.calls == 1
    assert _count(db_path, "SELECT count(*) FROM articles") == LINES
    assert _count(db_path, "SELECT count(*) FROM article_features") == 0


def test_a_kill_mid_source_keeps_every_committed_group_and_the_next_run_completes(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "COMMIT_GROUP_SECONDS", 0.0)
    source = _write_jsonl(tmp_path / "big.jsonl")
    db = open_db(db_path)
    specs = [SourceSpec("Big", "path", str(source))]
    real_tag = pipeline.add_found_tags
    units = 0

    def tag_then_die(db: Any, found: Any) -> Any:
        # Each unit of a path source stores the tags the workers found for its new articles.
        nonlocal units
        units += 1
        if units == 4:
            raise RuntimeError("killed")
        return real_tag(db, found)

    monkeypatch.setattr(pipeline, "add_found_tags", tag_then_die)
    placer = Placer()
    with pytest.raises(RuntimeError, match="killed"):
        _ingest(db, specs, placer)
    assert placer.calls == 0
    committed = 3 * pipeline.PATH_CHUNK
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT count(*), count(DISTINCT guid) FROM articles").fetchone() == (
            committed,
            committed,
        )
        assert other.execute("SELECT count(*) FROM article_features").fetchone()[0] == committed
        assert _untagged_troop_articles(other) == 0
        # The source's files and status go with its last group: the file is read again next run.
        assert other.execute("SELECT count(*) FROM source_files").fetchone()[0] == 0
        assert other.execute("SELECT last_success_at FROM sources").fetchone()[0] is None
        other.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")

    monkeypatch.setattr(pipeline, "add_found_tags", real_tag)
    summary = _ingest(db, specs, placer)
    assert (
        summary.line() == f"{LINES - committed:,} new, 0 updated, {committed:,} unchanged, 0 failed sources"
    )
    assert placer.calls == 1 and sorted(placer.placed) == list(range(1, LINES + 1))
    assert _count(db_path, "SELECT count(DISTINCT guid) FROM articles") == LINES
    assert _count(db_path, "SELECT count(*) FROM article_topics") == len(range(0, LINES, 3))
    assert _count(db_path, "SELECT count(*) FROM source_files") == 1
    db.conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")


@pytest.mark.parametrize("feeds", [3, 10])  # inline parsing, and the worker pool (parse + features)
def test_small_feeds_share_a_transaction_and_get_features(
    feed_server: FeedServer, db_path: Path, feeds: int
) -> None:
    specs = []
    for n in range(feeds):
        feed_server.feed(f"/f{n}.xml", make_rss(f"Outlet {n}", 5, feed_id=f"f{n}"))
        specs.append(SourceSpec(f"Outlet {n}", "url", feed_server.url(f"/f{n}.xml")))
    db = open_db(db_path)
    commits = []
    db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
    placer = Placer()
    sync_config(db, specs, TOPICS, now=NOW)
    commits.clear()
    options = IngestOptions(topics=TOPICS, place_stories=placer, fetch_limits=FetchLimits(host_gap=0))
    summary = run_ingest(db, options, now=NOW)
    assert summary.line() == f"{feeds * 5:,} new, 0 updated, 0 unchanged, 0 failed sources"
    assert 1 <= len([c for c in commits if c]) < feeds  # the placer's own commit is not counted here
    assert placer.calls == 1 and len(placer.placed) == feeds * 5


def test_tags_found_in_the_workers_are_the_tags_the_writer_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A .jsonl source's new records are tagged in the worker processes, in an FTS5 index of their own
    # (topics.tagging.tag_texts); with that turned off the writer tags them in the store's batch index. Both
    # must find the same tags and explain them with the same terms: a prefix, a phrase, a NOT, and
    # `source:` matching the source's name, which only the index's outlet column holds.
    from store.backends.sqlite import SqliteBackend

    topics = compile_topics(
        [
            ("Troops", "troop* AND NOT grain", False),
            ("Border", '"near the border" OR exports', False),
            ("Wire", "source:Big AND deployed", False),
        ],
        {},
    )
    source = _write_jsonl(tmp_path / "big.jsonl", 1500)
    specs = [SourceSpec("Big", "path", str(source))]
    found = {}
    for in_workers in (True, False):
        monkeypatch.setattr(SqliteBackend, "tags_in_workers", in_workers)
        db = open_db(tmp_path / f"{in_workers}.db")
        sync_config(db, specs, topics, now=NOW)
        run_ingest(db, IngestOptions(topics=topics, place_stories=Placer()), now=NOW)
        found[in_workers] = db.execute(
            """SELECT a.guid, t.name, at.matched_terms FROM article_topics at
               JOIN articles a ON a.id = at.article_id JOIN topics t ON t.id = at.topic_id
               ORDER BY a.guid, t.name"""
        ).fetchall()
        db.conn.close()
    assert found[True] == found[False]
    assert {name for _, name, _ in found[True]} == {"Troops", "Border", "Wire"}


def test_a_feeds_tags_found_in_its_parse_worker_are_the_tags_the_writer_finds(
    feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Feeds parsed in the worker processes have their new records tagged there too (newswatch.workers.
    # parse_and_tag); with that turned off the writer tags them in the store's batch index. Same tags, same
    # explaining terms: a prefix, a phrase, a NOT, and `source:` matching the source's name where the articles'
    # outlet is another.
    from store import topic_tags
    from store.backends.sqlite import SqliteBackend

    topics = compile_topics(
        [
            ("Troops", "troop* AND NOT grain", False),
            ("Border", '"near the border" OR exports', False),
            ("Wire", "source:Outlet AND deployed", False),
        ],
        {},
    )
    feeds = 10  # enough for the process pool
    specs = []
    for n in range(feeds):
        items = []
        for i in range(6):
            subject = (
                "troops deployed near the border" if (n + i) % 3 == 0 else "grain exports resumed at the port"
            )
            items.append(
                f"<item><title>Report {n}-{i}: {subject}</title><guid>f{n}-{i}</guid>"
                f"<pubDate>0{1 + i} Nov 2024 10:00:00 +0000</pubDate>"
                f"<description>Officials said that {subject}. Statement {i}.</description></item>"
            )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>{"".join(items)}</channel></rss>'
        feed_server.feed(f"/t{n}.xml", body.encode())
        specs.append(SourceSpec(f"Outlet {n}", "url", feed_server.url(f"/t{n}.xml")))
    batch_indexes = []
    real_batch_index = topic_tags.BatchIndex

    def counted(db: Any, article_ids: Any) -> Any:
        batch_indexes.append(len(article_ids))
        return real_batch_index(db, article_ids)

    monkeypatch.setattr(topic_tags, "BatchIndex", counted)
    found = {}
    for in_workers in (True, False):
        monkeypatch.setattr(SqliteBackend, "tags_in_workers", in_workers)
        batch_indexes.clear()
        db = open_db(tmp_path / f"{in_workers}.db")
        sync_config(db, specs, topics, now=NOW)
        options = IngestOptions(
            topics=topics,
            place_stories=Placer(),
            fetch_limits=FetchLimits(host_gap=0),
            # The articles' outlet is not the source's name, which the index adds to it for `source:`.
            source_outlets={spec.name: "Wire Service" for spec in specs},
        )
        assert run_ingest(db, options, now=NOW).new == feeds * 6
        found[in_workers] = db.execute(
            """SELECT a.guid, t.name, at.matched_terms FROM article_topics at
               JOIN articles a ON a.id = at.article_id JOIN topics t ON t.id = at.topic_id
               ORDER BY a.guid, t.name"""
        ).fetchall()
        db.conn.close()
        assert bool(batch_indexes) != in_workers  # the writer built no batch index when the workers tagged
    assert found[True] == found[False]
    assert {name for _, name, _ in found[True]} == {"Troops", "Border", "Wire"}

    # A feed read before brings mostly stored items, which a worker cannot tell apart: it is parsed only, and
    # the writer tags its new ones.
    monkeypatch.setattr(SqliteBackend, "tags_in_workers", True)
    batch_indexes.clear()
    feed_server.feed("/t0.xml", make_rss("Feed 0", 7, feed_id="f0-again"))
    db = open_db(tmp_path / "True.db")
    assert run_ingest(db, options, now=NOW).new == 7
    db.conn.close()
    assert batch_indexes == [7]
