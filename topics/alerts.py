"""Keyword alerts: each new (story, alerting topic) pair once, for people (a line) or scripts (JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from store import alerts as alert_store
from store.articles import set_read
from store.db import read_snapshot, utc_now, write_batch


@dataclass(frozen=True, slots=True)
class Alert:
    topic: str
    story_id: int
    article_ids: list[int]
    lead_article_id: int
    title: str
    source: str
    url: str
    published: str | None
    first_seen: str
    outlets: int
    size: int
    matched_terms: list[str]
    realert: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published,
            "first_seen": self.first_seen,
            "outlets": self.outlets,
            "size": self.size,
            "matched_terms": self.matched_terms,
            "story_id": self.story_id,
            "article_id": self.lead_article_id,
            "article_ids": self.article_ids,
            "realert": self.realert,
        }


def collect_alerts(
    db: sqlite_utils.Database,
    *,
    since: datetime | None = None,
    topic: str | None = None,
    remember: bool = True,
    mark_read: bool = False,
    realert_sizes: Sequence[int] = (),
    now: datetime | None = None,
) -> list[Alert]:
    """The alerts not printed before; remembered (unless `remember` is False) in the same transaction.

    A dry run (neither `remember` nor `mark_read`) only reads: it neither waits for nor takes the write lock.
    """
    writes = remember or mark_read
    with write_batch(db) if writes else read_snapshot(db):
        rows = alert_store.pending_alerts(db, since=since, topic=topic, realert_sizes=realert_sizes)
        if remember and rows:
            alert_store.remember_alerts(db, rows, now=now or utc_now())
        if mark_read and rows:
            set_read(db, sorted({i for row in rows for i in row["article_ids"]}))
    return [
        Alert(
            topic=row["topic"],
            story_id=row["story_id"],
            article_ids=row["article_ids"],
            lead_article_id=row["lead_article_id"],
            title=row["title"],
            source=row["outlet"],
            url=row["url"],
            published=row["published"],
            first_seen=row["first_seen"],
            outlets=row["outlets"],
            size=row["size"],
            matched_terms=row["matched_terms"],
            realert=row["realert"],
        )
        for row in rows
    ]


def format_alert_line(alert: Alert) -> str:
    """time  topic: headline (outlet, N outlets) URL -- sanitised again by the caller at print time."""
    when = (alert.published or alert.first_seen or "")[:16].replace("T", " ")
    outlets = f"{alert.outlets} outlet{'s' if alert.outlets != 1 else ''}"
    grew = f", grew to {alert.size} articles" if alert.realert else ""
    url = f"  {alert.url}" if alert.url else ""
    return f"{when}  [{alert.topic}] {alert.title} — {alert.source} ({outlets}{grew}){url}"
