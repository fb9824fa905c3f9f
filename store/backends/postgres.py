"""The PostgreSQL side of `store.backends.Backend`: a team store on a server, through psycopg 3.

The store modules write their SQL once, in SQLite's dialect. `PgDatabase` speaks the part of the
`store.db.Database` API they use and passes each statement through `translate`, which rewrites the few
SQLite-only forms they contain (listed in `_RULES`, each with the reason) and turns `?` into psycopg's `%s`.
A handful of SQLite habits are made true on the server instead, by objects the schema creates: a
case-insensitive `nocase` collation (ICU), `sum(boolean)` and `json_group_array(text)` aggregates.

Full-text search keeps the query language's semantics by indexing exactly what SQLite's FTS5 table indexes:
the tokens of `topics.terms.tokenize` (the Python mirror of `unicode61 remove_diacritics 2`), written by
Python into `articles.fts` as a `tsvector` with the field as the weight (title A, body B, outlet C) and a
gap of one position between fields, so a phrase never runs from one field into the next. A compiled FTS5
expression is turned into the equivalent `tsquery` by `fts5_to_tsquery`. Where PostgreSQL cannot keep a
semantic (positions stop at 16,383, at most 256 positions are kept per word, words over 2 KB are not
indexed) docs/query-language.md says so and a test shows it.

psycopg is imported only here, and this module only for a `postgresql://` database.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from store.errors import IngestBusy, StoreError
from store.schema import outlet_text
from topics.terms import tokenize

# --- URLs and errors ---------------------------------------------------------------------------------------


def redact(url: str) -> str:
    """The URL as shown in messages: never the password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("@")[-1]
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


# The store's callers (the interface's connections, the CLI) know sqlite3's DB-API exception classes; a server
# error is raised as one of them too, so they need not know which backend they talk to.
class PgStoreError(StoreError, sqlite3.DatabaseError):
    """A PostgreSQL error, as one line naming the database."""


class PgBusy(PgStoreError, sqlite3.OperationalError):
    """A lock wait ran out (`lock_timeout`): what SQLite calls "database is locked"."""


class PgInterrupted(PgStoreError, sqlite3.OperationalError):
    """A query cancelled by `PgConnection.interrupt`, as sqlite3's "interrupted"."""


# --- SQL translation ---------------------------------------------------------------------------------------

# Tables whose `INSERT OR REPLACE` becomes an upsert on this key (SQLite replaces on any unique key; these
# tables have one that matters).
_REPLACE_KEYS = {
    "article_features": ("article_id",),
    "grouping_articles": ("article_id",),
    "grouping_stories": ("story_id",),
    "article_topics": ("article_id", "topic_id"),
    "article_replacements": ("article_id",),
    "article_fulltext": ("article_id",),
}
# Tables with a generated id: a single-row INSERT returns it, for `cursor.lastrowid`.
_ID_TABLES = ("sources", "topics", "article_rows")


def _replace_upsert(match: re.Match[str]) -> str:
    table, columns, rest = match.group(1), match.group(2), match.group(3)
    keys = _REPLACE_KEYS[table]
    names = [c.strip() for c in columns.split(",")]
    sets = ", ".join(f"{c} = excluded.{c}" for c in names if c not in keys)
    return f"INSERT INTO {table} ({columns}){rest} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"


# (pattern, replacement, why): every SQLite-only form the store's SQL uses, and nothing else.
_RULES: list[tuple[re.Pattern[str], Any, str]] = [
    (
        re.compile(r"^\s*BEGIN IMMEDIATE\s*$"),
        "BEGIN ISOLATION LEVEL READ COMMITTED",
        "writers need no up-front write lock: rows are locked as they are written",
    ),
    (
        re.compile(r"^\s*BEGIN\s*$"),
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "a plain BEGIN is a read snapshot (store.db.read_snapshot): one committed state for several reads",
    ),
    (
        re.compile(r"INSERT OR REPLACE INTO (\w+) \(([^)]*)\)(.*)\Z", re.S),
        _replace_upsert,
        "SQLite's REPLACE is an upsert on the table's key",
    ),
    (
        re.compile(r"INSERT OR IGNORE INTO(.*)\Z", re.S),
        lambda m: f"INSERT INTO{m.group(1)} ON CONFLICT DO NOTHING",
        "SQLite's OR IGNORE",
    ),
    (
        re.compile(r"SELECT rowid FROM articles_fts WHERE articles_fts MATCH \?( ORDER BY rowid( DESC)?)?"),
        lambda m: (
            "SELECT id FROM article_rows WHERE fts @@ ?::tsquery"
            + (f" ORDER BY id{m.group(2) or ''}" if m.group(1) else "")
        ),
        "the index is a column of the shared rows (no need to join the user's state); the FTS5 parameter becomes a tsquery",
    ),
    (
        re.compile(r"SELECT rowid FROM temp\.batch_fts WHERE batch_fts MATCH \?"),
        "SELECT b.id FROM batch_fts b JOIN article_rows a ON a.id = b.id WHERE a.fts @@ ?::tsquery",
        "a batch's tagging index is the main index restricted to the batch's ids",
    ),
    (
        re.compile(r"CREATE VIRTUAL TABLE temp\.batch_fts USING fts5\([^)]*\)"),
        "CREATE TEMP TABLE batch_fts (id bigint PRIMARY KEY)",
        "see above: the batch is a list of ids",
    ),
    (
        re.compile(
            r"INSERT INTO temp\.batch_fts \(rowid, title, body, outlet\)\s*"
            r"SELECT id, title, body, outlet FROM articles_fts_content"
        ),
        "INSERT INTO batch_fts (id) SELECT id FROM articles",
        "see above",
    ),
    (re.compile(r"DROP TABLE IF EXISTS temp\.batch_fts"), "DROP TABLE IF EXISTS batch_fts", "see above"),
    (
        re.compile(r"^PRAGMA busy_timeout = (\d+)$"),
        lambda m: f"SET lock_timeout = {int(m.group(1))}",
        "how long a write waits for another's row locks (the interface's short attempts)",
    ),
    (
        re.compile(r"^(\s*)UPDATE articles SET (?!read |starred )"),
        lambda m: f"{m.group(1)}UPDATE article_rows SET ",
        "`articles` is a view adding the user's read/starred state; other columns are written to the table",
    ),
    (
        re.compile(r"^(\s*)DELETE FROM articles\b"),
        lambda m: f"{m.group(1)}DELETE FROM article_rows",
        "see above",
    ),
    (
        re.compile(r"\bjson_each\(\?\) j\b"),
        "nw_json_ints(?::text) j",
        "a JSON list of integers as rows of `value`",
    ),
    (
        re.compile(r"INSERT INTO grouping_df (.*) DO UPDATE SET n = n \+ excluded\.n"),
        lambda m: f"INSERT INTO grouping_df {m.group(1)} DO UPDATE SET n = grouping_df.n + excluded.n",
        "an unqualified column in ON CONFLICT's SET is ambiguous here",
    ),
    (
        re.compile(r"\bIS NOT \?"),
        "IS DISTINCT FROM ?",
        "SQLite's IS NOT compares NULLs as values",
    ),
    (
        re.compile(r"\bLIMIT \?"),
        "LIMIT nullif(?::bigint, -1)",
        "LIMIT -1 is SQLite's 'no limit'",
    ),
    (
        re.compile(
            r"VALUES \('embedding_sum', \?\)\s*ON CONFLICT \(key\) DO UPDATE SET value = excluded\.value"
        ),
        "VALUES ('embedding_sum', 0, ?) ON CONFLICT (key) DO UPDATE SET blob = excluded.blob",
        "SQLite keeps the grouper's embedding sum (a blob) in the integer value column; here it has its own",
    ),
    (
        re.compile(r"INSERT INTO grouping_meta \(key, value\) VALUES \('embedding_sum'"),
        "INSERT INTO grouping_meta (key, value, blob) VALUES ('embedding_sum'",
        "see above",
    ),
    (
        re.compile(r"SELECT value FROM grouping_meta WHERE key = 'embedding_sum'"),
        "SELECT blob FROM grouping_meta WHERE key = 'embedding_sum'",
        "see above",
    ),
    (
        re.compile(
            r"SELECT story_id, outlet FROM articles(.*?)GROUP BY story_id, outlet COLLATE NOCASE", re.S
        ),
        lambda m: (
            f"SELECT story_id, min(outlet) FROM articles{m.group(1)}GROUP BY story_id, outlet COLLATE NOCASE"
        ),
        "a column grouped case-insensitively is not itself a grouping key here: one spelling of each",
    ),
    (
        re.compile(
            r"SELECT DISTINCT a\.story_id, t\.name (.*?)ORDER BY (a\.story_id, )?t\.name COLLATE NOCASE", re.S
        ),
        lambda m: (
            f"SELECT a.story_id, t.name {m.group(1)}GROUP BY a.story_id, t.name"
            f" ORDER BY {m.group(2) or ''}t.name COLLATE NOCASE"
        ),
        "DISTINCT cannot order by an expression it does not select; GROUP BY can",
    ),
]


@dataclass(frozen=True, slots=True)
class Translated:
    sql: str
    fts_params: tuple[int, ...]  # positions of parameters that are FTS5 expressions, to become tsqueries
    returns_id: bool  # a single-row INSERT that returns the new id (cursor.lastrowid)


@lru_cache(maxsize=1024)
def translate(sql: str) -> Translated:
    """SQLite-dialect SQL from the store modules -> the same statement for PostgreSQL."""
    for pattern, replacement, _why in _RULES:
        sql = pattern.sub(replacement, sql)
    returns_id = (
        bool(re.match(rf"\s*INSERT INTO ({'|'.join(_ID_TABLES)}) \(", sql)) and "RETURNING" not in sql
    )
    if returns_id:
        sql += " RETURNING id"
    out: list[str] = []
    fts_params: list[int] = []
    n = 0
    quoted = False
    for i, ch in enumerate(sql):
        if ch == "'":
            quoted = not quoted
            out.append(ch)
        elif ch == "?" and not quoted:
            if sql.startswith("?::tsquery", i):
                fts_params.append(n)
            out.append("%s")
            n += 1
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return Translated("".join(out), tuple(fts_params), returns_id)


# --- full text: the index and the queries -------------------------------------------------------------------

# tsvector limits: positions 1..16383, 256 positions per lexeme, lexemes under 2 KB.
_MAX_POSITION = 16383
_MAX_POSITIONS_PER_WORD = 256
_MAX_LEXEME_BYTES = 2046
# Field order in the vector: the short fields first, so a long body cannot push them past the position limit.
_WEIGHTS = {"outlet": "C", "title": "A", "body": "B"}


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def article_vector(title: str, body: str, outlet: str) -> str:
    """The tsvector (as text) of an article's searchable fields, tokenized as FTS5 does."""
    positions: dict[str, list[str]] = {}
    position = 0
    for field, text in (("outlet", outlet), ("title", title), ("body", body)):
        weight = _WEIGHTS[field]
        position += 1  # a gap between fields: no phrase spans two of them
        for token in tokenize(text):
            position += 1
            word = token.text
            if len(word.encode()) > _MAX_LEXEME_BYTES:
                continue
            seen = positions.setdefault(word, [])
            if len(seen) < _MAX_POSITIONS_PER_WORD:
                seen.append(f"{min(position, _MAX_POSITION)}{weight}")
    return " ".join(f"{_lexeme(word)}:{','.join(where)}" for word, where in positions.items())


_FTS_TOKEN = re.compile(r'\s*(?:(\()|(\))|(AND|OR|NOT)\b|\{([^}]*)\}\s*:|(\w+)\s*:|"((?:[^"]|"")*)"(\s*\*)?)')


@lru_cache(maxsize=1024)
def fts5_to_tsquery(fts: str) -> str:
    """The tsquery (as text) equivalent to an FTS5 expression as `topics.query` compiles them.

    That grammar is small: `cols : "a b" *`, `cols : ("x" OR "y")`, `(p AND q)`, `(p OR q)`, `(p NOT q)`,
    where cols is one column or `{title body}`. A column scope becomes a weight restriction on every word,
    a phrase `<->`, a trailing `*` a prefix on the last word. Anything else is refused (ValueError)."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = fts.rstrip()
    while pos < len(text):
        m = _FTS_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"not a compiled query at {pos}: {fts[pos : pos + 20]!r}")
        pos = m.end()
        lparen, rparen, op, cols, col, phrase, star = m.groups()
        if lparen:
            tokens.append(("(", ""))
        elif rparen:
            tokens.append((")", ""))
        elif op:
            tokens.append((op, ""))
        elif cols is not None or col is not None:
            tokens.append(("COLS", cols if cols is not None else col))
        else:
            tokens.append(("PHRASE" + ("*" if star else ""), phrase.replace('""', '"')))

    index = 0

    def peek() -> str | None:
        return tokens[index][0] if index < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise ValueError(f"unexpected end of compiled query: {fts!r}")
        index += 1
        return tokens[index - 1]

    def phrase(words: str, prefix: bool, weights: str) -> str:
        parts = words.split()
        if not parts:
            raise ValueError(f"empty phrase in {fts!r}")
        out = [f"{_lexeme(w)}:{weights}" for w in parts[:-1]]
        out.append(f"{_lexeme(parts[-1])}:{'*' if prefix else ''}{weights}")
        return out[0] if len(out) == 1 else "(" + " <-> ".join(out) + ")"

    def leaf(weights: str) -> str:
        kind, value = take()
        if kind.startswith("PHRASE"):
            return phrase(value, kind.endswith("*"), weights)
        if kind != "(":
            raise ValueError(f"unexpected {kind} in {fts!r}")
        alts = [leaf(weights)]
        while peek() == "OR":
            take()
            alts.append(leaf(weights))
        if take()[0] != ")":
            raise ValueError(f"unbalanced parentheses in {fts!r}")
        return alts[0] if len(alts) == 1 else "(" + " | ".join(alts) + ")"

    def primary() -> str:
        kind, value = take()
        if kind == "(":
            inner = or_expr()
            if take()[0] != ")":
                raise ValueError(f"unbalanced parentheses in {fts!r}")
            return inner
        if kind == "COLS":
            weights = "".join(sorted(_WEIGHTS[c] for c in value.split()))
            return leaf(weights)
        raise ValueError(f"unexpected {kind} in {fts!r}")

    def not_expr() -> str:
        out = primary()
        while peek() == "NOT":
            take()
            out = f"({out} & !{primary()})"
        return out

    def and_expr() -> str:
        parts = [not_expr()]
        while peek() == "AND":
            take()
            parts.append(not_expr())
        return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"

    def or_expr() -> str:
        parts = [and_expr()]
        while peek() == "OR":
            take()
            parts.append(and_expr())
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"

    result = or_expr()
    if index != len(tokens):
        raise ValueError(f"trailing input in compiled query: {fts!r}")
    return result


# --- the connection -----------------------------------------------------------------------------------------


class PgCursor:
    """The parts of sqlite3.Cursor the store reads."""

    def __init__(self, cursor: psycopg.Cursor[Any], returns_id: bool) -> None:
        self._cursor = cursor
        self.lastrowid: int | None = None
        if returns_id:
            row = cursor.fetchone()
            self.lastrowid = row[0] if row else None

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class PgConnection:
    """The parts of sqlite3.Connection the store uses, over one psycopg connection in autocommit mode (the
    store opens its own transactions with BEGIN/COMMIT, as on SQLite)."""

    def __init__(self, raw: psycopg.Connection[Any], url: str) -> None:
        self.raw = raw
        self.url = url

    def _params(self, translated: Translated, params: Sequence[Any] | None) -> list[Any]:
        values = list(params or [])
        for i in translated.fts_params:
            values[i] = fts5_to_tsquery(values[i])
        return values

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        translated = translate(sql)
        with self._errors():
            cursor = self.raw.cursor()
            cursor.execute(translated.sql, self._params(translated, params))
            return PgCursor(cursor, translated.returns_id)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> PgCursor:
        translated = translate(sql)
        rows = [self._params(translated, params) for params in seq]
        with self._errors():
            cursor = self.raw.cursor()
            if rows:
                cursor.executemany(translated.sql.removesuffix(" RETURNING id"), rows)
            return PgCursor(cursor, False)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Iterator[dict[str, Any]]:
        translated = translate(sql)
        with self._errors():
            cursor = self.raw.cursor(row_factory=dict_row)
            cursor.execute(translated.sql, self._params(translated, params))
            rows = cursor.fetchall()
        yield from rows

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def interrupt(self) -> None:
        self.raw.cancel()

    def close(self) -> None:
        self.raw.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.errors.QueryCanceled as error:
            if isinstance(error, psycopg.errors.LockNotAvailable) or "lock timeout" in str(error):
                raise PgBusy(f"{redact(self.url)}: the database stayed locked: {_one_line(error)}") from error
            raise PgInterrupted(f"{redact(self.url)}: interrupted") from error
        except psycopg.errors.LockNotAvailable as error:
            raise PgBusy(f"{redact(self.url)}: the database stayed locked: {_one_line(error)}") from error
        except psycopg.Error as error:
            raise PgStoreError(f"{redact(self.url)}: {_one_line(error)}") from error


class PgDatabase:
    """A PostgreSQL store handle with the `store.db.Database` methods the store modules call."""

    def __init__(self, raw: psycopg.Connection[Any], url: str) -> None:
        self.conn = PgConnection(raw, url)
        self.url = url
        self.backend = POSTGRES
        self._listening = False
        self._changes = 0

    def take_changes(self, timeout: float = 0.0) -> int:
        """How many change notifications for this user arrived since the last call, waiting up to `timeout`
        seconds for the first one. The first call starts listening (and counts as one change)."""
        raw = self.conn.raw
        with self.conn._errors():
            if not self._listening:
                raw.execute("LISTEN newswatch")
                self._listening = True
                return 1
            mine = {"data", f"user:{current_user()}"}
            found = 0
            for note in raw.notifies(timeout=timeout):
                if note.payload in mine:
                    found += 1
                    timeout = 0  # drain what else is there, then return
            return found

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Iterator[dict[str, Any]]:
        return self.conn.query(sql, params)

    def table_names(self) -> list[str]:
        return [
            row[0]
            for row in self.conn.raw.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
            )
        ]

    def close(self) -> None:
        self.conn.close()


# --- the backend ----------------------------------------------------------------------------------------------

_INSERT_ARTICLE = """INSERT INTO article_rows (source_id, guid, title, body, url, author, outlet, published, updated,
    date_origin, content_hash, body_chars, sort_time, first_seen, changed_at, fts)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::tsvector) RETURNING id"""


class PostgresBackend:
    name = "postgresql"
    tags_in_workers = False  # its tagging asks the server's text search, not FTS5

    def insert_articles(self, db: PgDatabase, source_id: int, inserts: list[tuple[Any, ...]]) -> list[int]:
        row = db.conn.raw.execute("SELECT name FROM sources WHERE id = %s", [source_id]).fetchone()
        source_name = row[0] if row else None
        params = [
            (*values, article_vector(values[2], values[3], outlet_text(values[6], source_name)))
            for values in inserts
        ]
        ids: list[int] = []
        with db.conn._errors():
            cursor = db.conn.raw.cursor()
            cursor.executemany(_INSERT_ARTICLE, params, returning=True)
            while True:
                ids.append(cursor.fetchone()[0])
                if not cursor.nextset():
                    break
        return ids

    def reindex_articles(self, db: PgDatabase, article_ids: list[int]) -> None:
        if not article_ids:
            return
        with db.conn._errors():
            rows = db.conn.raw.execute(
                """SELECT a.id, a.title, a.body, a.outlet, s.name FROM articles a
                   JOIN sources s ON s.id = a.source_id WHERE a.id = ANY(%s)""",
                [list(article_ids)],
            ).fetchall()
            db.conn.raw.cursor().executemany(
                "UPDATE article_rows SET fts = %s::tsvector WHERE id = %s",
                [
                    (article_vector(title, body, outlet_text(outlet, name)), aid)
                    for aid, title, body, outlet, name in rows
                ],
            )

    def fts_ids(self, db: PgDatabase, fts: str, article_ids: list[int] | None = None) -> list[int]:
        if article_ids is None:
            sql, params = "SELECT id FROM article_rows WHERE fts @@ %s::tsquery", [fts5_to_tsquery(fts)]
        else:
            sql = "SELECT id FROM article_rows WHERE id = ANY(%s) AND fts @@ %s::tsquery"
            params = [list(article_ids), fts5_to_tsquery(fts)]
        with db.conn._errors():
            return [row[0] for row in db.conn.raw.execute(sql, params)]

    pushes_changes = True

    def data_version(self, db: PgDatabase) -> int:
        # A count of the change notifications this connection received (LISTEN/NOTIFY, schema v4): asking
        # reads what the server already sent, without a query.
        db._changes += db.take_changes()
        return db._changes

    def wait_for_change(self, db: PgDatabase, timeout: float) -> bool:
        """Block until another connection commits a change this user sees (True), or `timeout` passes."""
        return db.take_changes(timeout) > 0

    def exclusive(self, db: PgDatabase, name: str) -> None:
        with db.conn._errors():
            db.conn.raw.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_SPACE, name])

    def claim_round(self, db: PgDatabase) -> Any:
        with db.conn._errors():
            return db.conn.raw.execute("SELECT clock_timestamp()").fetchone()[0]

    def claim_sources(
        self, db: PgDatabase, *, after: int, round_start: Any, limit: int
    ) -> list[dict[str, Any]]:
        # Each source is held by a session advisory lock while one process reads it: another process skips
        # it, and a killed process's locks go with its connection. A source claimed since this pass began
        # (server clock) was read by another process in this round: skipped too, checked again once locked.
        with db.conn._errors():
            raw = db.conn.raw
            locked = [
                row[0]
                for row in raw.execute(
                    """WITH candidates AS MATERIALIZED (
                           SELECT id FROM sources
                           WHERE active = 1 AND id > %s AND (claimed_at IS NULL OR claimed_at < %s)
                           ORDER BY id)
                       SELECT id FROM candidates WHERE pg_try_advisory_lock(%s, id::int) LIMIT %s""",
                    [after, round_start, _SOURCE_LOCK_SPACE, limit],
                )
            ]
            if not locked:
                return []
            cursor = raw.cursor(row_factory=dict_row)
            cursor.execute(
                """UPDATE sources SET claimed_at = clock_timestamp()
                   WHERE id = ANY(%s) AND (claimed_at IS NULL OR claimed_at < %s) RETURNING *""",
                [locked, round_start],
            )
            rows = sorted(cursor.fetchall(), key=lambda row: row["id"])
        self.release_sources(db, sorted(set(locked) - {row["id"] for row in rows}))
        if not rows and locked:
            # All taken meanwhile: look further on rather than end the pass.
            return self.claim_sources(db, after=max(locked), round_start=round_start, limit=limit)
        return rows

    def release_sources(self, db: PgDatabase, ids: list[int]) -> None:
        if ids:
            with db.conn._errors():
                db.conn.raw.execute(
                    "SELECT pg_advisory_unlock(%s, id::int) FROM unnest(%s::bigint[]) AS id",
                    [_SOURCE_LOCK_SPACE, list(ids)],
                )

    @contextlib.contextmanager
    def placement_lock(self, db: PgDatabase) -> Iterator[None]:
        # Waits for the placer of another process: then places what it left, in the same canonical order.
        with db.conn._errors():
            db.conn.raw.execute("SELECT pg_advisory_lock(%s, 0)", [_PLACER_LOCK_SPACE])
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error):
                db.conn.raw.execute("SELECT pg_advisory_unlock(%s, 0)", [_PLACER_LOCK_SPACE])


POSTGRES = PostgresBackend()
# Advisory lock key spaces (the first of two int4 keys), so newswatch's locks never meet another program's.
_LOCK_SPACE = 0x6E77
_SOURCE_LOCK_SPACE = 0x6E78
_PLACER_LOCK_SPACE = 0x6E79


# --- schema and migrations -----------------------------------------------------------------------------------


def _v1_initial(conn: psycopg.Connection[Any]) -> None:
    """The schema of SQLite's version 7, with the full-text index as a column."""
    conn.execute(
        """
        -- What the store's SQL (SQLite's dialect) expects of the database.
        CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
        CREATE FUNCTION nw_bool_add(bigint, boolean) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT
            AS 'SELECT $1 + $2::int';
        CREATE AGGREGATE sum(boolean) (SFUNC = nw_bool_add, STYPE = bigint, INITCOND = '0');
        CREATE FUNCTION nw_json_text_array(text[]) RETURNS text LANGUAGE sql IMMUTABLE
            AS 'SELECT array_to_json($1)::text';
        CREATE AGGREGATE json_group_array(text) (
            SFUNC = array_append, STYPE = text[], INITCOND = '{}', FINALFUNC = nw_json_text_array);
        CREATE FUNCTION nw_json_ints(text) RETURNS TABLE (value bigint) LANGUAGE sql IMMUTABLE
            AS 'SELECT x::bigint FROM json_array_elements_text($1::json) AS x';

        CREATE TABLE sources (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE,
            kind text NOT NULL CHECK (kind IN ('path', 'url')),
            location text NOT NULL,
            interval_seconds bigint,
            origin text NOT NULL DEFAULT 'config',
            active integer NOT NULL DEFAULT 1,
            etag text,
            last_modified text,
            last_attempt_at text,
            last_success_at text,
            last_error text,
            last_error_at text,
            consecutive_failures integer NOT NULL DEFAULT 0,
            next_fetch_after text,
            created_at text NOT NULL,
            poll_hint_seconds bigint
        );
        CREATE TABLE source_files (
            source_id bigint NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            path text NOT NULL,
            mtime_ns bigint NOT NULL,
            size bigint NOT NULL,
            articles integer NOT NULL DEFAULT 0,
            PRIMARY KEY (source_id, path)
        );
        CREATE TABLE articles (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            source_id bigint NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            guid text NOT NULL,
            title text NOT NULL,
            body text NOT NULL,
            url text NOT NULL DEFAULT '',
            author text NOT NULL DEFAULT '',
            outlet text NOT NULL DEFAULT '',
            published text,
            updated text,
            date_origin text NOT NULL,
            sort_time text NOT NULL,
            content_hash text NOT NULL,
            body_chars integer NOT NULL,
            first_seen text NOT NULL,
            changed_at text NOT NULL,
            read integer NOT NULL DEFAULT 0,
            starred integer NOT NULL DEFAULT 0,
            story_id bigint,
            duplicate_of bigint REFERENCES articles(id) ON DELETE SET NULL,
            fts tsvector NOT NULL DEFAULT ''::tsvector,
            UNIQUE (source_id, guid)
        );
        CREATE INDEX articles_by_time ON articles (sort_time DESC, id DESC);
        CREATE INDEX articles_by_story ON articles (story_id);
        CREATE INDEX articles_by_source_time ON articles (source_id, sort_time DESC);
        CREATE INDEX articles_fts ON articles USING gin (fts);
        CREATE INDEX articles_duplicate_of ON articles (duplicate_of);

        CREATE TABLE topics (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE,
            query text NOT NULL,
            query_hash text NOT NULL,
            alert integer NOT NULL DEFAULT 0,
            tagged_at text
        );
        CREATE TABLE article_topics (
            article_id bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            topic_id bigint NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
            matched_terms text NOT NULL DEFAULT '[]',
            PRIMARY KEY (article_id, topic_id)
        );
        CREATE INDEX article_topics_by_topic ON article_topics (topic_id, article_id);

        CREATE TABLE stories (
            id bigint PRIMARY KEY,
            lead_article_id bigint NOT NULL,
            title text NOT NULL,
            size integer NOT NULL,
            outlets integer NOT NULL,
            first_seen text NOT NULL,
            last_seen text NOT NULL,
            first_origin text NOT NULL DEFAULT 'feed',
            last_origin text NOT NULL DEFAULT 'feed'
        );
        CREATE INDEX stories_by_last_seen ON stories (last_seen DESC, id DESC);
        CREATE INDEX stories_by_first_seen ON stories (first_seen DESC, id DESC);
        CREATE INDEX stories_by_outlets ON stories (outlets DESC, first_seen DESC, id DESC);

        CREATE TABLE alerts (
            story_id bigint NOT NULL,
            topic_id bigint NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
            article_id bigint NOT NULL,
            alerted_at text NOT NULL,
            size_at_alert integer NOT NULL DEFAULT 1,
            PRIMARY KEY (story_id, topic_id)
        );

        CREATE TABLE article_features (article_id bigint PRIMARY KEY, blob bytea NOT NULL);
        CREATE TABLE grouping_articles (
            article_id bigint PRIMARY KEY,
            seq bigint NOT NULL UNIQUE,
            chunk bigint NOT NULL,
            story_id bigint NOT NULL,
            duplicate_of bigint,
            blob bytea NOT NULL
        );
        CREATE TABLE grouping_stories (story_id bigint PRIMARY KEY, merged_into bigint, blob bytea);
        CREATE TABLE grouping_df (term bigint PRIMARY KEY, n bigint NOT NULL);
        -- SQLite keeps the embedding sum (a blob) in `value`; PostgreSQL gives it a column of its own.
        CREATE TABLE grouping_meta (key text PRIMARY KEY, value bigint NOT NULL, blob bytea);
        """
    )


# The columns of article_rows, in order: the `articles` view repeats them (a view's * is fixed when made).
_ARTICLE_ROW_COLUMNS = """id, source_id, guid, title, body, url, author, outlet, published, updated, date_origin,
    sort_time, content_hash, body_chars, first_seen, changed_at, story_id, duplicate_of, fts"""


def _v2_per_user_state(conn: psycopg.Connection[Any]) -> None:
    """Read and starred are kept per user (`NEWSWATCH_USER`, else the login name); stories and the alert log
    stay shared. The store's SQL keeps reading and writing `articles.read` and `articles.starred`: `articles`
    becomes a view of the shared rows joined with the session user's state, and writing those two columns
    through it writes that user's state (an INSTEAD OF trigger). Other writes go to `article_rows` directly
    (`translate`). State already stored (one user's, from v1) becomes the migrating user's."""
    conn.execute(
        f"""
        ALTER TABLE articles RENAME TO article_rows;
        CREATE TABLE user_state (
            user_name text NOT NULL,
            article_id bigint NOT NULL REFERENCES article_rows(id) ON DELETE CASCADE,
            read integer NOT NULL DEFAULT 0,
            starred integer NOT NULL DEFAULT 0,
            PRIMARY KEY (user_name, article_id)
        );
        CREATE INDEX user_state_by_article ON user_state (article_id);
        INSERT INTO user_state (user_name, article_id, read, starred)
            SELECT current_setting('newswatch.user'), id, read, starred FROM article_rows
            WHERE read != 0 OR starred != 0;
        ALTER TABLE article_rows DROP COLUMN read, DROP COLUMN starred;
        CREATE VIEW articles AS
            SELECT {", ".join("r." + c.strip() for c in _ARTICLE_ROW_COLUMNS.split(","))},
                   coalesce(u.read, 0) AS read, coalesce(u.starred, 0) AS starred
            FROM article_rows r
            LEFT JOIN user_state u ON u.article_id = r.id AND u.user_name = current_setting('newswatch.user');
        CREATE FUNCTION nw_user_state_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (NEW.read, NEW.starred) IS DISTINCT FROM (OLD.read, OLD.starred) THEN
                INSERT INTO user_state (user_name, article_id, read, starred)
                VALUES (current_setting('newswatch.user'), OLD.id, NEW.read, NEW.starred)
                ON CONFLICT (user_name, article_id)
                    DO UPDATE SET read = excluded.read, starred = excluded.starred;
            END IF;
            IF (NEW.story_id, NEW.duplicate_of) IS DISTINCT FROM (OLD.story_id, OLD.duplicate_of) THEN
                UPDATE article_rows SET story_id = NEW.story_id, duplicate_of = NEW.duplicate_of
                WHERE id = OLD.id;
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER articles_user_state INSTEAD OF UPDATE ON articles
            FOR EACH ROW EXECUTE FUNCTION nw_user_state_write();
        """
    )


def _v3_source_claims(conn: psycopg.Connection[Any]) -> None:
    """When a process last claimed each source (server clock), so several ingest processes split the
    sources of one round between them instead of reading some twice (`PostgresBackend.claim_sources`)."""
    conn.execute("ALTER TABLE sources ADD COLUMN claimed_at timestamptz")


def _v4_change_notifications(conn: psycopg.Connection[Any]) -> None:
    """Every commit that changes what a reader shows sends a notification on channel `newswatch` (LISTEN/
    NOTIFY): the interface waits for them instead of polling. Statement triggers, and PostgreSQL folds equal
    notifications of one transaction into one, so an ingest's commit group costs one notification. A user's
    read/starred change names the user: nobody else's view changed."""
    conn.execute(
        """
        CREATE FUNCTION nw_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('newswatch', TG_ARGV[0]);
            RETURN NULL;
        END $$;
        CREATE FUNCTION nw_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('newswatch', 'user:' || current_setting('newswatch.user'));
            RETURN NULL;
        END $$;
        """
    )
    for table in ("article_rows", "article_topics", "stories", "alerts", "sources", "topics"):
        conn.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION nw_notify('data')"
        )
    conn.execute(
        "CREATE TRIGGER user_state_notify AFTER INSERT OR UPDATE OR DELETE ON user_state"
        " FOR EACH STATEMENT EXECUTE FUNCTION nw_notify_user()"
    )


def _v5_full_text(conn: psycopg.Connection[Any]) -> None:
    """Full text of summary-only items (SQLite's v8, issue 15): the feed's own text as `summary` once a page's
    text is the body, each wanted page's state, and the story a re-placed article left. The `articles` view
    is made again to show the new column (a view's columns are fixed when it is made)."""
    columns = ", ".join("r." + c.strip() for c in _ARTICLE_ROW_COLUMNS.split(","))
    conn.execute(
        f"""
        ALTER TABLE article_rows ADD COLUMN summary text;
        DROP TRIGGER articles_user_state ON articles;
        DROP VIEW articles;
        CREATE VIEW articles AS
            SELECT {columns}, r.summary,
                   coalesce(u.read, 0) AS read, coalesce(u.starred, 0) AS starred
            FROM article_rows r
            LEFT JOIN user_state u ON u.article_id = r.id AND u.user_name = current_setting('newswatch.user');
        CREATE TRIGGER articles_user_state INSTEAD OF UPDATE ON articles
            FOR EACH ROW EXECUTE FUNCTION nw_user_state_write();
        CREATE TABLE article_fulltext (
            article_id bigint PRIMARY KEY REFERENCES article_rows(id) ON DELETE CASCADE,
            state text NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
            sort_time text NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_after text,
            last_error text,
            fetched_at text
        );
        CREATE INDEX article_fulltext_due ON article_fulltext (state, sort_time DESC, article_id DESC);
        CREATE TABLE article_replacements (
            article_id bigint PRIMARY KEY REFERENCES article_rows(id) ON DELETE CASCADE,
            story_id bigint NOT NULL
        );
        """
    )


MIGRATIONS = [_v1_initial, _v2_per_user_state, _v3_source_claims, _v4_change_notifications, _v5_full_text]
SCHEMA_VERSION = len(MIGRATIONS)
# pg_advisory_xact_lock key for migrations: two processes opening a new database migrate it once.
_MIGRATION_LOCK = 0x6E77_0001


def schema_version(conn: psycopg.Connection[Any]) -> int:
    # A scan of pg_tables, not to_regclass(): a name looked up before another session created the table stays
    # "missing" in this session's catalog cache until it takes a lock on a table, which an advisory lock is not.
    if not conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_version')"
    ).fetchone()[0]:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Bring the schema up to date, each step in its own transaction with its version bump."""
    for version in range(schema_version(conn) + 1, SCHEMA_VERSION + 1):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK])
            # Another process may have migrated while we waited for the lock.
            if schema_version(conn) >= version:
                continue
            MIGRATIONS[version - 1](conn)
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", [version])
    return SCHEMA_VERSION


def current_user() -> str:
    """Whose read and starred state a connection sees and writes: $NEWSWATCH_USER, else the login name."""
    import getpass

    return os.environ.get("NEWSWATCH_USER") or getpass.getuser()


def connect(url: str) -> psycopg.Connection[Any]:
    """A connection in autocommit mode for the current user, or a PgStoreError naming the URL and why not."""
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="newswatch")
        conn.execute("SELECT set_config('newswatch.user', %s, false)", [current_user()])
        return conn
    except psycopg.ProgrammingError as error:
        raise PgStoreError(f"{redact(url)}: not a valid PostgreSQL URL: {_one_line(error)}") from None
    except psycopg.Error as error:
        raise PgStoreError(f"{redact(url)}: cannot connect: {_one_line(error)}") from None


def open_postgres(url: str, *, readonly: bool = False) -> PgDatabase:
    """Open (migrating if needed) the store at a postgresql:// URL."""
    conn = connect(url)
    try:
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise PgStoreError(
                f"{redact(url)}: database schema version {version} is newer than this newswatch understands "
                f"({SCHEMA_VERSION}); nothing was changed (use a newer newswatch)"
            )
        if readonly:
            conn.execute("SET default_transaction_read_only = on")
        elif version < SCHEMA_VERSION:
            migrate(conn)
    except psycopg.Error as error:
        conn.close()
        raise PgStoreError(f"{redact(url)}: {_one_line(error)}") from error
    except BaseException:
        conn.close()
        raise
    return PgDatabase(conn, url)


# --- one ingest at a time ---------------------------------------------------------------------------------------

# pg_try_advisory_lock key of the ingest lock (a session lock: released when the connection ends, even on kill -9).
_INGEST_LOCK = 0x6E77_0002


@contextlib.contextmanager
def ingest_lock(url: str, *, wait: bool = False, exclusive: bool = False) -> Iterator[None]:
    """Hold the store's ingest lock for the block; raise IngestBusy if another process has it.

    Ingests share it: several run at once, on any number of machines, each claiming its own sources
    (`claim_sources`). A regroup (`exclusive`) waits for none and lets none in."""
    kind = "" if exclusive else "_shared"
    conn = connect(url)
    try:
        if wait:
            conn.execute(f"SELECT pg_advisory_lock{kind}(%s)", [_INGEST_LOCK])
        elif not conn.execute(f"SELECT pg_try_advisory_lock{kind}(%s)", [_INGEST_LOCK]).fetchone()[0]:
            holder = conn.execute(
                """SELECT a.pid, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted LIMIT 1""",
                [_INGEST_LOCK & 0xFFFFFFFF],
            ).fetchone()
            who = f"server pid {holder[0]}" if holder else "unknown"
            raise IngestBusy(f"another ingest is running ({who}); skipped")
        yield
    finally:
        conn.close()
