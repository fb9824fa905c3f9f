"""Writing articles (upsert keyed by (source, guid)) and reading them back for the CLI and the TUI."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from feeds.records import ArticleRecord
from store.backends import backend_of
from store.values import chunks, to_db_time

if TYPE_CHECKING:
    from store.db import Database


@dataclass(slots=True)
class UpsertResult:
    new_ids: list[int] = field(default_factory=list)
    new_guids: list[str] = field(default_factory=list)  # of the new articles, in the order of new_ids
    updated_ids: list[int] = field(default_factory=list)
    unchanged: int = 0


# Computes (or looks up) the story-features blob of each new record, in order.
FeatureBlobs = Callable[[Sequence[ArticleRecord]], Sequence[bytes]]
# An article_features blob that says: compute them from the article's text when it is placed.
FEATURES_AT_PLACEMENT = b""


def existing_articles(db: Database, source_id: int, guids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """guid -> (article id, content hash) for the given guids already stored for a source."""
    existing: dict[str, tuple[int, str]] = {}
    for chunk in chunks(list(guids)):
        marks = ",".join("?" * len(chunk))
        for guid, article_id, content_hash in db.execute(
            f"SELECT guid, id, content_hash FROM articles WHERE source_id = ? AND guid IN ({marks})",
            [source_id, *chunk],
        ):
            existing[guid] = (article_id, content_hash)
    return existing


def upsert_articles(
    db: Database,
    source_id: int,
    records: Sequence[ArticleRecord],
    *,
    now: datetime,
    features: FeatureBlobs | None = None,
) -> UpsertResult:
    """Insert new records, update changed ones in place, leave unchanged ones untouched.

    Must run inside a `write_batch` (or a commit group's unit). Duplicate guids within one batch keep the
    last record, as a feed that repeats an item means its latest version. New articles are indexed in FTS
    here (one statement for the batch: see schema v4) and, when `features` is given, get their story
    features row (`article_features`) in the same transaction; updated articles keep theirs.
    """
    result = UpsertResult()
    by_guid: dict[str, ArticleRecord] = {}
    for record in records:
        by_guid[record.guid] = record
    if not by_guid:
        return result
    existing = existing_articles(db, source_id, list(by_guid))

    now_text = to_db_time(now)
    new_records: list[ArticleRecord] = []
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for guid, record in by_guid.items():
        digest = record.content_hash()
        published = to_db_time(record.published)
        row = (
            record.title,
            record.body,
            record.url,
            record.author,
            record.outlet,
            published,
            to_db_time(record.updated),
            record.date_origin,
            digest,
            len(record.body),
        )
        if guid not in existing:
            inserts.append((source_id, guid, *row, published or now_text, now_text, now_text))
            new_records.append(record)
        elif existing[guid][1] != digest:
            updates.append((*row, published or now_text, now_text, existing[guid][0]))
        else:
            result.unchanged += 1

    conn = db.conn
    if inserts:
        result.new_ids = backend_of(db).insert_articles(db, source_id, inserts)
        result.new_guids = [record.guid for record in new_records]
        if features is not None:
            blobs = features(new_records)
            conn.executemany(
                "INSERT OR REPLACE INTO article_features (article_id, blob) VALUES (?, ?)",
                zip(result.new_ids, blobs, strict=True),
            )
    # An article whose page text became its body (schema v8: `summary` set) keeps that body when its feed
    # item changes: the feed's new text is its summary.
    conn.executemany(
        # Plain `?` placeholders (the body twice), which both backends read alike.
        """UPDATE articles SET title = ?, body = CASE WHEN summary IS NULL THEN ? ELSE body END,
               summary = CASE WHEN summary IS NULL THEN NULL ELSE ? END, url = ?, author = ?,
               outlet = ?, published = ?, updated = ?, date_origin = ?, content_hash = ?,
               body_chars = CASE WHEN summary IS NULL THEN ? ELSE body_chars END,
               sort_time = COALESCE(?, first_seen), changed_at = ?
           WHERE id = ?""",
        [(u[0], u[1], u[1], *u[2:]) for u in updates],
    )
    result.updated_ids.extend(update[-1] for update in updates)
    backend_of(db).reindex_articles(db, result.updated_ids)
    return result


def features_pending(db: Database) -> bool:
    """Are there stored articles whose story features wait for placement (e.g. from a killed run)?"""
    return db.execute("SELECT 1 FROM article_features LIMIT 1").fetchone() is not None


@dataclass(slots=True)
class ArticleFilter:
    """What a listing asks for. `fts` is an FTS5 MATCH expression from the query language, never raw input."""

    fts: str | None = None
    source: str | None = None
    topic: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    unread_only: bool = False
    starred_only: bool = False
    story_id: int | None = None


def article_conditions(filters: ArticleFilter, alias: str = "a") -> tuple[list[str], list[Any]]:
    """SQL conditions (on articles aliased `alias`) and their parameters for a filter; shared with views."""
    a = alias
    clauses: list[str] = []
    params: list[Any] = []
    if filters.fts:
        clauses.append(f"{a}.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
        params.append(filters.fts)
    if filters.source:
        clauses.append(f"{a}.source_id IN (SELECT id FROM sources WHERE name = ? COLLATE NOCASE)")
        params.append(filters.source)
    if filters.topic:
        clauses.append(
            f"{a}.id IN (SELECT article_id FROM article_topics WHERE topic_id ="
            " (SELECT id FROM topics WHERE name = ? COLLATE NOCASE))"
        )
        params.append(filters.topic)
    if filters.since:
        clauses.append(f"{a}.sort_time >= ?")
        params.append(to_db_time(filters.since))
    if filters.until:
        clauses.append(f"{a}.sort_time < ?")
        params.append(to_db_time(filters.until))
    if filters.unread_only:
        clauses.append(f"{a}.read = 0")
    if filters.starred_only:
        clauses.append(f"{a}.starred = 1")
    if filters.story_id is not None:
        clauses.append(f"{a}.story_id = ?")
        params.append(filters.story_id)
    return clauses, params


def _where(filters: ArticleFilter) -> tuple[str, list[Any]]:
    clauses, params = article_conditions(filters)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


_ARTICLE_COLUMNS = """a.id, a.title, a.url, a.author, a.outlet, a.published, a.updated, a.date_origin,
    a.sort_time, a.body_chars, a.read, a.starred, a.story_id, a.duplicate_of, a.first_seen,
    s.name AS source"""


def list_articles(
    db: Database, filters: ArticleFilter | None = None, *, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """Articles newest first, each with the names of its topics."""
    where, params = _where(filters or ArticleFilter())
    rows = list(
        db.query(
            f"""SELECT {_ARTICLE_COLUMNS},
                    (SELECT json_group_array(t.name) FROM article_topics at JOIN topics t ON t.id = at.topic_id
                     WHERE at.article_id = a.id) AS topics_json
                FROM articles a JOIN sources s ON s.id = a.source_id
                {where}
                ORDER BY a.sort_time DESC, a.id DESC LIMIT ? OFFSET ?""",
            [*params, limit, offset],
        )
    )
    for row in rows:
        row["topics"] = sorted(json.loads(row.pop("topics_json") or "[]"))
    return rows


def count_matching(db: Database, filters: ArticleFilter) -> tuple[int, int]:
    """(articles, distinct stories) matching a filter, counted in SQLite."""
    where, params = _where(filters)
    articles, stories = db.execute(
        f"SELECT count(*), count(DISTINCT a.story_id) FROM articles a {where}", params
    ).fetchone()
    return int(articles), int(stories)


def get_article(db: Database, article_id: int) -> dict[str, Any] | None:
    """One article with its body and, per topic, the terms that matched."""
    rows = list(
        db.query(
            f"SELECT {_ARTICLE_COLUMNS}, a.body, a.guid FROM articles a JOIN sources s ON s.id = a.source_id"
            " WHERE a.id = ?",
            [article_id],
        )
    )
    if not rows:
        return None
    article = rows[0]
    article["topic_matches"] = {
        name: json.loads(terms)
        for name, terms in db.execute(
            """SELECT t.name, at.matched_terms FROM article_topics at JOIN topics t ON t.id = at.topic_id
               WHERE at.article_id = ? ORDER BY t.name""",
            [article_id],
        )
    }
    article["topics"] = sorted(article["topic_matches"])
    return article


def set_read(db: Database, article_ids: Iterable[int], read: bool = True) -> None:
    ids = list(article_ids)
    for chunk in chunks(ids):
        db.conn.execute(
            f"UPDATE articles SET read = ? WHERE id IN ({','.join('?' * len(chunk))})", [int(read), *chunk]
        )


def set_starred(db: Database, article_id: int, starred: bool) -> None:
    db.conn.execute("UPDATE articles SET starred = ? WHERE id = ?", [int(starred), article_id])
