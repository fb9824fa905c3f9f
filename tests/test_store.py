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


def _fts_ids(db, query: str) -> list[int]:
    from topics.query import compile_query

    fts = compile_query(query).fts
    return [r[0] for r in db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [fts])]


def test_new_database_is_wal_versioned_with_foreign_keys(db_path: Path) -> None:
    db = open_db(db_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert "articles_fts" in db.table_names()


def test_a_pass_checkpoints_the_wal_on_a_thread_of_its_own(db_path: Path) -> None:
    # Inside checkpoints_beside the writer's own commits checkpoint only past WAL_LIMIT_BYTES: the pages
    # still reach the database file, copied by the checkpoint thread; afterwards the writer checkpoints again.
    import time

    from store.db import WAL_LIMIT_BYTES, checkpoints_beside

    db = open_db(db_path)
    db.conn.execute("CREATE TABLE filler (blob BLOB)")
    before = db_path.stat().st_size
    with checkpoints_beside(db):
        assert db.conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (WAL_LIMIT_BYTES // 4096,)
        with write_batch(db):
            db.conn.executemany("INSERT INTO filler VALUES (randomblob(4000))", [()] * 2000)
        deadline = time.monotonic() + 30
        while db_path.stat().st_size < before + 4_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db_path.stat().st_size >= before + 4_000_000
    assert db.conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    assert [t.name for t in __import__("threading").enumerate() if t.name == "newswatch-checkpoints"] == []
    db.conn.close()


def test_a_long_pass_keeps_the_wal_near_its_limit(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A writer that keeps writing never lets a passive checkpoint restart the WAL: a million-article .jsonl
    # left 12 GB of it. Past the limit the checkpoint thread waits for a commit and restarts it.
    import time

    from store import db as store_db

    monkeypatch.setattr(store_db, "WAL_LIMIT_BYTES", 1 << 20, raising=False)
    db = open_db(db_path)
    db.conn.execute("CREATE TABLE filler (blob BLOB)")
    wal = Path(f"{db_path}-wal")
    largest = 0
    with store_db.checkpoints_beside(db):
        for _ in range(400):  # 400 commits of 100 KB, a few ms apart, as a pass's commit groups come
            with write_batch(db):
                db.conn.executemany("INSERT INTO filler VALUES (randomblob(4000))", [()] * 25)
            largest = max(largest, wal.stat().st_size)
            time.sleep(0.002)
    assert db.conn.execute("SELECT count(*) FROM filler").fetchone()[0] == 10_000  # 40 MB written
    assert largest < 16 << 20, f"WAL reached {largest / 2**20:.1f} MB"
    db.conn.close()


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


def test_upsert_inserts_then_is_idempotent_then_updates_in_place(store_target: str) -> None:
    db = open_db(store_target)
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


def test_fts_follows_inserts_updates_and_deletes(store_target: str) -> None:
    db = open_db(store_target)
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


def test_read_and_star_do_not_touch_the_index_or_the_content(store_target: str) -> None:
    db = open_db(store_target)
    source_id = _source(db)
    with write_batch(db):
        [article_id] = upsert_articles(db, source_id, [_record("a", body="troops")], now=NOW).new_ids
    if store_target.startswith("postgresql://"):
        before = db.execute(
            "SELECT fts::text, changed_at FROM articles WHERE id = ?", [article_id]
        ).fetchone()
    else:
        changes_before = db.conn.total_changes
    set_read(db, [article_id])
    set_starred(db, article_id, True)
    if store_target.startswith("postgresql://"):
        after = db.execute("SELECT fts::text, changed_at FROM articles WHERE id = ?", [article_id]).fetchone()
        assert after == before and "'troops':" in after[0]
    else:
        # One row each; an FTS re-index would have written several more rows.
        assert db.conn.total_changes - changes_before == 2
    [row] = list_articles(db, ArticleFilter(unread_only=False, starred_only=True))
    assert row["read"] == 1 and row["starred"] == 1
    assert list_articles(db, ArticleFilter(unread_only=True)) == []


def test_a_failed_batch_leaves_nothing_behind(store_target: str) -> None:
    db = open_db(store_target)
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


def test_postgresql_schema_is_versioned_and_not_migrated_again(pg_url: str) -> None:
    from store.backends import postgres

    db = open_db(pg_url)
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == postgres.SCHEMA_VERSION
    db.close()
    db = open_db(pg_url)
    assert postgres.migrate(db.conn.raw) == postgres.SCHEMA_VERSION
    assert db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1
    assert {"article_rows", "user_state", "sources", "stories", "alerts", "topics"} <= set(db.table_names())


def test_sqlite_dialect_is_translated_for_postgresql() -> None:
    from store.backends.postgres import translate

    assert translate("SELECT a FROM t WHERE x = ? AND y LIKE 'a%'").sql == (
        "SELECT a FROM t WHERE x = %s AND y LIKE 'a%%'"
    )
    upsert = translate("INSERT OR REPLACE INTO article_features (article_id, blob) VALUES (?, ?)").sql
    assert upsert.endswith("ON CONFLICT (article_id) DO UPDATE SET blob = excluded.blob")
    assert translate("INSERT OR IGNORE INTO alerts (a) SELECT 1").sql.endswith("ON CONFLICT DO NOTHING")
    search = translate(
        "SELECT count(*) FROM articles a WHERE a.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)"
    )
    assert "fts @@ %s::tsquery" in search.sql and search.fts_params == (0,)
    assert translate("INSERT INTO topics (name) VALUES (?)").returns_id
    # A question mark inside a string literal is text, not a parameter.
    assert translate("SELECT '?' FROM t WHERE x = ?").sql == "SELECT '?' FROM t WHERE x = %s"
