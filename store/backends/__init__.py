"""What differs between the two stores, in one place.

The store's SQL is written once, in SQLite's dialect, in the modules beside this package (`store.articles`,
`store.views`, ...), and every function there takes a database handle. That handle is either an
`store.db.Database` (one file, the embedded default) or a `store.backends.postgres.PgDatabase` (a team
server), which speaks the same small API (`execute`, `query`, `conn.execute`, `conn.executemany`) and
translates the few SQLite-only forms the store uses (see `store.backends.postgres.translate`).

What cannot be translated is a `Backend` method, implemented once per backend:

=========================  ==========================================  ==========================================
                           SQLite (`store.backends.sqlite`)            PostgreSQL (`store.backends.postgres`)
=========================  ==========================================  ==========================================
open + schema/migrations   `store.db.open_db`, `store.schema`          `open_postgres`, `MIGRATIONS` there
                           (PRAGMA user_version)                       (table `schema_version`)
ids of inserted articles   rowids in one write transaction             `INSERT ... RETURNING id`
full-text index            FTS5 external-content table + triggers      `articles.fts` tsvector + GIN, written by
                                                                       Python with the same tokenizer
full-text matching         `articles_fts MATCH <fts5>`                 `fts @@ <tsquery>` compiled from the FTS5
                                                                       expression (`fts5_to_tsquery`)
a batch's tagging index    a temp FTS5 table                           the main index restricted to the batch
"anything new?"            PRAGMA data_version, polled                 LISTEN/NOTIFY: pushed (`wait_for_change`)
one ingest at a time       flock() on a file beside the database       ingests run together (a shared advisory
                                                                       lock: `regroup` takes it exclusively)
claiming sources           all of them (one ingest at a time)          advisory lock per source, SKIP-style
one placer                 the ingest lock already                     a session advisory lock
serialized sections        BEGIN IMMEDIATE already                     pg_advisory_xact_lock (config, alerts)
=========================  ==========================================  ==========================================

Nothing outside `store/` imports from here except through `store.db.open_db` (which takes a path or a
`postgresql://` URL) and `store.lock.ingest_lock`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: str | Path | None) -> bool:
    """Is this database target a PostgreSQL URL rather than a file path?"""
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def database_target(text: str) -> str | Path:
    """What `--db`, $NEWSWATCH_DB or `database =` names: a postgresql:// URL (kept as text) or a file path.

    Raises ValueError for any other URL (`mysql://…`, a misspelt scheme), so it is not taken for a file name."""
    if text.startswith(POSTGRES_SCHEMES):
        return text
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise ValueError(f"unsupported database URL scheme {scheme!r}: use a file path or postgresql://…")
    return Path(text).expanduser()


class Backend(Protocol):
    """The operations whose SQL differs too much between the backends to translate."""

    name: str
    # Whether new articles may be tagged before they are stored, in worker processes, by
    # topics.tagging.tag_texts: an FTS5 index of their own answers as this store's tagging does.
    tags_in_workers: bool

    def insert_articles(self, db: Any, source_id: int, inserts: list[tuple[Any, ...]]) -> list[int]:
        """Insert article rows (`store.backends.sqlite._INSERT_SQL` order), index them, return their ids in order."""
        ...

    def reindex_articles(self, db: Any, article_ids: list[int]) -> None:
        """Bring the full-text index up to date for articles whose title, body or outlet changed."""
        ...

    def data_version(self, db: Any) -> int:
        """A number that changes when another connection commits."""
        ...

    # Whether `wait_for_change` works: the server tells a waiting connection when another commits.
    pushes_changes: bool

    def wait_for_change(self, db: Any, timeout: float) -> bool:
        """Block until another connection commits a change (True) or `timeout` seconds pass (False)."""
        ...

    def exclusive(self, db: Any, name: str) -> None:
        """Inside a write transaction: no other process runs one that asked for `name` until it ends."""
        ...

    def claim_round(self, db: Any) -> Any:
        """When this pass began, for `claim_sources`: what peers claimed since is theirs this round."""
        ...

    def claim_sources(self, db: Any, *, after: int, round_start: Any, limit: int) -> list[dict[str, Any]]:
        """Active sources this process may read now (ids above `after`), held until `release_sources`."""
        ...

    def release_sources(self, db: Any, ids: list[int]) -> None: ...

    def placement_lock(self, db: Any) -> Any:
        """A context manager: one story placer at a time for this store."""
        ...


def backend_of(db: Any) -> Backend:
    """The backend a database handle belongs to."""
    backend = getattr(db, "backend", None)
    if backend is not None:
        return backend
    from store.backends.sqlite import SQLITE

    return SQLITE
