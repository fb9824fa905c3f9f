"""The digest as one JSON object, for scripts: stored ISO times plus the dates as shown, stand-ins flagged."""

from __future__ import annotations

from typing import Any

from digest.build import Digest
from digest.words import dates_words, one_line
from newswatch.timefmt import format_when, is_stand_in
from store.db import to_db_time


def digest_json(digest: Digest, *, utc: bool = False) -> dict[str, Any]:
    return {
        "generated_at": to_db_time(digest.generated_at),
        "since": to_db_time(digest.since),
        "until": to_db_time(digest.until),
        "period": digest.period,
        "filters": digest.filters,
        "topics": [
            {
                "topic": section.topic,
                "matching": section.matching,
                "listed_earlier": section.listed_earlier,
                "left_out": section.left_out,
                "stories": [
                    {
                        "id": story.id,
                        "headline": one_line(story.headline),
                        "url": story.url,
                        "lead_outlet": one_line(story.lead_outlet),
                        "outlets": [one_line(name) for name in story.outlets],
                        "outlet_count": story.outlet_count,
                        "articles": story.size,
                        "first_seen": story.first_seen,
                        "last_seen": story.last_seen,
                        "first_seen_is_stand_in": is_stand_in(story.first_origin),
                        "last_seen_is_stand_in": is_stand_in(story.last_origin),
                        "first_seen_shown": format_when(story.first_seen, story.first_origin, utc=utc),
                        "last_seen_shown": format_when(story.last_seen, story.last_origin, utc=utc),
                        "dates_shown": dates_words(story, utc=utc),
                        "extract": one_line(story.extract),
                        "other_topics": story.other_topics,
                    }
                    for story in section.stories
                ],
            }
            for section in digest.sections
        ],
    }
