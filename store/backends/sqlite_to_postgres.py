"""Copying an SQLite store into a PostgreSQL one (`newswatch migrate --from FILE.db --to postgresql://…`).

Table by table, in key order, in chunks that each commit on their own: an interrupted copy resumes after
the last chunk that reached the server (rows already there are skipped, so a chunk cut short is harmless).
Ids are kept, so stories, alerts and the grouper's state mean the same; the read and starred flags become
the migrating user's (`NEWSWATCH_USER`, else the login name). At the end the counts of every table are
compared, and any difference is reported by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from store.backends.postgres import (
    PgDatabase,
    PgStoreError,
    article_vector,
    current_user,
    redact,
)
from store.schema import outlet_text


@dataclass(frozen=True, slots=True)
class Table:
    source: str  # the SQLite table
    target: str  # the PostgreSQL table
    key: tuple[str, ...]  # copy order and resume point


# Parents before children (foreign keys); articles' duplicate_of is filled in after every article is there,
# since the original of a set of copies may have a higher id than its copies.
TABLES = [
    Table("sources", "sources", ("id",)),
    Table("source_files", "source_files", ("source_id", "path")),
    Table("topics", "topics", ("id",)),
    Table("articles", "article_rows", ("id",)),
    Table("article_topics", "article_topics", ("article_id", "topic_id")),
    Table("stories", "stories", ("id",)),
    Table("alerts", "alerts", ("story_id", "topic_id")),
    Table("article_features", "article_features", ("article_id",)),
    Table("grouping_articles", "grouping_articles", ("article_id",)),
    Table("grouping_stories", "grouping_stories", ("story_id",)),
    Table("grouping_df", "grouping_df", ("term",)),
    Table("grouping_meta", "grouping_meta", ("key",)),
    Table("article_fulltext", "article_fulltext", ("article_id",)),
    Table("article_replacements", "article_replacements", ("article_id",)),
]
# Filled from `articles` after the tables above.
_USER_STATE = "user_state"
_DUPLICATES = "duplicate_of"

Progress = Callable[[str, int, int], None]  # (table, rows done, rows in all)


class CopyMismatch(PgStoreError):
    """The copy's counts differ from the source's; str() names the tables."""


def _columns_sqlite(sqlite: Any, table: str) -> list[str]:
    return [row[1] for row in sqlite.execute(f"PRAGMA table_info({table})")]


def _columns_pg(pg: PgDatabase, table: str) -> list[str]:
    return [
        row[0]
        for row in pg.conn.raw.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            [table],
        )
    ]


def _resume_point(pg: PgDatabase, table: Table) -> tuple[Any, ...] | None:
    keys = ", ".join(table.key)
    row = pg.conn.raw.execute(
        f"SELECT {keys} FROM {table.target} ORDER BY {', '.join(k + ' DESC' for k in table.key)} LIMIT 1"
    ).fetchone()
    return tuple(row) if row else None


def _chunks(
    sqlite: Any, table: Table, columns: Sequence[str], after: tuple[Any, ...] | None, size: int
) -> Iterator[list[Any]]:
    keys = ", ".join(table.key)
    marks = ", ".join("?" * len(table.key))
    select = f"SELECT {', '.join(columns)} FROM {table.source}"
    while True:
        where = f" WHERE ({keys}) > ({marks})" if after is not None else ""
        rows = sqlite.execute(f"{select}{where} ORDER BY {keys} LIMIT ?", [*(after or ()), size]).fetchall()
        if not rows:
            return
        yield rows
        positions = [columns.index(k) for k in table.key]
        after = tuple(rows[-1][i] for i in positions)


def copy_store(
    sqlite: Any, pg: PgDatabase, *, progress: Progress | None = None, chunk: int = 2000
) -> dict[str, int]:
    """Copy every table of the SQLite store `sqlite` (an open store.db.Database) into `pg`, resuming
    where an earlier copy stopped; returns rows per target table. Raises CopyMismatch if counts differ."""
    raw = pg.conn.raw
    user = current_user()
    source_names = dict(sqlite.execute("SELECT id, name FROM sources").fetchall())
    with pg.conn._errors():
        for table in TABLES:
            wanted = _columns_pg(pg, table.target)
            columns = [c for c in _columns_sqlite(sqlite, table.source) if c in wanted and c != _DUPLICATES]
            extra = ["fts"] if table.source == "articles" else []
            blob = table.source == "grouping_meta" and "blob" in wanted
            total = sqlite.execute(f"SELECT count(*) FROM {table.source}").fetchone()[0]
            done = raw.execute(f"SELECT count(*) FROM {table.target}").fetchone()[0]
            names = [*columns, *extra, *(["blob"] if blob else [])]
            insert = (
                f"INSERT INTO {table.target} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
                " ON CONFLICT DO NOTHING"
            )
            for rows in _chunks(sqlite, table, columns, _resume_point(pg, table), chunk):
                params = [_row(table, columns, row, source_names, blob) for row in rows]
                with raw.transaction():
                    raw.cursor().executemany(insert, params)
                done += len(rows)
                if progress:
                    progress(table.target, min(done, total), total)
        _copy_duplicates(sqlite, pg, chunk, progress)
        _copy_user_state(sqlite, pg, user, chunk, progress)
        # The identity columns continue after the copied ids.
        for table, column in (("sources", "id"), ("topics", "id"), ("article_rows", "id")):
            raw.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                f" greatest((SELECT max({column}) FROM {table}), 1))"
            )
        counts = verify(sqlite, pg, user)
        # Planner statistics now, not whenever autovacuum gets to it: a freshly copied store has none, and its
        # first searches would be planned without row estimates.
        raw.execute("ANALYZE")
        return counts


def _row(
    table: Table, columns: list[str], row: Sequence[Any], names: dict[int, str], blob: bool
) -> list[Any]:
    values = list(row)
    if table.source == "articles":
        get = dict(zip(columns, values, strict=True)).__getitem__
        vector = article_vector(
            get("title"), get("body"), outlet_text(get("outlet"), names.get(get("source_id")))
        )
        values.append(vector)
    if blob:
        # SQLite keeps the grouper's embedding sum (a blob) in the integer column; here it has its own.
        value = values[columns.index("value")]
        if isinstance(value, bytes):
            values[columns.index("value")] = 0
            values.append(value)
        else:
            values.append(None)
    return values


def _copy_duplicates(sqlite: Any, pg: PgDatabase, chunk: int, progress: Progress | None) -> None:
    rows = sqlite.execute(
        "SELECT id, duplicate_of FROM articles WHERE duplicate_of IS NOT NULL ORDER BY id"
    ).fetchall()
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        with pg.conn.raw.transaction():
            pg.conn.raw.cursor().executemany(
                "UPDATE article_rows SET duplicate_of = %s WHERE id = %s AND duplicate_of IS DISTINCT FROM %s",
                [(dup, aid, dup) for aid, dup in part],
            )
        if progress:
            progress("article_rows.duplicate_of", start + len(part), len(rows))


def _copy_user_state(sqlite: Any, pg: PgDatabase, user: str, chunk: int, progress: Progress | None) -> None:
    rows = sqlite.execute(
        "SELECT id, read, starred FROM articles WHERE read != 0 OR starred != 0 ORDER BY id"
    ).fetchall()
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        with pg.conn.raw.transaction():
            pg.conn.raw.cursor().executemany(
                """INSERT INTO user_state (user_name, article_id, read, starred) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (user_name, article_id) DO UPDATE SET read = excluded.read, starred = excluded.starred""",
                [(user, aid, read, starred) for aid, read, starred in part],
            )
        if progress:
            progress(_USER_STATE, start + len(part), len(rows))


def verify(sqlite: Any, pg: PgDatabase, user: str) -> dict[str, int]:
    """Rows per target table; raises CopyMismatch naming every table whose count differs from the source."""
    counts: dict[str, int] = {}
    problems = []
    raw = pg.conn.raw
    pairs = [(t.source, t.target, "") for t in TABLES]
    pairs.append(("articles", _USER_STATE, " WHERE read != 0 OR starred != 0"))
    pairs.append(("articles", "article_rows.duplicate_of", " WHERE duplicate_of IS NOT NULL"))
    for source, target, where in pairs:
        have = sqlite.execute(f"SELECT count(*) FROM {source}{where}").fetchone()[0]
        if target == _USER_STATE:
            got = raw.execute("SELECT count(*) FROM user_state WHERE user_name = %s", [user]).fetchone()[0]
        elif target.endswith(".duplicate_of"):
            got = raw.execute("SELECT count(*) FROM article_rows WHERE duplicate_of IS NOT NULL").fetchone()[
                0
            ]
        else:
            got = raw.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        counts[target] = got
        if got != have:
            problems.append(f"{target} {got} rows, {source} {have}")
    if problems:
        raise CopyMismatch(f"{redact(pg.url)}: the copy differs from the source: " + "; ".join(problems))
    return counts


def migrate_store(
    source: Any, url: str, *, progress: Progress | None = None, chunk: int = 2000
) -> dict[str, int]:
    """Copy the SQLite store at `source` (a path; migrated to the current schema first) into the
    PostgreSQL store at `url` (created or migrated as needed); returns the verified rows per table."""
    from store.backends.postgres import open_postgres
    from store.db import open_db

    sqlite = open_db(source)
    try:
        pg = open_postgres(url)
        try:
            return copy_store(sqlite, pg, progress=progress, chunk=chunk)
        finally:
            pg.close()
    finally:
        sqlite.conn.close()
