"""A digest as plain data: for each topic, the period's stories, most widely reported first.

Which stories: those `store.browsing.story_ids` lists for the topic (plus any other filter the caller passes,
such as the interface's search) and the period, ordered by outlets then first report, the order of
`newswatch stories --sort outlets`. A story in several of the digest's topics appears once, under the first
of them, and names its other topics. Nothing here formats or prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from digest.extract import lead_extract
from feeds.sanitize import safe_url
from store.browsing import StoryQuery, story_ids
from store.digest import digest_story_rows

if TYPE_CHECKING:
    from store.db import Database


@dataclass(frozen=True, slots=True)
class DigestStory:
    id: int
    headline: str
    url: str | None  # http(s) only, else None
    lead_outlet: str
    outlets: list[str]  # outlet names, the earliest report first
    outlet_count: int
    size: int  # articles
    first_seen: str  # stored ISO times; show them with newswatch.timefmt
    last_seen: str
    first_origin: str
    last_origin: str
    extract: str
    other_topics: list[str]  # the story's topics other than the one it is listed under


@dataclass(slots=True)
class DigestSection:
    topic: str
    stories: list[DigestStory] = field(default_factory=list)
    matching: int = 0  # stories of the topic in the period, including those listed under an earlier topic
    listed_earlier: int = 0  # of those, how many appear under an earlier topic
    left_out: int = 0  # beyond the limit


@dataclass(slots=True)
class Digest:
    generated_at: datetime
    since: datetime | None
    until: datetime | None
    period: str  # how the period was asked for: "24h", "2024-11-01"
    sections: list[DigestSection] = field(default_factory=list)
    # The other filters applied (the interface's search, source, unread only …), in words; empty for the CLI.
    filters: list[str] = field(default_factory=list)

    @property
    def story_count(self) -> int:
        return sum(len(section.stories) for section in self.sections)


def build_digest(
    db: Database,
    topics: Sequence[str],
    *,
    since: datetime | None,
    until: datetime | None = None,
    limit: int = 10,
    now: datetime,
    period: str = "",
    base: StoryQuery | None = None,
    filters: Sequence[str] = (),
) -> Digest:
    """The digest of `topics` (in this order) for stories reported since `since` (and before `until`)."""
    digest = Digest(now, since, until, period, filters=list(filters))
    base = replace(base or StoryQuery(), since=since, until=until, order="outlets")
    order = {name.casefold(): index for index, name in enumerate(topics)}
    shown: set[int] = set()
    for topic in topics:
        ids = story_ids(db, replace(base, topic=topic))
        section = DigestSection(topic, matching=len(ids))
        fresh = [story_id for story_id in ids if story_id not in shown]
        section.listed_earlier = len(ids) - len(fresh)
        section.left_out = max(len(fresh) - limit, 0)
        picked = fresh[:limit]
        rows = digest_story_rows(db, picked)
        for story_id in picked:
            row = rows.get(story_id)
            if row is None:  # regrouped away between the two queries
                continue
            others = sorted(
                (name for name in row["topics"] if name.casefold() != topic.casefold()),
                key=lambda name: (order.get(name.casefold(), len(order)), name.casefold()),
            )
            section.stories.append(
                DigestStory(
                    id=story_id,
                    headline=row["title"],
                    url=safe_url(row["lead_url"]),
                    lead_outlet=row["lead_outlet"] or row["lead_source"],
                    outlets=row["outlets"] or [row["lead_source"]],
                    outlet_count=row["outlet_count"],
                    size=row["size"],
                    first_seen=row["first_seen"],
                    last_seen=row["last_seen"],
                    first_origin=row["first_origin"],
                    last_origin=row["last_origin"],
                    extract=lead_extract(row["lead_head"] or "", row["lead_title"] or ""),
                    other_topics=others,
                )
            )
            shown.add(story_id)
        digest.sections.append(section)
    return digest
