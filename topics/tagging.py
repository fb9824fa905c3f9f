"""Tagging: run each topic's query over new or changed articles and keep which terms matched.

The FTS index decides *whether* an article matches (fast, in SQLite); the Python matcher only explains
*why*, on the few rows that matched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from store import topics as topic_store
from topics.query import CompiledQuery, compile_query


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    query: CompiledQuery
    alert: bool

    @property
    def query_hash(self) -> str:
        # The compiled FTS form, so editing a term list the query uses also counts as a change.
        return hashlib.sha256(self.query.fts.encode()).hexdigest()[:16]


def compile_topics(
    topics: Sequence[tuple[str, str, bool]], term_lists: Mapping[str, Sequence[str]]
) -> list[Topic]:
    """(name, query text, alert) -> compiled topics. Raises QueryError (config load already checked them)."""
    return [Topic(name, compile_query(text, term_lists), alert) for name, text, alert in topics]


def sync_and_retag(db: sqlite_utils.Database, topics: Sequence[Topic], *, now: datetime) -> list[str]:
    """Store the topic definitions; re-tag all stored articles for new or changed topics only.

    Must run inside a write batch. Returns the names of the topics that were re-tagged.
    """
    changed = topic_store.sync_topics(db, [(t.name, t.query.text, t.query_hash, t.alert) for t in topics])
    by_name = {topic.name: topic for topic in topics}
    for topic_id, name in changed:
        topic = by_name[name]
        topic_store.clear_tags(db, topic_id=topic_id)
        matched = topic_store.fts_matching_ids(db, topic.query.fts)
        topic_store.add_tags(db, topic_id, _explain(db, topic.query, matched))
        topic_store.set_topic_hash(db, topic_id, topic.query_hash, now=now)
    return [name for _, name in changed]


def tag_articles(
    db: sqlite_utils.Database, topics: Sequence[Topic], article_ids: Sequence[int], *, replace: bool = False
) -> dict[int, list[str]]:
    """Tag the given articles against every topic; `replace` drops their old tags first (updated articles).

    Returns article id -> names of the topics it matched.
    """
    if not article_ids or not topics:
        return {}
    if replace:
        topic_store.clear_tags(db, article_ids=article_ids)
    ids_by_name = topic_store.topic_ids(db)
    topics_by_article: dict[int, list[Topic]] = {}
    batch = topic_store.BatchIndex(db, article_ids)
    try:
        for topic in topics:
            for article_id in batch.matching_ids(topic.query.fts):
                topics_by_article.setdefault(article_id, []).append(topic)
    finally:
        batch.close()
    # Article by article, so each text is read and tokenized once for all the topics it matched.
    explained: dict[str, list[tuple[int, list[str]]]] = {}
    for article_id, title, body, outlet in topic_store.article_texts(db, sorted(topics_by_article)):
        for topic in topics_by_article[article_id]:
            explained.setdefault(topic.name, []).append(
                (article_id, topic.query.matched_terms(title, body, outlet))
            )
    for name, matches in explained.items():
        topic_store.add_tags(db, ids_by_name[name], matches)
    return {article_id: [t.name for t in matched] for article_id, matched in topics_by_article.items()}


def _explain(
    db: sqlite_utils.Database, query: CompiledQuery, article_ids: Sequence[int]
) -> list[tuple[int, list[str]]]:
    return [
        (article_id, query.matched_terms(title, body, outlet))
        for article_id, title, body, outlet in topic_store.article_texts(db, article_ids)
    ]
