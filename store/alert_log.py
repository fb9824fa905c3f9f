"""Which (story, topic) pairs have been alerted, and which are new."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.values import to_db_time

if TYPE_CHECKING:
    from store.db import Database


def pending_alerts(
    db: Database,
    *,
    since: datetime | None = None,
    topic: str | None = None,
    realert_sizes: Sequence[int] = (),
) -> list[dict[str, Any]]:
    """Stories matching an alerting topic that were never alerted for it, or grew past a re-alert size.

    One row per (story, topic), oldest story first, with the lead article's headline, outlet and URL and
    the union of the terms that matched across the story's tagged articles. Already-alerted pairs are
    dropped inside SQLite, so the idle cron run reads an index, not every tag.
    """
    params: list[Any] = []
    filters = ""
    if since is not None:
        filters += " AND st.last_seen >= ?"
        params.append(to_db_time(since))
    if topic:
        filters += " AND t.name = ? COLLATE NOCASE"
        params.append(topic)
    pairs = db.execute(
        f"""WITH tagged AS (
                SELECT DISTINCT a.story_id, at.topic_id
                FROM topics t
                JOIN article_topics at ON at.topic_id = t.id
                JOIN articles a ON a.id = at.article_id
                WHERE t.alert = 1 AND a.story_id IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM alerts al WHERE al.story_id = a.story_id AND al.topic_id = t.id
                                  AND NOT EXISTS (SELECT 1 FROM stories s, json_each(?) j
                                                  WHERE s.id = al.story_id AND j.value > al.size_at_alert
                                                    AND j.value <= s.size))
            )
            SELECT st.id, t.id FROM tagged
            JOIN stories st ON st.id = tagged.story_id
            JOIN topics t ON t.id = tagged.topic_id
            WHERE 1 = 1 {filters}
            ORDER BY st.first_seen, st.id, t.name""",
        [json.dumps(sorted(realert_sizes)), *params],
    ).fetchall()
    return [_pending_row(db, story_id, topic_id) for story_id, topic_id in pairs]


def _pending_row(db: Database, story_id: int, topic_id: int) -> dict[str, Any]:
    [row] = db.query(
        """SELECT st.id AS story_id, t.id AS topic_id, t.name AS topic, st.title, st.size, st.outlets,
                  st.first_seen, st.first_origin, st.last_seen, st.lead_article_id, lead.url, lead.outlet,
                  lead.published,
                  al.size_at_alert
           FROM stories st JOIN topics t ON t.id = ? JOIN articles lead ON lead.id = st.lead_article_id
           LEFT JOIN alerts al ON al.story_id = st.id AND al.topic_id = t.id
           WHERE st.id = ?""",
        [topic_id, story_id],
    )
    terms: list[str] = []
    article_ids: list[int] = []
    for article_id, matched in db.execute(
        """SELECT a.id, at.matched_terms FROM articles a JOIN article_topics at ON at.article_id = a.id
           WHERE a.story_id = ? AND at.topic_id = ? ORDER BY a.id""",
        [story_id, topic_id],
    ):
        article_ids.append(article_id)
        for term in json.loads(matched or "[]"):
            if term not in terms:
                terms.append(term)
    row["matched_terms"] = terms
    row["article_ids"] = article_ids
    row["realert"] = row.pop("size_at_alert") is not None
    return row


def remember_alerts(db: Database, rows: Sequence[dict[str, Any]], *, now: datetime) -> None:
    db.conn.executemany(
        """INSERT INTO alerts (story_id, topic_id, article_id, alerted_at, size_at_alert) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (story_id, topic_id) DO UPDATE SET alerted_at = excluded.alerted_at,
               size_at_alert = excluded.size_at_alert""",
        [(r["story_id"], r["topic_id"], r["lead_article_id"], to_db_time(now), r["size"]) for r in rows],
    )
