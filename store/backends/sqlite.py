"""The SQLite side of `store.backends.Backend`: the code already in the store modules, named here so the two
backends can be read side by side. Nothing here changes how SQLite is used."""

from __future__ import annotations

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

    def data_version(self, db: Any) -> int:
        return int(db.execute("PRAGMA data_version").fetchone()[0])


SQLITE = SqliteBackend()
