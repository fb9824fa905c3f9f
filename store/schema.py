"""Schema and forward migrations, versioned with PRAGMA user_version.

Each migration is a function that takes the schema from version N-1 to N inside one transaction. Never edit
a migration that has shipped: add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from feeds.records import ArticleRecord
    from store.db import Database


# FTS5 over the text a user searches. No stemmer in the index: the query language expands a word into its
# inflections at query time (troop -> troops, trooped), which keeps prefixes (deploy*) exact, where porter
# would stem "deploy" to "deploi" and miss "deployment". unicode61 with remove_diacritics 2 folds accents.
# Must equal topics.terms.FTS5_TOKENIZE (a test checks). The triggers fire only when indexed columns
# change, so toggling read or starred never re-indexes a body.
FTS_TOKENIZE = "unicode61 remove_diacritics 2"
_FTS_SQL = f"""
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, body, outlet,
    content='articles', content_rowid='id',
    tokenize='{FTS_TOKENIZE}'
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, body, outlet) VALUES (new.id, new.title, new.body, new.outlet);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body, outlet)
    VALUES ('delete', old.id, old.title, old.body, old.outlet);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body, outlet ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body, outlet)
    VALUES ('delete', old.id, old.title, old.body, old.outlet);
    INSERT INTO articles_fts (rowid, title, body, outlet) VALUES (new.id, new.title, new.body, new.outlet);
END;
"""


def _run_script(db: Database, script: str) -> None:
    """Run statements one by one: sqlite3's executescript() would COMMIT the migration's transaction first."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement.strip()[:60]}")


def _v1_initial(db: Database) -> None:
    _run_script(
        db,
        """
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('path', 'url')),
            location TEXT NOT NULL,
            interval_seconds INTEGER,
            origin TEXT NOT NULL DEFAULT 'config',      -- config | cli | opml
            active INTEGER NOT NULL DEFAULT 1,           -- 0: dropped from config; articles kept
            etag TEXT,
            last_modified TEXT,
            last_attempt_at TEXT,
            last_success_at TEXT,
            last_error TEXT,
            last_error_at TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            next_fetch_after TEXT,                       -- backoff, Retry-After, ttl/max-age lower bound
            created_at TEXT NOT NULL
        );

        -- Which local files were read, so an unchanged file is not parsed again on every pass.
        CREATE TABLE source_files (
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            mtime_ns INTEGER NOT NULL,
            size INTEGER NOT NULL,
            articles INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (source_id, path)
        );

        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            guid TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            url TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            outlet TEXT NOT NULL DEFAULT '',
            published TEXT,
            updated TEXT,
            date_origin TEXT NOT NULL,
            sort_time TEXT NOT NULL,                     -- published, else first_seen: 'newest first'
            content_hash TEXT NOT NULL,
            body_chars INTEGER NOT NULL,
            first_seen TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            read INTEGER NOT NULL DEFAULT 0,
            starred INTEGER NOT NULL DEFAULT 0,
            story_id INTEGER,
            duplicate_of INTEGER REFERENCES articles(id) ON DELETE SET NULL,
            UNIQUE (source_id, guid)
        );
        CREATE INDEX articles_by_time ON articles (sort_time DESC, id DESC);
        CREATE INDEX articles_by_story ON articles (story_id);
        CREATE INDEX articles_by_source_time ON articles (source_id, sort_time DESC);

        CREATE TABLE topics (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            query TEXT NOT NULL,
            query_hash TEXT NOT NULL,                    -- of the expanded query: re-tag when it changes
            alert INTEGER NOT NULL DEFAULT 0,
            tagged_at TEXT
        );

        CREATE TABLE article_topics (
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            topic_id INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
            matched_terms TEXT NOT NULL DEFAULT '[]',    -- JSON list: why the article matched
            PRIMARY KEY (article_id, topic_id)
        ) WITHOUT ROWID;
        CREATE INDEX article_topics_by_topic ON article_topics (topic_id, article_id);

        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,                      -- the id of the story's first article: stable
            lead_article_id INTEGER NOT NULL,
            title TEXT NOT NULL,
            size INTEGER NOT NULL,
            outlets INTEGER NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL
        );
        CREATE INDEX stories_by_last_seen ON stories (last_seen DESC, id DESC);
        CREATE INDEX stories_by_outlets ON stories (outlets DESC, last_seen DESC, id DESC);

        -- One row per (story, topic) that was printed: alerts are once per story, not per outlet.
        CREATE TABLE alerts (
            story_id INTEGER NOT NULL,
            topic_id INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
            article_id INTEGER NOT NULL,
            alerted_at TEXT NOT NULL,
            size_at_alert INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (story_id, topic_id)
        ) WITHOUT ROWID;
        """,
    )
    _run_script(db, _FTS_SQL)


def _v2_grouping_state(db: Database) -> None:
    """The story grouper's index (store.grouping_state), so placement is incremental across runs."""
    _run_script(
        db,
        """
        -- Records are the grouper's own dataclasses as JSON, so its bookkeeping can grow without a migration.
        CREATE TABLE grouping_articles (article_id INTEGER PRIMARY KEY, record TEXT NOT NULL);
        CREATE TABLE grouping_signatures (article_id INTEGER PRIMARY KEY, sig BLOB NOT NULL);
        CREATE TABLE grouping_lsh (
            band_key INTEGER NOT NULL, seq INTEGER NOT NULL, article_id INTEGER NOT NULL,
            PRIMARY KEY (band_key, seq)
        ) WITHOUT ROWID;
        CREATE TABLE grouping_vectors (article_id INTEGER PRIMARY KEY, vector TEXT NOT NULL);
        CREATE TABLE grouping_postings (
            term TEXT NOT NULL, seq INTEGER NOT NULL, article_id INTEGER NOT NULL,
            PRIMARY KEY (term, seq)
        ) WITHOUT ROWID;
        CREATE TABLE grouping_df (term TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE grouping_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE grouping_stories (story_id INTEGER PRIMARY KEY, record TEXT NOT NULL);
        """,
    )


def _v3_compact_grouping_state(db: Database) -> None:
    """The second story engine: stateless features per article, compact binary placed state, no JSON.

    The old JSON index cannot be converted (its terms were strings, the new ones are hashes), so it is
    dropped and `rebuild` is set: the first placement after this migration regroups every article."""
    _run_script(
        db,
        """
        DROP TABLE grouping_articles;
        DROP TABLE grouping_signatures;
        DROP TABLE grouping_lsh;
        DROP TABLE grouping_vectors;
        DROP TABLE grouping_postings;
        DROP TABLE grouping_df;
        DROP TABLE grouping_meta;
        DROP TABLE grouping_stories;
        -- Computed in the parse workers when an article is stored; deleted once the article is placed.
        CREATE TABLE article_features (article_id INTEGER PRIMARY KEY, blob BLOB NOT NULL);
        -- One row per placed article: its place in the placement sequence (and the chunk it was placed
        -- in, so a regroup replays the same chunks), its story as placed, and its frozen vectors.
        CREATE TABLE grouping_articles (
            article_id INTEGER PRIMARY KEY,
            seq INTEGER NOT NULL UNIQUE,
            chunk INTEGER NOT NULL,
            story_id INTEGER NOT NULL,
            duplicate_of INTEGER,
            blob BLOB NOT NULL
        );
        -- Stories of two or more distinct articles (a singleton's sums are its article's vectors).
        CREATE TABLE grouping_stories (story_id INTEGER PRIMARY KEY, merged_into INTEGER, blob BLOB);
        CREATE TABLE grouping_df (term INTEGER PRIMARY KEY, n INTEGER NOT NULL);
        CREATE TABLE grouping_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO grouping_meta (key, value)
            SELECT 'rebuild', 1 WHERE EXISTS (SELECT 1 FROM articles WHERE story_id IS NOT NULL);
        """,
    )


def _v4_bulk_fts_insert(db: Database) -> None:
    """New articles are indexed in FTS by `store.articles.upsert_articles`, one statement per batch.

    The row-by-row insert trigger cost twice as much: 15,000 articles of ~1.7 KB in batches of 256, executemany
    plus the trigger 2.0-2.1 s, executemany plus one `INSERT INTO articles_fts ... SELECT` per batch 1.0-1.1 s
    (no FTS at all: 0.2 s; SQLite 3.40, 2 cores). The update and delete triggers stay. Anything else that
    inserts into `articles` must index its rows itself (or run the FTS 'rebuild' command)."""
    _run_script(db, "DROP TRIGGER IF EXISTS articles_fts_insert;")


def _v5_story_dates(db: Database) -> None:
    """A story is dated by its first report (stand-in dates only when no member has a real one), sorted by
    it, and says where its first and last dates came from, so a stand-in is shown as one. A feed keeps its
    last polling hint across 304s."""
    _run_script(
        db,
        """
        ALTER TABLE stories ADD COLUMN first_origin TEXT NOT NULL DEFAULT 'feed';
        ALTER TABLE stories ADD COLUMN last_origin TEXT NOT NULL DEFAULT 'feed';
        CREATE INDEX stories_by_first_seen ON stories (first_seen DESC, id DESC);
        DROP INDEX stories_by_outlets;
        CREATE INDEX stories_by_outlets ON stories (outlets DESC, first_seen DESC, id DESC);
        -- A feed's last <ttl> / Cache-Control max-age, in seconds: a 304 carries no <ttl>, and the wait it
        -- asked for must outlive the 304.
        ALTER TABLE sources ADD COLUMN poll_hint_seconds INTEGER;
        """,
    )
    from store.story_rows import refresh_stories

    refresh_stories(db, [row[0] for row in db.execute("SELECT id FROM stories")])


def _v6_local_guids_are_relative_paths(db: Database) -> None:
    """A local file's guid becomes its path relative to the source root (`feeds.paths.local_guid`); it was
    the file name, so `2023/index.md` and `2024/index.md` in one folder overwrote each other.

    Article ids are kept: each stored file article is renamed after the file its `url` (a file URI) names,
    which is the file that won. Files that shared a name are forgotten in `source_files`, so the next pass
    reads them again and the loser comes back as its own article. Flat folders change nothing."""
    from urllib.parse import unquote, urlsplit

    from feeds.paths import local_guid, source_root

    sources = db.conn.execute("SELECT id, location FROM sources WHERE kind = 'path'").fetchall()
    for source_id, location in sources:
        root = source_root(location)
        renames = []
        for article_id, guid, url in db.conn.execute(
            "SELECT id, guid, url FROM articles WHERE source_id = ? AND url LIKE 'file:%'", [source_id]
        ):
            file_path = unquote(urlsplit(url).path)
            new_guid = local_guid(file_path, root)
            if guid == PurePosixPath(file_path).name and new_guid != guid:
                renames.append((new_guid, article_id))
        db.conn.executemany("UPDATE articles SET guid = ? WHERE id = ?", renames)
        names: dict[str, list[str]] = {}
        for (path,) in db.conn.execute("SELECT path FROM source_files WHERE source_id = ?", [source_id]):
            names.setdefault(PurePosixPath(path).name, []).append(path)
        shared = [(source_id, path) for paths in names.values() if len(paths) > 1 for path in paths]
        db.conn.executemany("DELETE FROM source_files WHERE source_id = ? AND path = ?", shared)


def fts_outlet(outlet: str, source_id: str) -> str:
    """SQL for what the search index holds as an article's outlet: the outlet, and its source's configured
    name when that differs (a file's byline, an aggregator's <source>), so `source:` in a query matches the
    names `--source` takes as well as the outlets shown. Every writer of the index uses this one expression:
    an external-content FTS5 table must be told exactly what it indexed when a row is deleted."""
    return (
        f"{outlet} || coalesce((SELECT CASE WHEN s.name = {outlet} THEN '' ELSE ' ' || s.name END"
        f" FROM sources s WHERE s.id = {source_id}), '')"
    )


def outlet_text(outlet: str, source_name: str | None) -> str:
    """What the index holds as an article's outlet: `fts_outlet`, in Python."""
    if source_name is None or source_name == outlet:
        return outlet
    return f"{outlet} {source_name}"


def index_texts(records: Sequence[ArticleRecord], source_name: str) -> list[tuple[str, str, str]]:
    """(title, body, outlet) of each record as the search index will hold it: what tagging a batch of
    records before they are stored (in a worker) must match against."""
    return [(r.title, r.body, outlet_text(r.outlet, source_name)) for r in records]


def _v7_source_names_in_the_index(db: Database) -> None:
    """The index reads an article's outlet through `articles_fts_content`, which adds the source's name
    (`fts_outlet`); the index is rebuilt from it once. Source names never change (a renamed source is a new
    source), and a source's articles are deleted before the source, so deletes repeat what was indexed."""
    _run_script(
        db,
        f"""
        DROP TRIGGER IF EXISTS articles_fts_insert;
        DROP TRIGGER IF EXISTS articles_fts_delete;
        DROP TRIGGER IF EXISTS articles_fts_update;
        DROP TABLE IF EXISTS articles_fts;
        DROP VIEW IF EXISTS articles_fts_content;
        CREATE VIEW articles_fts_content AS
            SELECT id, title, body, {fts_outlet("outlet", "source_id")} AS outlet FROM articles;
        CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, body, outlet,
            content='articles_fts_content', content_rowid='id',
            tokenize='{FTS_TOKENIZE}'
        );
        INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');
        CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, title, body, outlet)
            VALUES ('delete', old.id, old.title, old.body, {fts_outlet("old.outlet", "old.source_id")});
        END;
        CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body, outlet ON articles BEGIN
            INSERT INTO articles_fts (articles_fts, rowid, title, body, outlet)
            VALUES ('delete', old.id, old.title, old.body, {fts_outlet("old.outlet", "old.source_id")});
            INSERT INTO articles_fts (rowid, title, body, outlet)
            VALUES (new.id, new.title, new.body, {fts_outlet("new.outlet", "new.source_id")});
        END;
        """,
    )


def _v8_full_text(db: Database) -> None:
    """Full text of summary-only feed items (issue 15). `articles.summary` keeps the feed's own text once
    the page's text has become the body (NULL: the body is the feed's text). `article_fulltext` is the
    state of each article that wants its page: pending until fetched, its attempts, when it may be tried
    again and why the last try failed (one line). `article_replacements` remembers, for an article taken
    out of its story to be placed again with its new text, the story it left, until it is placed again:
    that story's alerts become the new story's too, so a re-placed article never announces its event twice."""
    # Safe to run again over its own result (a store whose version was set back, as tests of older
    # migrations do).
    columns = {row[1] for row in db.conn.execute("PRAGMA table_info(articles)")}
    if "summary" not in columns:
        db.conn.execute("ALTER TABLE articles ADD COLUMN summary TEXT")
    _run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS article_fulltext (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
            sort_time TEXT NOT NULL,                     -- the article's, so "newest first" reads one index
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_after TEXT,
            last_error TEXT,
            fetched_at TEXT
        );
        CREATE INDEX IF NOT EXISTS article_fulltext_due
            ON article_fulltext (state, sort_time DESC, article_id DESC);
        CREATE TABLE IF NOT EXISTS article_replacements (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            story_id INTEGER NOT NULL
        );
        """,
    )


MIGRATIONS: list[Callable[[Database], None]] = [
    _v1_initial,
    _v2_grouping_state,
    _v3_compact_grouping_state,
    _v4_bulk_fts_insert,
    _v5_story_dates,
    _v6_local_guids_are_relative_paths,
    _v7_source_names_in_the_index,
    _v8_full_text,
]
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    pass


def schema_version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database) -> int:
    """Bring the schema up to date; returns the version. Each step commits with its version bump."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"database schema version {current} is newer than this newswatch understands ({SCHEMA_VERSION})"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if schema_version(db) >= version:
                conn.execute("ROLLBACK")
                continue
            MIGRATIONS[version - 1](db)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION
