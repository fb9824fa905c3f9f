"""Stories: which articles tell one event, the story's lead, size, outlets and time span."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from feeds.records import UNCERTAIN_DATE_ORIGINS
from store.values import chunks

if TYPE_CHECKING:
    from store.db import Database


def assign_stories(
    db: Database, rows: Sequence[tuple[int, int, int | None]], *, keep_duplicate_of: bool = False
) -> None:
    """(article id, story id, duplicate_of) for each placed article; `keep_duplicate_of` moves articles to
    another story without touching what they are copies of."""
    # In id order, each row's page is near the last one's: placement order is time order, not storage
    # order, and an update in random order cost ~1.35x as much on a 15k-article file.
    rows = sorted(rows, key=lambda row: row[0])
    if keep_duplicate_of:
        db.conn.executemany("UPDATE articles SET story_id = ? WHERE id = ?", [(s, a) for a, s, _ in rows])
    else:
        db.conn.executemany(
            "UPDATE articles SET story_id = ?, duplicate_of = ? WHERE id = ?", [(s, d, a) for a, s, d in rows]
        )


def share_alerts(db: Database, source: int, story_id: int) -> None:
    """A story split off `source` was already announced if the article an alert of `source` printed is now
    in it: that alert is its too, so the headline is never printed twice. (Call after moving articles.)"""
    db.conn.execute(
        """INSERT OR IGNORE INTO alerts (story_id, topic_id, article_id, alerted_at, size_at_alert)
           SELECT ?, topic_id, article_id, alerted_at, size_at_alert FROM alerts
           WHERE story_id = ? AND article_id IN (SELECT id FROM articles WHERE story_id = ?)""",
        [story_id, source, story_id],
    )


def merge_stories(db: Database, keep: int, absorbed: Sequence[int]) -> None:
    """Move the members of `absorbed` stories into `keep` (then `refresh_stories` both).

    Their alerts move too: a (story, topic) pair already printed for the absorbed story is not news when
    the same event turns out to be the bigger story (unless `keep` has its own alert for that topic)."""
    conn = db.conn
    marks = ",".join("?" * len(absorbed))
    conn.execute(f"UPDATE articles SET story_id = ? WHERE story_id IN ({marks})", [keep, *absorbed])
    conn.execute(
        f"""INSERT OR IGNORE INTO alerts (story_id, topic_id, article_id, alerted_at, size_at_alert)
            SELECT ?, topic_id, article_id, alerted_at, size_at_alert FROM alerts
            WHERE story_id IN ({marks}) ORDER BY story_id, topic_id""",
        [keep, *absorbed],
    )
    conn.execute(f"DELETE FROM alerts WHERE story_id IN ({marks})", list(absorbed))


def refresh_stories(db: Database, story_ids: Iterable[int]) -> None:
    """Recompute each story's row from its members.

    The lead is the fullest text, the earliest report on a tie, so a reader opens the most complete text;
    the original of each set of copies is the earliest report (`_choose_canonical_copies`). A story is dated by its first report and spans to its last; stand-in dates (a
    file's time, the time first fetched) count only when no member has a real date, since a re-fetched or
    copied file must not make an old story look new.
    """
    conn = db.conn
    for story_id in sorted(set(story_ids)):
        members = conn.execute(
            """SELECT id, title, body_chars, sort_time, outlet, duplicate_of, date_origin FROM articles
               WHERE story_id = ? ORDER BY sort_time, id""",
            [story_id],
        ).fetchall()
        if not members:
            conn.execute("DELETE FROM stories WHERE id = ?", [story_id])
            continue
        members = _choose_canonical_copies(conn, members)
        # The fullest text, a copy included (a reprint that adds paragraphs is the better read); on a tie
        # the earliest real date wins (max keeps the first of equals).
        lead = max(sorted(members, key=_report_order), key=lambda m: m[2])
        outlets = {m[4].casefold() for m in members if m[4]} or {""}
        dated = [m for m in members if m[6] not in UNCERTAIN_DATE_ORIGINS] or members
        first, last = dated[0], dated[-1]
        conn.execute(
            """INSERT INTO stories (id, lead_article_id, title, size, outlets, first_seen, last_seen,
                                    first_origin, last_origin)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET lead_article_id = excluded.lead_article_id, title = excluded.title,
                   size = excluded.size, outlets = excluded.outlets, first_seen = excluded.first_seen,
                   last_seen = excluded.last_seen, first_origin = excluded.first_origin,
                   last_origin = excluded.last_origin""",
            [story_id, lead[0], lead[1], len(members), len(outlets), first[3], last[3], first[6], last[6]],
        )


def _report_order(member: Sequence[Any]) -> tuple[bool, str, int]:
    """Real dates before stand-ins, then earliest first, then the first stored."""
    return (member[6] in UNCERTAIN_DATE_ORIGINS, member[3], member[0])


def _choose_canonical_copies(conn: Any, members: list[Any]) -> list[Any]:
    """Within each set of exact copies, the original is the earliest report (the fullest on a tie), whatever
    order they were stored in: a 14:05 wire is the original of a 14:20 reprint stored an hour before it.

    Grouping marks the later-placed article a copy of the earlier-placed one; across ingest passes that is
    store order, so every copy set is settled again here. Returns the members with `duplicate_of` as
    written."""
    ids = {m[0] for m in members}
    root: dict[int, int] = {}

    def find(article_id: int) -> int:
        while root.get(article_id, article_id) != article_id:
            article_id = root[article_id]
        return article_id

    for m in members:
        if m[5] is not None and m[5] in ids:
            a, b = find(m[0]), find(m[5])
            if a != b:
                root[a] = b
    if not root:
        return members
    clusters: dict[int, list[Any]] = {}
    for m in members:
        if m[5] is None or m[5] in ids:
            clusters.setdefault(find(m[0]), []).append(m)
    chosen: dict[int, int | None] = {}
    for cluster in clusters.values():
        if len(cluster) < 2:
            continue
        original = min(cluster, key=lambda m: (*_report_order(m)[:2], -m[2], m[0]))
        for m in cluster:
            want = None if m is original else original[0]
            if m[5] != want:
                chosen[m[0]] = want
    if not chosen:
        return members
    conn.executemany("UPDATE articles SET duplicate_of = ? WHERE id = ?", [(d, a) for a, d in chosen.items()])
    return [(*m[:5], chosen.get(m[0], m[5]), *m[6:]) if m[0] in chosen else m for m in members]


def clear_all_stories(db: Database) -> None:
    """For a full regroup: forget every placement (article rows stay)."""
    db.conn.execute("UPDATE articles SET story_id = NULL, duplicate_of = NULL")
    db.conn.execute("DELETE FROM stories")


def list_stories(
    db: Database,
    *,
    fts: str | None = None,
    topic: str | None = None,
    source: str | None = None,
    since: Any = None,
    until: Any = None,
    unread_only: bool = False,
    starred_only: bool = False,
    limit: int = 50,
    offset: int = 0,
    order: str = "newest",
) -> list[dict[str, Any]]:
    """Stories newest first (or by most outlets), with member ids, outlets and topics.

    The ids come from `store.browsing.story_ids`, the interface's own listing, so the CLI and the interface
    always list the same stories for the same filters."""
    from store.browsing import StoryQuery, story_ids

    query = StoryQuery(
        fts=fts,
        topic=topic,
        source=source,
        since=since,
        until=until,
        unread_only=unread_only,
        starred_only=starred_only,
        order=order,
    )
    ids = story_ids(db, query, limit=limit, offset=offset)
    found = {
        story["id"]: story
        for chunk in chunks(ids)
        for story in db.query(
            f"""SELECT st.id, st.title, st.size, st.outlets, st.first_seen, st.last_seen, st.first_origin,
                       st.last_origin, st.lead_article_id, a.url AS lead_url, a.outlet AS lead_outlet
                FROM stories st JOIN articles a ON a.id = st.lead_article_id
                WHERE st.id IN ({",".join("?" * len(chunk))})""",
            list(chunk),
        )
    }
    stories = [found[i] for i in ids if i in found]
    for story in stories:
        members = db.execute(
            "SELECT id, outlet, read, starred FROM articles WHERE story_id = ? ORDER BY sort_time, id",
            [story["id"]],
        ).fetchall()
        story["article_ids"] = [m[0] for m in members]
        story["sources"] = sorted({m[1] for m in members if m[1]}, key=str.casefold)
        story["unread"] = sum(1 for m in members if not m[2])
        story["starred"] = any(m[3] for m in members)
        story["topics"] = sorted(
            name
            for (name,) in db.execute(
                """SELECT DISTINCT t.name FROM article_topics at JOIN topics t ON t.id = at.topic_id
                   JOIN articles a ON a.id = at.article_id WHERE a.story_id = ?""",
                [story["id"]],
            )
        )
    return stories


def all_article_ids(db: Database) -> list[int]:
    """The id of every article, for placing them all again."""
    return [row[0] for row in db.execute("SELECT id FROM articles ORDER BY id")]
