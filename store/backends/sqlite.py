"""The SQLite side of `store.backends.Backend`: the code already in the store modules, named here so the two
backends can be read side by side. Nothing here changes how SQLite is used."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from store.values import chunks

# Column order of the rows store.articles builds (the PostgreSQL backend's insert takes the same order).
_INSERT_SQL = """INSERT INTO articles (source_id, guid, title, body, url, author, outlet, published, updated,
    date_origin, content_hash, body_chars, sort_time, first_seen, changed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


class SqliteBackend:
    name = "sqlite"
    tags_in_workers = True  # store.topic_tags.TextIndex is the batch index, in a database of its own

    def insert_articles(self, db: Any, source_id: int, inserts: list[tuple[Any, ...]]) -> list[int]:
        ids = _insert_rows(db.conn, source_id, inserts)
        _index_new(db.conn, ids)
        return ids

    def reindex_articles(self, db: Any, article_ids: list[int]) -> None:
        # The FTS5 update trigger (schema v7) already re-indexed them.
        return None

    # Nothing tells a connection that another committed: readers poll data_version.
    pushes_changes = False

    def wait_for_change(self, db: Any, timeout: float) -> bool:
        raise NotImplementedError("SQLite has no change notifications: poll data_version")

    def data_version(self, db: Any) -> int:
        return int(db.execute("PRAGMA data_version").fetchone()[0])

    def exclusive(self, db: Any, name: str) -> None:
        # BEGIN IMMEDIATE (write_batch) already excludes every other writer.
        return None

    def claim_round(self, db: Any) -> Any:
        return None

    def claim_sources(self, db: Any, *, after: int, round_start: Any, limit: int) -> list[dict[str, Any]]:
        # One ingest at a time (the lock file): it reads every active source, in one batch (the query of
        # store.sources.active_sources, which imports this package: a backend does not call back into it).
        if after > 0:
            return []
        return list(db.query("SELECT * FROM sources WHERE active = 1 ORDER BY name COLLATE NOCASE"))

    def release_sources(self, db: Any, ids: list[int]) -> None:
        return None

    def placement_lock(self, db: Any) -> Any:
        # The ingest lock already makes the placer the only one.
        return contextlib.nullcontext()


SQLITE = SqliteBackend()


def _insert_rows(conn: Any, source_id: int, inserts: list[tuple[Any, ...]]) -> list[int]:
    """executemany the inserts and return their ids in order.

    Inside the write transaction a new rowid is max(rowid) + 1, so n rows that end at max + n are exactly
    max + 1 .. max + n; anything else (SQLite's random rowids once the maximum rowid is used) is looked up.
    executemany was ~20% faster than one execute per row (and RETURNING cannot be read from executemany).
    """
    before = conn.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0]
    cursor = conn.executemany(_INSERT_SQL, inserts)
    last = cursor.lastrowid or conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    if last - before == len(inserts):
        return list(range(before + 1, last + 1))
    ids = {}
    for chunk in chunks([values[1] for values in inserts]):
        marks = ",".join("?" * len(chunk))
        for guid, article_id in conn.execute(
            f"SELECT guid, id FROM articles WHERE source_id = ? AND guid IN ({marks})", [source_id, *chunk]
        ):
            ids[guid] = article_id
    return [ids[values[1]] for values in inserts]


def _index_new(conn: Any, ids: Sequence[int]) -> None:
    """Add new articles to the FTS index in one statement per run of ids (the insert trigger is gone, v4)."""
    if not ids:
        return
    if ids[-1] - ids[0] == len(ids) - 1:
        conn.execute(
            "INSERT INTO articles_fts (rowid, title, body, outlet)"
            " SELECT id, title, body, outlet FROM articles_fts_content WHERE id BETWEEN ? AND ?",
            [ids[0], ids[-1]],
        )
        return
    for chunk in chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        conn.execute(
            "INSERT INTO articles_fts (rowid, title, body, outlet)"
            f" SELECT id, title, body, outlet FROM articles_fts_content WHERE id IN ({marks})",
            list(chunk),
        )
