"""What a digest reads of each story: its lead (headline, link, the opening of its text), outlets and topics.

Which stories a digest lists comes from `store.browsing.story_ids`, the one story listing, so a digest section
holds exactly what `newswatch stories --topic T --since … --sort outlets` lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from store.values import chunks

if TYPE_CHECKING:
    from store.db import Database

# The extract is a sentence or two of the lead: its first few thousand characters are plenty.
LEAD_HEAD_CHARS = 4000


def digest_story_rows(db: Database, story_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Story id -> the story row, its lead's url, outlet and opening text, its outlets (earliest report
    first) and its topics. Ids missing from the table are absent."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in chunks(list(story_ids)):
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"""SELECT st.id, st.title, st.size, st.outlets AS outlet_count, st.first_seen, st.last_seen,
                       st.first_origin, st.last_origin, st.lead_article_id, lead.url AS lead_url,
                       lead.outlet AS lead_outlet, lead.title AS lead_title,
                       substr(lead.body, 1, {LEAD_HEAD_CHARS}) AS lead_head, s.name AS lead_source
                FROM stories st JOIN articles lead ON lead.id = st.lead_article_id
                JOIN sources s ON s.id = lead.source_id
                WHERE st.id IN ({marks})""",
            list(chunk),
        ):
            found[row["id"]] = {**row, "outlets": [], "topics": []}
        for story_id, outlet in db.execute(
            f"""SELECT story_id, outlet FROM articles
                WHERE story_id IN ({marks}) AND outlet != ''
                GROUP BY story_id, outlet COLLATE NOCASE
                ORDER BY story_id, min(sort_time), min(id)""",
            list(chunk),
        ):
            if story_id in found:
                found[story_id]["outlets"].append(outlet)
        for story_id, name in db.execute(
            f"""SELECT DISTINCT a.story_id, t.name FROM articles a
                JOIN article_topics at ON at.article_id = a.id JOIN topics t ON t.id = at.topic_id
                WHERE a.story_id IN ({marks}) ORDER BY a.story_id, t.name COLLATE NOCASE""",
            list(chunk),
        ):
            if story_id in found:
                found[story_id]["topics"].append(name)
    return found
