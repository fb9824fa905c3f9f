"""Topics and tags: which articles match which saved query, and which terms made them match."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.schema import FTS_TOKENIZE
from store.values import chunks, to_db_time

if TYPE_CHECKING:
    from store.db import Database


def sync_topics(db: Database, topics: Iterable[tuple[str, str, str, bool]]) -> list[tuple[int, str]]:
    """Make the topics table match the config, given (name, query, query_hash, alert) tuples.

    Returns (id, name) of the topics that are new or whose query changed: only those need re-tagging.
    Topics no longer configured are deleted with their tags (their alerts history goes too).
    """
    wanted = list(topics)
    changed: list[tuple[int, str]] = []
    conn = db.conn
    for name, query, query_hash, alert in wanted:
        row = conn.execute("SELECT id, query_hash FROM topics WHERE name = ?", [name]).fetchone()
        if row is None:
            cursor = conn.execute(
                "INSERT INTO topics (name, query, query_hash, alert) VALUES (?, ?, ?, ?)",
                [name, query, query_hash, int(alert)],
            )
            changed.append((int(cursor.lastrowid or 0), name))
        else:
            conn.execute(
                "UPDATE topics SET query = ?, alert = ? WHERE id = ? AND (query IS NOT ? OR alert IS NOT ?)",
                [query, int(alert), row[0], query, int(alert)],
            )
            if row[1] != query_hash:
                changed.append((row[0], name))
    names = [name for name, *_ in wanted]
    marks = ",".join("?" * len(names))
    conn.execute(f"DELETE FROM topics WHERE name NOT IN ({marks})" if names else "DELETE FROM topics", names)
    return changed


def topic_ids(db: Database) -> dict[str, int]:
    return {name: topic_id for topic_id, name in db.execute("SELECT id, name FROM topics")}


def stored_query_hashes(db: Database) -> dict[str, str]:
    """Topic name -> the hash of the query its stored tags were made with."""
    return dict(db.execute("SELECT name, query_hash FROM topics").fetchall())


def set_topic_hash(db: Database, topic_id: int, query_hash: str, *, now: datetime) -> None:
    db.conn.execute(
        "UPDATE topics SET query_hash = ?, tagged_at = ? WHERE id = ?",
        [query_hash, to_db_time(now), topic_id],
    )


def fts_matching_ids(db: Database, fts: str) -> list[int]:
    """Ids of all stored articles matching an FTS5 expression (a full re-tag of one topic)."""
    return [row[0] for row in db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [fts])]


class BatchIndex:
    """A small in-memory FTS5 index over one batch of articles, to tag them without touching the big one.

    Querying the main index for a batch costs as much as the whole index for common prefixes (FTS5 merges
    every doclist of every matching term), which made tagging quadratic in the size of the database. The
    staging index has the same columns and tokenizer, so a topic's compiled query means the same thing.
    """

    def __init__(self, db: Database, article_ids: Sequence[int]):
        self.db = db
        conn = db.conn
        # Dropped and made again for each batch: deleting an FTS5 table's rows costs as much as indexing them.
        conn.execute("DROP TABLE IF EXISTS temp.batch_fts")
        conn.execute(
            f"CREATE VIRTUAL TABLE temp.batch_fts USING fts5(title, body, outlet, tokenize='{FTS_TOKENIZE}')"
        )
        for chunk in chunks(sorted(set(article_ids))):
            marks = ",".join("?" * len(chunk))
            conn.execute(
                f"INSERT INTO temp.batch_fts (rowid, title, body, outlet)"
                f" SELECT id, title, body, outlet FROM articles_fts_content WHERE id IN ({marks})",
                list(chunk),
            )

    def matching_ids(self, fts: str) -> list[int]:
        return [
            row[0]
            for row in self.db.execute("SELECT rowid FROM temp.batch_fts WHERE batch_fts MATCH ?", [fts])
        ]

    def close(self) -> None:
        self.db.conn.execute("DROP TABLE IF EXISTS temp.batch_fts")


class TextIndex:
    """The batch index over texts not stored yet, in an in-memory database of its own: how a worker process
    tags a slice of records before the writer stores them. Same columns and tokenizer as `BatchIndex`; text
    i (title, body, outlet as the main index holds it: see store.schema.fts_outlet) is row i."""

    def __init__(self, texts: Sequence[tuple[str, str, str]]):
        import sqlite3

        self.conn = sqlite3.connect(":memory:")
        self.conn.execute(
            f"CREATE VIRTUAL TABLE batch_fts USING fts5(title, body, outlet, tokenize='{FTS_TOKENIZE}')"
        )
        self.conn.executemany(
            "INSERT INTO batch_fts (rowid, title, body, outlet) VALUES (?, ?, ?, ?)",
            [(i, *text) for i, text in enumerate(texts)],
        )

    def matching_ids(self, fts: str) -> list[int]:
        return [
            row[0] for row in self.conn.execute("SELECT rowid FROM batch_fts WHERE batch_fts MATCH ?", [fts])
        ]

    def close(self) -> None:
        self.conn.close()


def clear_tags(db: Database, *, topic_id: int | None = None, article_ids: Sequence[int] = ()) -> None:
    if topic_id is not None:
        db.conn.execute("DELETE FROM article_topics WHERE topic_id = ?", [topic_id])
    for chunk in chunks(list(article_ids)):
        marks = ",".join("?" * len(chunk))
        db.conn.execute(f"DELETE FROM article_topics WHERE article_id IN ({marks})", list(chunk))


def add_tags(db: Database, topic_id: int, matches: Iterable[tuple[int, list[str]]]) -> None:
    db.conn.executemany(
        "INSERT OR REPLACE INTO article_topics (article_id, topic_id, matched_terms) VALUES (?, ?, ?)",
        [(article_id, topic_id, json.dumps(terms, ensure_ascii=False)) for article_id, terms in matches],
    )


def topic_overview(db: Database) -> list[dict[str, Any]]:
    """Each topic with article, story and unread counts and the time of its newest match."""
    return list(
        db.query(
            """SELECT t.id, t.name, t.query, t.query_hash, t.alert,
                      count(a.id) AS articles,
                      count(DISTINCT a.story_id) AS stories,
                      coalesce(sum(a.read = 0), 0) AS unread,
                      max(a.sort_time) AS last_match
               FROM topics t
               LEFT JOIN article_topics at ON at.topic_id = t.id
               LEFT JOIN articles a ON a.id = at.article_id
               GROUP BY t.id ORDER BY t.name COLLATE NOCASE"""
        )
    )
