"""Full text of summary-only feed items (issue 15): which articles want their page, the page text stored as
the body (the feed's text kept as the summary), failures with backoff, and taking an already placed article
out of its story so that it is placed again with its new text.

Schema v8: `articles.summary`, `article_fulltext`, `article_replacements`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from store.backends import backend_of
from store.values import chunks, to_db_time

if TYPE_CHECKING:
    from store.db import Database

# Backoff after a failed page: 1, 2, 4 … hours (or what Retry-After asks, if longer), at most a day; after
# `MAX_ATTEMPTS` failures the page is given up (the article keeps its feed text).
FIRST_BACKOFF = timedelta(hours=1)
MAX_BACKOFF = timedelta(days=1)
MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class PageWanted:
    article_id: int
    url: str
    title: str


def page_candidates(db: Database, article_ids: Sequence[int]) -> list[tuple[int, str, int]]:
    """(id, url, body length) of the given articles whose body is still their feed's text."""
    out: list[tuple[int, str, int]] = []
    for chunk in chunks(list(article_ids)):
        marks = ",".join("?" * len(chunk))
        out.extend(
            db.execute(
                f"SELECT id, url, body_chars FROM articles WHERE id IN ({marks}) AND summary IS NULL",
                list(chunk),
            ).fetchall()
        )
    return out


def queue_pages(db: Database, article_ids: Sequence[int]) -> None:
    """Queue these articles' pages (pending, fetched newest first); an article already queued stays as is."""
    for chunk in chunks(list(article_ids)):
        marks = ",".join("?" * len(chunk))
        db.conn.execute(
            f"""INSERT OR IGNORE INTO article_fulltext (article_id, state, sort_time)
                SELECT id, 'pending', sort_time FROM articles WHERE id IN ({marks})""",
            list(chunk),
        )


def due_pages(db: Database, *, now: datetime, limit: int) -> tuple[list[PageWanted], int]:
    """The pages to fetch this run, newest article first, at most `limit`; and how many are due in all."""
    now_text = to_db_time(now)
    due = """FROM article_fulltext f JOIN articles a ON a.id = f.article_id
             WHERE f.state = 'pending' AND (f.next_attempt_after IS NULL OR f.next_attempt_after <= ?)"""
    rows = db.execute(
        f"SELECT a.id, a.url, a.title {due} ORDER BY f.sort_time DESC, f.article_id DESC LIMIT ?",
        [now_text, max(limit, 0)],
    ).fetchall()
    total = db.execute(f"SELECT count(*) {due}", [now_text]).fetchone()[0]
    return [PageWanted(*row) for row in rows], int(total)


def store_page_text(db: Database, article_id: int, text: str, *, now: datetime) -> bool:
    """The page's text becomes the body; the feed's text is kept as the summary. False when the article
    is gone (its source removed while the page was fetched)."""
    cursor = db.conn.execute(
        """UPDATE articles SET summary = coalesce(summary, body), body = ?, body_chars = ? WHERE id = ?""",
        [text, len(text), article_id],
    )
    if cursor.rowcount == 0:
        return False
    # SQLite's FTS trigger has already re-indexed it; a server store indexes from Python.
    backend_of(db).reindex_articles(db, [article_id])
    db.conn.execute(
        """UPDATE article_fulltext SET state = 'done', fetched_at = ?, last_error = NULL,
               next_attempt_after = NULL, attempts = attempts + 1
           WHERE article_id = ?""",
        [to_db_time(now), article_id],
    )
    return True


def record_page_failure(
    db: Database,
    article_id: int,
    error: str,
    *,
    now: datetime,
    retry_after_seconds: float | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """One failed try: the reason (one line), and when to try again (backoff, or Retry-After when the
    server asked for longer); given up after `max_attempts`."""
    row = db.execute("SELECT attempts FROM article_fulltext WHERE article_id = ?", [article_id]).fetchone()
    if row is None:
        return
    attempts = int(row[0]) + 1
    wait = min(FIRST_BACKOFF * (2 ** (attempts - 1)), MAX_BACKOFF)
    if retry_after_seconds:
        wait = max(wait, timedelta(seconds=min(retry_after_seconds, MAX_BACKOFF.total_seconds())))
    state = "failed" if attempts >= max_attempts else "pending"
    db.conn.execute(
        """UPDATE article_fulltext SET state = ?, attempts = ?, last_error = ?, next_attempt_after = ?
           WHERE article_id = ?""",
        [state, attempts, error[:300], None if state == "failed" else to_db_time(now + wait), article_id],
    )


def fulltext_status(db: Database, article_id: int) -> dict[str, Any] | None:
    """What the reader says about an article's page: state, attempts, last error, when fetched."""
    rows = list(
        db.query(
            """SELECT state, attempts, last_error, fetched_at, next_attempt_after FROM article_fulltext
               WHERE article_id = ?""",
            [article_id],
        )
    )
    return rows[0] if rows else None


def article_summary(db: Database, article_id: int) -> str | None:
    """The feed's own text of an article whose body is its page's text; None when the body is the feed's."""
    row = db.execute("SELECT summary FROM articles WHERE id = ?", [article_id]).fetchone()
    return row[0] if row else None


def article_text(db: Database, article_id: int) -> tuple[str, str] | None:
    row = db.execute("SELECT title, body FROM articles WHERE id = ?", [article_id]).fetchone()
    return (row[0], row[1]) if row else None


# --- placing again ---------------------------------------------------------------------------------------


def is_waiting_for_placement(db: Database, article_id: int) -> bool:
    """Stored with features but not placed yet: its features can simply be replaced."""
    return (
        db.execute("SELECT 1 FROM article_features WHERE article_id = ?", [article_id]).fetchone() is not None
    )


def replace_features(db: Database, rows: Sequence[tuple[int, bytes]]) -> None:
    db.conn.executemany("INSERT OR REPLACE INTO article_features (article_id, blob) VALUES (?, ?)", rows)


def withdraw_from_story(db: Database, article_id: int, settings: Any, engine: Any) -> list[int]:
    """Take a placed article (and its copies) out of its story so that the next placement places it again,
    with features computed from its new text. Returns the articles taken out ([] when it stays put).

    An article placed longer ago than the engine's window (`settings.memory_articles` placements) stays
    in its story: placed again, it would find none of its story's articles among the candidates. What is
    left of the story keeps its id, unless the article leaving was its first: then the story takes the id
    of its first remaining article (story ids are first-article ids), stories merged into it point there,
    and its alerts are the renamed story's too. The story's sums are rebuilt from its remaining members
    (`StoryEngine.story_from_members`). Document frequencies keep the article's first placement.
    """
    from store import grouping_state, story_rows

    conn = db.conn
    placed = conn.execute(
        "SELECT seq, duplicate_of FROM grouping_articles WHERE article_id = ?", [article_id]
    ).fetchone()
    story_row = conn.execute("SELECT story_id FROM articles WHERE id = ?", [article_id]).fetchone()
    if placed is None or story_row is None or story_row[0] is None:
        return []
    meta = grouping_state.read_meta(db)
    if placed[0] <= meta["seq"] - settings.memory_articles:
        return []
    story = int(story_row[0])
    members = conn.execute(
        """SELECT a.id, g.seq, g.duplicate_of, g.blob FROM articles a
           JOIN grouping_articles g ON g.article_id = a.id WHERE a.story_id = ? ORDER BY g.seq""",
        [story],
    ).fetchall()
    leaving = {article_id}
    if placed[1] is None:  # a canonical article takes its copies along, as moves do
        leaving.update(m[0] for m in members if m[2] == article_id)
    remaining = [m for m in members if m[0] not in leaving]
    if remaining and all(m[2] is not None for m in remaining):
        leaving.update(m[0] for m in remaining)  # copies of articles that left: placed again too
        remaining = []
    ids = sorted(leaving)
    marks = ",".join("?" * len(ids))
    conn.execute(f"DELETE FROM grouping_articles WHERE article_id IN ({marks})", ids)
    conn.execute(f"UPDATE articles SET story_id = NULL, duplicate_of = NULL WHERE id IN ({marks})", ids)
    conn.executemany(
        "INSERT OR REPLACE INTO article_replacements (article_id, story_id) VALUES (?, ?)",
        [(aid, story) for aid in ids],
    )
    touched = [story]
    if not remaining:
        conn.execute("DELETE FROM grouping_stories WHERE story_id = ?", [story])
    else:
        ids_left = {m[0] for m in remaining}
        canonical = [m for m in remaining if m[2] is None]
        keep = story if story in ids_left else min(canonical, key=lambda m: m[1])[0]
        if keep != story:
            left = sorted(ids_left)
            left_marks = ",".join("?" * len(left))
            conn.execute(
                f"UPDATE grouping_articles SET story_id = ? WHERE article_id IN ({left_marks})", [keep, *left]
            )
            conn.execute(f"UPDATE articles SET story_id = ? WHERE id IN ({left_marks})", [keep, *left])
            conn.execute("UPDATE grouping_stories SET merged_into = ? WHERE merged_into = ?", [keep, story])
            conn.execute("DELETE FROM grouping_stories WHERE story_id = ?", [story])
            conn.execute(
                """INSERT OR IGNORE INTO alerts (story_id, topic_id, article_id, alerted_at, size_at_alert)
                   SELECT ?, topic_id, article_id, alerted_at, size_at_alert FROM alerts WHERE story_id = ?""",
                [keep, story],
            )
            touched.append(keep)
        articles = [grouping_state.decode_article(m[0], m[1], keep, m[3]) for m in canonical]
        rebuilt = engine.story_from_members(keep, articles, len(remaining))
        if rebuilt.size > 1 or rebuilt.members > 1:
            conn.execute(
                "INSERT OR REPLACE INTO grouping_stories (story_id, merged_into, blob) VALUES (?, NULL, ?)",
                [keep, grouping_state.encode_story(rebuilt)],
            )
        else:
            conn.execute("DELETE FROM grouping_stories WHERE story_id = ?", [keep])
    story_rows.refresh_stories(db, touched)
    return ids


def share_alerts_of_replaced(db: Database) -> int:
    """After placement: each story that now holds an article placed again takes the alerts of the story
    that article left, so an event already announced is not announced again under another id. Returns
    how many articles were settled (those not placed yet wait for the next placement)."""
    conn = db.conn
    rows = conn.execute(
        """SELECT r.article_id, r.story_id, a.story_id FROM article_replacements r
           JOIN articles a ON a.id = r.article_id WHERE a.story_id IS NOT NULL"""
    ).fetchall()
    for _article_id, old_story, new_story in rows:
        if old_story != new_story:
            conn.execute(
                """INSERT OR IGNORE INTO alerts (story_id, topic_id, article_id, alerted_at, size_at_alert)
                   SELECT ?, topic_id, article_id, alerted_at, size_at_alert FROM alerts WHERE story_id = ?""",
                [new_story, old_story],
            )
    conn.executemany("DELETE FROM article_replacements WHERE article_id = ?", [(row[0],) for row in rows])
    return len(rows)


def replacements_waiting(db: Database) -> bool:
    return db.execute("SELECT 1 FROM article_replacements LIMIT 1").fetchone() is not None


def postpone_host(db: Database, host: str, *, until: datetime) -> int:
    """Pending pages on `host` wait until `until` (the host answered 429/503, with Retry-After or not);
    their attempts are not counted: asking them would only be refused. Returns how many were postponed."""
    escaped = host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    patterns = [f"{scheme}://{escaped}{end}" for scheme in ("http", "https") for end in ("/%", ":%")]
    patterns += [f"{scheme}://{escaped}" for scheme in ("http", "https")]
    matches = " OR ".join(["lower(a.url) LIKE ? ESCAPE '\\'"] * len(patterns))
    cursor = db.conn.execute(
        # The later of the two times, written so both backends read it (SQLite's two-argument max is
        # PostgreSQL's greatest).
        f"""UPDATE article_fulltext SET next_attempt_after =
                CASE WHEN coalesce(next_attempt_after, '') > ? THEN next_attempt_after ELSE ? END
            WHERE state = 'pending' AND article_id IN (
                SELECT a.id FROM articles a JOIN article_fulltext f ON f.article_id = a.id
                WHERE f.state = 'pending' AND ({matches}))""",
        [to_db_time(until), to_db_time(until), *patterns],
    )
    return max(cursor.rowcount, 0)
