"""Which (story, topic) pairs have been alerted, and which are new."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from store.db import to_db_time


def pending_alerts(
    db: sqlite_utils.Database,
    *,
    since: datetime | None = None,
    topic: str | None = None,
    realert_sizes: Sequence[int] = (),
) -> list[dict[str, Any]]:
    """Stories matching an alerting topic that were never alerted for it, or grew past a re-alert size.

    One row per (story, topic), oldest story first, with the lead article's headline, outlet and URL and
    the union of the terms that matched across the story's tagged articles.
    """
    params: list[Any] = []
    filters = ""
    if since is not None:
        filters += " AND st.last_seen >= ?"
        params.append(to_db_time(since))
    if topic:
        filters += " AND t.name = ? COLLATE NOCASE"
        params.append(topic)
    rows = list(
        db.query(
            f"""SELECT st.id AS story_id, t.id AS topic_id, t.name AS topic, st.title, st.size, st.outlets,
                       st.first_seen, st.last_seen, st.lead_article_id, lead.url, lead.outlet, lead.published,
                       al.size_at_alert,
                       json_group_array(at.matched_terms) AS matched_json,
                       json_group_array(a.id) AS article_ids_json
                FROM topics t
                JOIN article_topics at ON at.topic_id = t.id
                JOIN articles a ON a.id = at.article_id
                JOIN stories st ON st.id = a.story_id
                JOIN articles lead ON lead.id = st.lead_article_id
                LEFT JOIN alerts al ON al.story_id = st.id AND al.topic_id = t.id
                WHERE t.alert = 1 {filters}
                GROUP BY st.id, t.id
                ORDER BY st.first_seen, st.id, t.name""",
            params,
        )
    )
    pending = []
    for row in rows:
        previous = row["size_at_alert"]
        if previous is not None and not any(previous < size <= row["size"] for size in realert_sizes):
            continue
        terms: list[str] = []
        for chunk in json.loads(row.pop("matched_json")):
            for term in json.loads(chunk or "[]"):
                if term not in terms:
                    terms.append(term)
        row["matched_terms"] = terms
        row["article_ids"] = sorted(json.loads(row.pop("article_ids_json")))
        row["realert"] = previous is not None
        pending.append(row)
    return pending


def remember_alerts(db: sqlite_utils.Database, rows: Sequence[dict[str, Any]], *, now: datetime) -> None:
    db.conn.executemany(
        """INSERT INTO alerts (story_id, topic_id, article_id, alerted_at, size_at_alert) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (story_id, topic_id) DO UPDATE SET alerted_at = excluded.alerted_at,
               size_at_alert = excluded.size_at_alert""",
        [(r["story_id"], r["topic_id"], r["lead_article_id"], to_db_time(now), r["size"]) for r in rows],
    )
