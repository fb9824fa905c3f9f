"""Read models for the interactive interface: story id snapshots, pages of rows, sidebar counts.

The TUI lists stories virtually: it asks once for the ordered ids that match a filter (a snapshot of plain
ints, cheap to hold even for a million rows), then for rows of the few pages on screen. Every query here
is plain SQL over plain data; nothing imports textual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from feeds.records import UNCERTAIN_DATE_ORIGINS
from store.articles import ArticleFilter, article_conditions
from store.values import chunks, to_db_time

if TYPE_CHECKING:
    from store.db import Database

ORDERS = ("newest", "outlets")


@dataclass(frozen=True, slots=True)
class StoryQuery:
    """What the story list shows. `fts` is a compiled FTS5 expression from the query language."""

    fts: str | None = None
    topic: str | None = None
    source: str | None = None
    unread_only: bool = False
    starred_only: bool = False
    since: datetime | None = None
    until: datetime | None = None
    order: str = "newest"

    @property
    def is_filtered(self) -> bool:
        return any(
            (self.fts, self.topic, self.source, self.unread_only, self.starred_only, self.since, self.until)
        )


def _member_conditions(query: StoryQuery) -> list[tuple[str, list[Any]]]:
    """Each condition on a member article `a`, with its parameters.

    A story matches when every condition is met by some member, not necessarily the same one: a story whose
    Reuters copy says "sanctions" and whose AP copy is tagged with the topic matches "sanctions" in that topic.
    """
    conditions = []
    for part in (
        ArticleFilter(fts=query.fts),
        ArticleFilter(topic=query.topic),
        ArticleFilter(source=query.source),
        ArticleFilter(unread_only=query.unread_only),
        ArticleFilter(starred_only=query.starred_only),
    ):
        clauses, params = article_conditions(part)
        if clauses:
            conditions.append((" AND ".join(clauses), params))
    return conditions


def _story_clauses(query: StoryQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.since:
        clauses.append("st.last_seen >= ?")
        params.append(to_db_time(query.since))
    if query.until:
        clauses.append("st.first_seen < ?")
        params.append(to_db_time(query.until))
    return clauses, params


def _order_by(order: str) -> str:
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    if order == "outlets":
        return "st.outlets DESC, st.first_seen DESC, st.id DESC"
    return "st.first_seen DESC, st.id DESC"


def story_ids(db: Database, query: StoryQuery, *, limit: int | None = None, offset: int = 0) -> list[int]:
    """Ids of the stories matching `query`, in display order: the snapshot the interface pages over, and the
    one story listing (the CLI's `stories` lists these ids too)."""
    clauses: list[str] = []
    params: list[Any] = []
    # Member-driven: each condition uses its own index (FTS, topic, source), then its hits name their stories.
    for clause, clause_params in _member_conditions(query):
        clauses.append(f"st.id IN (SELECT a.story_id FROM articles a WHERE {clause})")
        params.extend(clause_params)
    story_clauses, story_params = _story_clauses(query)
    clauses += story_clauses
    params += story_params
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT st.id FROM stories st {where} ORDER BY {_order_by(query.order)}"
    if limit is not None or offset:
        sql += " LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
    return [row[0] for row in db.execute(sql, params)]


def first_story_ids(db: Database, query: StoryQuery, *, count: int = 200) -> list[int] | None:
    """A quick first screen before the exact snapshot, or None when only the full snapshot can answer.

    The full snapshot gathers every matching member before sorting; a first screen needs only the newest
    few. A search walks FTS5's hits in descending rowid order (article ids grow with time, so these are
    the newest matches) and shows their stories; other filters walk stories newest first and stop after
    `count`. The exact snapshot that follows replaces this one without moving the selection.
    """
    if query.order != "newest" or (not query.fts and (query.topic or query.source)):
        # Topic and source lists come from their own indexes: the full snapshot is already quick.
        return None
    others = _member_conditions(replace(query, fts=None))
    exists = [
        f"EXISTS (SELECT 1 FROM articles a WHERE a.story_id = st.id AND {clause})" for clause, _ in others
    ]
    exists_params = [param for _, clause_params in others for param in clause_params]
    story_clauses, story_params = _story_clauses(query)
    clauses = exists + story_clauses
    params: list[Any] = exists_params + story_params
    if query.fts:
        extra = "".join(f" AND {clause}" for clause in clauses)
        sql = f"""
            SELECT st.id FROM stories st
            WHERE st.id IN (
                SELECT a.story_id FROM articles a
                WHERE a.id IN (
                    SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT ?))
            {extra}
            ORDER BY st.first_seen DESC, st.id DESC"""
        return [row[0] for row in db.execute(sql, [query.fts, count * 3, *params])]
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT st.id FROM stories st {where} ORDER BY st.first_seen DESC, st.id DESC LIMIT ?"
    return [row[0] for row in db.execute(sql, [*params, count])]


@dataclass(slots=True)
class StoryRow:
    """One line of the story list."""

    id: int
    title: str
    size: int
    outlets: int
    first_seen: str  # the first report (see store.story_rows.refresh_stories)
    last_seen: str
    first_origin: str  # where those dates came from: a stand-in is shown as one
    last_origin: str
    lead_article_id: int
    lead_outlet: str
    unread: int
    starred: bool
    topics: list[str] = field(default_factory=list)


def stories_by_ids(db: Database, ids: Sequence[int]) -> dict[int, StoryRow]:
    """Rows for one page of the list, keyed by story id (ids missing from the table are absent)."""
    rows: dict[int, StoryRow] = {}
    for chunk in chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            f"""SELECT st.id, st.title, st.size, st.outlets, st.first_seen, st.last_seen, st.first_origin,
                       st.last_origin, st.lead_article_id, coalesce(lead.outlet, ''),
                       (SELECT count(*) FROM articles m WHERE m.story_id = st.id AND m.read = 0),
                       EXISTS (SELECT 1 FROM articles m WHERE m.story_id = st.id AND m.starred = 1)
                FROM stories st LEFT JOIN articles lead ON lead.id = st.lead_article_id
                WHERE st.id IN ({marks})""",
            list(chunk),
        ):
            rows[row[0]] = StoryRow(*row[:11], starred=bool(row[11]))
        for story_id, name in db.execute(
            f"""SELECT DISTINCT a.story_id, t.name FROM articles a
                JOIN article_topics at ON at.article_id = a.id JOIN topics t ON t.id = at.topic_id
                WHERE a.story_id IN ({marks}) ORDER BY t.name COLLATE NOCASE""",
            list(chunk),
        ):
            if story_id in rows:
                rows[story_id].topics.append(name)
    return rows


def story_member_rows(db: Database, story_id: int) -> list[dict[str, Any]]:
    """A story's articles for the expanded list and "also reported by": lead first, then by time."""
    return list(
        db.query(
            """SELECT a.id, a.title, a.outlet, a.url, a.sort_time, a.date_origin, a.read, a.starred, a.duplicate_of,
                      s.name AS source, (a.id = st.lead_article_id) AS is_lead
               FROM articles a JOIN sources s ON s.id = a.source_id
               LEFT JOIN stories st ON st.id = a.story_id
               WHERE a.story_id = ?
               ORDER BY is_lead DESC, a.sort_time, a.id""",
            [story_id],
        )
    )


def set_story_read(db: Database, story_id: int, read: bool) -> int:
    """Mark every article of a story read (or unread); returns how many rows changed."""
    cursor = db.conn.execute(
        "UPDATE articles SET read = ? WHERE story_id = ? AND read != ?", [int(read), story_id, int(read)]
    )
    return cursor.rowcount


def set_story_starred(db: Database, story_id: int, lead_article_id: int, starred: bool) -> None:
    """Star a story by starring its lead; unstarring clears the star from every member."""
    if starred:
        db.conn.execute("UPDATE articles SET starred = 1 WHERE id = ?", [lead_article_id])
    else:
        db.conn.execute("UPDATE articles SET starred = 0 WHERE story_id = ? AND starred = 1", [story_id])


def mark_opened(db: Database, article_id: int, *, whole_story: bool) -> None:
    """An article was opened: it is read; with `whole_story` (the `mark_story_read` setting) so is every
    copy and rewrite of its story, whichever member was opened: the analyst has read the event."""
    db.conn.execute("UPDATE articles SET read = 1 WHERE id = ? AND read = 0", [article_id])
    if whole_story:
        row = db.execute("SELECT story_id FROM articles WHERE id = ?", [article_id]).fetchone()
        if row is not None and row[0] is not None:
            set_story_read(db, row[0], True)


def set_stories_read(db: Database, story_ids: Sequence[int], read: bool = True) -> int:
    """Mark every article of these stories read (or unread): "mark all read" over a view; returns how
    many articles changed."""
    changed = 0
    for chunk in chunks(list(story_ids)):
        cursor = db.conn.execute(
            f"UPDATE articles SET read = ? WHERE read != ? AND story_id IN ({','.join('?' * len(chunk))})",
            [int(read), int(read), *chunk],
        )
        changed += cursor.rowcount
    return changed


def existing_ids(db: Database, ids: Sequence[int], *, stories: bool = False) -> set[int]:
    """Which of `ids` are stored articles (or stories)."""
    table = "stories" if stories else "articles"
    found: set[int] = set()
    for chunk in chunks(list(ids)):
        marks = ",".join("?" * len(chunk))
        found.update(
            row[0] for row in db.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", list(chunk))
        )
    return found


def set_stories_starred(db: Database, story_ids: Sequence[int], starred: bool) -> None:
    """Star stories through their leads, or clear every star in them (see `set_story_starred`)."""
    for chunk in chunks(list(story_ids)):
        marks = ",".join("?" * len(chunk))
        for story_id, lead in db.execute(
            f"SELECT id, lead_article_id FROM stories WHERE id IN ({marks})", list(chunk)
        ).fetchall():
            set_story_starred(db, story_id, lead, starred)


def first_unread(db: Database, story_ids: Sequence[int]) -> int | None:
    """The first of `story_ids` (in the order given) with an unread article, or None."""
    for chunk in chunks(list(story_ids)):
        unread = {
            row[0]
            for row in db.execute(
                f"SELECT DISTINCT story_id FROM articles WHERE read = 0"
                f" AND story_id IN ({','.join('?' * len(chunk))})",
                list(chunk),
            )
        }
        for story_id in chunk:
            if story_id in unread:
                return story_id
    return None


def topic_queries(db: Database) -> dict[str, str]:
    """Topic name -> its query text as stored by the last config sync."""
    return dict(db.execute("SELECT name, query FROM topics").fetchall())


@dataclass(slots=True)
class TopicSummary:
    name: str
    query: str
    unread: int
    articles: int
    daily: list[int]  # stories per day by their first report, oldest first, today last


def topic_summaries(
    db: Database, *, today: datetime, days: int = 14, utc: bool = False
) -> list[TopicSummary]:
    """Every topic with its unread count and its daily volume over the last `days` days (for a sparkline).

    The volume counts stories, not copies, on the day of their first report in `today`'s time zone: an old
    story re-fetched today, or reprinted by ten outlets, is one story on its own day."""
    from datetime import UTC, time, timedelta

    zone = UTC if utc else today.tzinfo
    start_day = (today.astimezone(zone) - timedelta(days=days - 1)).date()
    day_keys = [(start_day + timedelta(days=offset)).isoformat() for offset in range(days)]
    daily: dict[int, dict[str, int]] = {}
    # A day early: a first report late on the previous UTC day may fall on the first local day.
    since = datetime.combine(start_day - timedelta(days=1), time(0), tzinfo=UTC)
    for topic_id, _story_id, first_seen, origin in db.execute(
        """SELECT DISTINCT at.topic_id, st.id, st.first_seen, st.first_origin
           FROM stories st JOIN articles a ON a.story_id = st.id
           JOIN article_topics at ON at.article_id = a.id
           WHERE st.first_seen >= ?""",
        [to_db_time(since)],
    ):
        when = datetime.fromisoformat(first_seen)
        date_only = origin not in UNCERTAIN_DATE_ORIGINS and when.astimezone(UTC).timetz() == time(
            0, tzinfo=UTC
        )
        day = (when.astimezone(UTC) if date_only else when.astimezone(zone)).date().isoformat()
        counts = daily.setdefault(topic_id, {})
        counts[day] = counts.get(day, 0) + 1
    summaries = []
    for topic_id, name, query, articles, unread in db.execute(
        """SELECT t.id, t.name, t.query, count(at.article_id),
                  coalesce(sum((SELECT a.read = 0 FROM articles a WHERE a.id = at.article_id)), 0)
           FROM topics t LEFT JOIN article_topics at ON at.topic_id = t.id
           GROUP BY t.id ORDER BY t.name COLLATE NOCASE"""
    ):
        counts = daily.get(topic_id, {})
        summaries.append(
            TopicSummary(name, query, unread, articles, [counts.get(day, 0) for day in day_keys])
        )
    return summaries


@dataclass(slots=True)
class SourceSummary:
    name: str
    location: str
    active: bool
    articles: int
    last_error: str | None
    last_error_at: str | None
    last_success_at: str | None


def source_summaries(db: Database) -> list[SourceSummary]:
    """Every source with its article count (from the index alone) and how its last fetch went."""
    return [
        SourceSummary(*row[:2], bool(row[2]), *row[3:])
        for row in db.execute(
            """SELECT s.name, s.location, s.active,
                      (SELECT count(*) FROM articles a WHERE a.source_id = s.id),
                      s.last_error, s.last_error_at, s.last_success_at
               FROM sources s ORDER BY s.name COLLATE NOCASE"""
        )
    ]


def library_size(db: Database) -> tuple[int, int]:
    """(sources, articles) without counting every row: enough to tell a first run from an empty filter."""
    sources = db.execute("SELECT count(*) FROM sources").fetchone()[0]
    has_articles = db.execute("SELECT EXISTS (SELECT 1 FROM articles)").fetchone()[0]
    return int(sources), int(has_articles)
