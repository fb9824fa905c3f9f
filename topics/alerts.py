"""Keyword alerts: each new (story, alerting topic) pair once, for people (a line) or scripts (JSON).

A story that newly matches several topics in one run is one alert naming them all; a topic that starts
matching it later is a new alert for that topic alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newswatch.timefmt import format_when, is_stand_in
from store import alert_log
from store.articles import set_read
from store.db import Database, exclusive, read_snapshot, utc_now, write_batch


@dataclass(frozen=True, slots=True)
class Alert:
    topics: list[str]  # every topic this story newly matches, in name order
    story_id: int
    article_ids: list[int]
    lead_article_id: int
    title: str
    source: str
    url: str
    published: str | None
    first_seen: str  # the story's first report
    first_origin: str  # where that date came from (a stand-in is marked in the line)
    outlets: int
    size: int
    matched_terms: list[str]
    realert: bool

    @property
    def topic(self) -> str:
        return self.topics[0]

    def as_json(self) -> dict[str, Any]:
        return {
            "topics": self.topics,
            "topic": self.topic,  # the first of `topics`, for scripts written for one topic per line
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published,
            "first_seen": self.first_seen,
            "first_seen_is_stand_in": is_stand_in(self.first_origin),
            "outlets": self.outlets,
            "size": self.size,
            "matched_terms": self.matched_terms,
            "story_id": self.story_id,
            "article_id": self.lead_article_id,
            "article_ids": self.article_ids,
            "realert": self.realert,
        }


def collect_alerts(
    db: Database,
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
        if writes:
            # Two ingests printing alerts at once on a server store: the second sees the first's as printed.
            exclusive(db, "alerts")
        rows = alert_log.pending_alerts(db, since=since, topic=topic, realert_sizes=realert_sizes)
        if remember and rows:
            alert_log.remember_alerts(db, rows, now=now or utc_now())
        if mark_read and rows:
            set_read(db, sorted({i for row in rows for i in row["article_ids"]}))
    by_story: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_story.setdefault(row["story_id"], []).append(row)
    alerts = []
    for story_rows in by_story.values():
        row = story_rows[0]
        terms: list[str] = []
        article_ids: set[int] = set()
        for each in story_rows:
            terms += [term for term in each["matched_terms"] if term not in terms]
            article_ids.update(each["article_ids"])
        alerts.append(
            Alert(
                topics=sorted((each["topic"] for each in story_rows), key=str.casefold),
                story_id=row["story_id"],
                article_ids=sorted(article_ids),
                lead_article_id=row["lead_article_id"],
                title=row["title"],
                source=row["outlet"],
                url=row["url"],
                published=row["published"],
                first_seen=row["first_seen"],
                first_origin=row["first_origin"],
                outlets=row["outlets"],
                size=row["size"],
                matched_terms=terms,
                realert=all(each["realert"] for each in story_rows),
            )
        )
    return alerts


def format_alert_line(alert: Alert, *, utc: bool = False) -> str:
    """time  topic: headline (outlet, N outlets) URL -- sanitised again by the caller at print time.

    The time is the story's first report, in local time (or UTC), a stand-in marked '~'."""
    when = format_when(alert.first_seen, alert.first_origin, utc=utc)
    outlets = f"{alert.outlets} outlet{'s' if alert.outlets != 1 else ''}"
    grew = f", grew to {alert.size} articles" if alert.realert else ""
    url = f"  {alert.url}" if alert.url else ""
    return f"{when}  [{', '.join(alert.topics)}] {alert.title} — {alert.source} ({outlets}{grew}){url}"
