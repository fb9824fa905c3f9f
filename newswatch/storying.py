"""Story placement during ingest, and a full regroup, over the store.

The grouper (stories/) is pure; its index lives in SQLite (store.grouping_state) and is flushed inside
the ingest batch's transaction, so articles, their story placement and the grouper's memory commit
together. Articles are always placed in id order, which is what makes `regroup` equal incremental ingest.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from feeds.records import UNCERTAIN_DATE_ORIGINS
from store import stories as story_store
from store.db import from_db_time, write_batch
from store.grouping_state import SqliteGroupingState, clear_grouping_state
from stories.grouper import GroupingSettings, GroupInput, StoryGrouper

# One set of settings for every corpus (see stories/grouper.py and bench/stories_eval.py for why).
SETTINGS = GroupingSettings()
_REGROUP_BATCH = 2000


class StoryPlacer:
    """`place_new_articles` for one ingest run, keeping the grouper's decoded index warm between batches."""

    def __init__(self) -> None:
        self._state: SqliteGroupingState | None = None
        self._conn: object = None

    def __call__(self, db: sqlite_utils.Database, article_ids: Sequence[int]) -> None:
        if self._state is None or self._conn is not db.conn:
            self._state, self._conn = SqliteGroupingState(db), db.conn
        place_new_articles(db, article_ids, state=self._state)


def place_new_articles(
    db: sqlite_utils.Database, article_ids: Sequence[int], *, state: SqliteGroupingState | None = None
) -> None:
    """Place newly inserted articles into stories (inside the ingest batch's transaction)."""
    if not article_ids:
        return
    state = state or SqliteGroupingState(db)
    state.begin()
    grouper = StoryGrouper(SETTINGS, state)
    touched: set[int] = set()
    try:
        for article in story_store.grouping_inputs(db, sorted(article_ids)):
            placement = grouper.place(
                GroupInput(
                    article_id=article["id"],
                    title=article["title"],
                    body=article["body"],
                    outlet=article["outlet"],
                    published=from_db_time(article["published"]),
                    date_certain=article["date_origin"] not in UNCERTAIN_DATE_ORIGINS,
                )
            )
            story_store.assign_story(db, placement.article_id, placement.story_id, placement.duplicate_of)
            if placement.merged:
                story_store.merge_stories(db, placement.story_id, placement.merged)
                touched.update(placement.merged)
            touched.add(placement.story_id)
        state.flush()
    except BaseException:
        state.discard()
        raise
    story_store.refresh_stories(db, touched)


def regroup_all(db: sqlite_utils.Database) -> int:
    """Forget every placement and place all articles again in id order; returns the article count."""
    with write_batch(db):
        story_store.clear_all_stories(db)
        clear_grouping_state(db)
        ids = story_store.all_article_ids(db)
        for start in range(0, len(ids), _REGROUP_BATCH):
            place_new_articles(db, ids[start : start + _REGROUP_BATCH])
    return len(ids)
