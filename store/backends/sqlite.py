"""The SQLite side of `store.backends.Backend`: the code already in the store modules, named here so the two
backends can be read side by side. Nothing here changes how SQLite is used."""

from __future__ import annotations

import contextlib
from typing import Any


class SqliteBackend:
    name = "sqlite"

    def insert_articles(self, db: Any, source_id: int, inserts: list[tuple[Any, ...]]) -> list[int]:
        from store.articles import _index_new, _insert_rows

        ids = _insert_rows(db.conn, source_id, inserts)
        _index_new(db.conn, ids)
        return ids

    def reindex_articles(self, db: Any, article_ids: list[int]) -> None:
        # The FTS5 update trigger (schema v7) already re-indexed them.
        return None

    def fts_ids(self, db: Any, fts: str, article_ids: list[int] | None = None) -> list[int]:
        if article_ids is None:
            return [
                row[0]
                for row in db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [fts])
            ]
        from store.topics import BatchIndex

        index = BatchIndex(db, article_ids)
        try:
            return index.matching_ids(fts)
        finally:
            index.close()

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
        # One ingest at a time (the lock file): it reads every active source, in one batch.
        if after > 0:
            return []
        from store.sources import active_sources

        return active_sources(db)

    def release_sources(self, db: Any, ids: list[int]) -> None:
        return None

    def placement_lock(self, db: Any) -> Any:
        # The ingest lock already makes the placer the only one.
        return contextlib.nullcontext()


SQLITE = SqliteBackend()
