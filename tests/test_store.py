"""The SQLite store: schema and migrations, pragmas, upsert semantics, FTS kept in sync, user state."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.records import ArticleRecord
from store import schema
from store.articles import ArticleFilter, get_article, list_articles, set_read, set_starred, upsert_articles
from store.db import StoreError, open_db, write_batch
from store.sources import SourceSpec, sync_sources

NOW = datetime(2024, 11, 8, 12, 0, tzinfo=UTC)


def _record(guid: str, title: str = "Title", body: str = "Body text", **extra: object) -> ArticleRecord:
    return ArticleRecord(
        guid=guid, title=title, body=body, published=datetime(2024, 11, 5, tzinfo=UTC), **extra
    )


def _source(db) -> int:
    with write_batch(db):
        sync_sources(db, [SourceSpec("S", "url", "http://127.0.0.1/feed")], now=NOW)
    return db.execute("SELECT id FROM sources WHERE name = 'S'").fetchone()[0]


def _fts_ids(db, match: str) -> list[int]:
    return [r[0] for r in db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [match])]


def test_new_database_is_wal_versioned_with_foreign_keys(db_path: Path) -> None:
    db = open_db(db_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert "articles_fts" in db.table_names()


def test_reopening_does_not_migrate_again(db_path: Path) -> None:
    open_db(db_path).conn.close()
    db = open_db(db_path)
    assert schema.migrate(db) == schema.SCHEMA_VERSION
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'articles'").fetchone()[0] == 1


def test_a_newer_schema_is_refused(db_path: Path) -> None:
    db = open_db(db_path)
    db.conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    db.conn.close()
    with pytest.raises(StoreError, match="newer than this newswatch understands"):
        open_db(db_path)


def test_upsert_inserts_then_is_idempotent_then_updates_in_place(db_path: Path) -> None:
    db = open_db(db_path)
    source_id = _source(db)
    with write_batch(db):
        first = upsert_articles(db, source_id, [_record("a"), _record("b")], now=NOW)
    assert len(first.new_ids) == 2 and not first.updated_ids
    with write_batch(db):
        again = upsert_articles(db, source_id, [_record("a"), _record("b")], now=NOW)
    assert (again.new_ids, again.updated_ids, again.unchanged) == ([], [], 2)
    with write_batch(db):
        changed = upsert_articles(db, source_id, [_record("a", body="Corrected body"), _record("b")], now=NOW)
    assert changed.updated_ids == [first.new_ids[0]] and changed.unchanged == 1
    assert get_article(db, first.new_ids[0])["body"] == "Corrected body"
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 2


def test_fts_follows_inserts_updates_and_deletes(db_path: Path) -> None:
    db = open_db(db_path)
    source_id = _source(db)
    with write_batch(db):
        [article_id] = upsert_articles(db, source_id, [_record("a", body="troops deployed")], now=NOW).new_ids
    assert _fts_ids(db, "troops") == [article_id]
    with write_batch(db):
        upsert_articles(db, source_id, [_record("a", body="sanctions announced")], now=NOW)
    assert _fts_ids(db, "troops") == []
    assert _fts_ids(db, "sanctions") == [article_id]
    db.conn.execute("DELETE FROM articles WHERE id = ?", [article_id])
    assert _fts_ids(db, "sanctions") == []


def test_read_and_star_do_not_touch_the_index_or_the_content(db_path: Path) -> None:
    db = open_db(db_path)
    source_id = _source(db)
    with write_batch(db):
        [article_id] = upsert_articles(db, source_id, [_record("a", body="troops")], now=NOW).new_ids
    changes_before = db.conn.total_changes
    set_read(db, [article_id])
    set_starred(db, article_id, True)
    # One row each; an FTS re-index would have written several more rows.
    assert db.conn.total_changes - changes_before == 2
    [row] = list_articles(db, ArticleFilter(unread_only=False, starred_only=True))
    assert row["read"] == 1 and row["starred"] == 1
    assert list_articles(db, ArticleFilter(unread_only=True)) == []


def test_a_failed_batch_leaves_nothing_behind(db_path: Path) -> None:
    db = open_db(db_path)
    source_id = _source(db)
    with pytest.raises(RuntimeError), write_batch(db):
        upsert_articles(db, source_id, [_record("a")], now=NOW)
        raise RuntimeError("crash in the middle of a batch")
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    assert _fts_ids(db, "body") == []


def test_unreadable_database_gives_one_clear_line(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-db.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as raised:
        open_db(bogus)
    message = str(raised.value)
    assert str(bogus) in message and "\n" not in message
    assert "not a valid newswatch database" in message


def test_index_tokenizer_is_the_one_the_query_language_compiles_for() -> None:
    from topics.terms import FTS5_TOKENIZE

    assert schema.FTS_TOKENIZE == FTS5_TOKENIZE
