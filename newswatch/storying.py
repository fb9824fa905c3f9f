"""Story placement during ingest and a full regroup, over the store.

Until the grouping index lands every article is its own story; the store already keeps story rows, so
alerts and listings are per story from the start.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from store import stories as story_store


def place_new_articles(db: sqlite_utils.Database, article_ids: Sequence[int]) -> None:
    """Place newly inserted articles into stories (inside the ingest batch's transaction)."""
    for article_id in sorted(article_ids):
        story_store.assign_story(db, article_id, article_id, None)
    story_store.refresh_stories(db, article_ids)


def regroup_all(db: sqlite_utils.Database) -> int:
    """Forget every placement and place all articles again in id order; returns the article count."""
    from store.db import write_batch

    with write_batch(db):
        story_store.clear_all_stories(db)
        ids = [row[0] for row in db.execute("SELECT id FROM articles ORDER BY id")]
        place_new_articles(db, ids)
    return len(ids)
