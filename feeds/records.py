"""Plain records that flow from `feeds/` into `store/`.

Nothing here knows about SQL, HTTP or the terminal: a parser returns these, the store persists them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Where an article's `published` time came from, so a reader (and story grouping) knows how far to trust it.
DATE_FROM_FEED = "feed"  # the feed entry's published/updated date
DATE_FROM_TEXT = "text"  # a date line found in the article text
DATE_FROM_TEXT_NO_YEAR = "text-no-year"  # a date line without a year ("Dec. 16"): the year is inferred
DATE_FROM_MENTION = "mention"  # no date line: the latest full date the text mentions
DATE_FROM_MTIME = "mtime"  # the file had no date: its modification time stands in
DATE_FROM_FETCH = "fetched"  # the feed entry had no date: the time we first saw it
DATE_FROM_RECORD = "record"  # a structured field (a .jsonl `published` value)
DATE_CORRECTED = (
    "corrected"  # the source's date was more than a day after the fetch: the fetch time stands in
)

UNCERTAIN_DATE_ORIGINS = frozenset({DATE_FROM_MTIME, DATE_FROM_FETCH, DATE_CORRECTED})
# How far ahead of the fetch a date may be (time zones, a clock a little fast) before it is not believed.
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass(slots=True)
class ArticleRecord:
    """One article as read from a source, before it is stored.

    `guid` is unique within its source; `published` is timezone-aware (UTC) or None.
    Text fields hold plain text with control characters already removed (see `feeds.sanitize`).
    """

    guid: str
    title: str
    body: str
    url: str = ""
    author: str = ""
    outlet: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    date_origin: str = DATE_FROM_FEED
    # The date the source gave, when `correct_future_date` replaced it.
    claimed_published: datetime | None = None

    def correct_future_date(self, fetched_at: datetime) -> None:
        """A date more than a day after the fetch (an item dated 2199) would stay first in every list and
        inside every `--since 1h`: the fetch time stands in, and `date_origin` says it was corrected."""
        if self.published is not None and self.published > fetched_at + FUTURE_TOLERANCE:
            self.claimed_published = self.published
            self.published = fetched_at
            self.date_origin = DATE_CORRECTED

    def content_hash(self) -> str:
        """A digest of everything a user could see change; equal hashes mean 'unchanged'."""
        digest = hashlib.sha256()
        for part in (
            self.title,
            self.body,
            self.url,
            self.author,
            self.outlet,
            # The claimed date, not the fetch time that replaced it: an unchanged entry stays unchanged.
            (self.claimed_published or self.published).isoformat() if self.published else "",
            self.updated.isoformat() if self.updated else "",
            self.date_origin,
        ):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x1f")
        return digest.hexdigest()


@dataclass(slots=True)
class ParseResult:
    """What a parser could read, plus a one-line error when it could not read everything.

    Parsers are total (they never raise on bad input): `error` says what went wrong and `records`
    keeps whatever was readable, so a malformed-but-parseable feed still delivers its items.
    """

    records: list[ArticleRecord] = field(default_factory=list)
    error: str | None = None
    feed_title: str = ""
    # Per-item problems that did not stop the parse (e.g. "line 7: invalid JSON").
    warnings: list[str] = field(default_factory=list)
    # Feed-level polling hints (RSS <ttl>, in seconds), used by `watch` as a lower bound.
    ttl_seconds: int | None = None
