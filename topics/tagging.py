"""Tagging: run each topic's query over new or changed articles and keep which terms matched.

The FTS index decides *whether* an article matches (fast, in SQLite); the Python matcher only explains
*why*, on the few rows that matched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from store import topic_tags
from topics.query import CompiledQuery, compile_query

if TYPE_CHECKING:
    from store.db import Database


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


def sync_and_retag(db: Database, topics: Sequence[Topic], *, now: datetime) -> list[str]:
    """Store the topic definitions; re-tag all stored articles for new or changed topics only.

    Must run inside a write batch. Returns the names of the topics that were re-tagged.
    """
    changed = topic_tags.sync_topics(db, [(t.name, t.query.text, t.query_hash, t.alert) for t in topics])
    by_name = {topic.name: topic for topic in topics}
    for topic_id, name in changed:
        topic = by_name[name]
        topic_tags.clear_tags(db, topic_id=topic_id)
        matched = topic_tags.fts_matching_ids(db, topic.query.fts)
        topic_tags.add_tags(
            db,
            topic_id,
            _explain(topic.query.term_queries(), matched, lambda fts: topic_tags.fts_matching_ids(db, fts)),
        )
        topic_tags.set_topic_hash(db, topic_id, topic.query_hash, now=now)
    return [name for _, name in changed]


def tag_articles(
    db: Database, topics: Sequence[Topic], article_ids: Sequence[int], *, replace: bool = False
) -> dict[int, list[str]]:
    """Tag the given articles against every topic; `replace` drops their old tags first (updated articles).

    Returns article id -> names of the topics it matched.
    """
    if not article_ids or not topics:
        return {}
    if replace:
        topic_tags.clear_tags(db, article_ids=article_ids)
    ids_by_name = topic_tags.topic_ids(db)
    tagged: dict[int, list[str]] = {}
    batch = topic_tags.BatchIndex(db, article_ids)
    try:
        for topic in topics:
            matched = batch.matching_ids(topic.query.fts)
            if not matched:
                continue
            topic_tags.add_tags(
                db, ids_by_name[topic.name], _explain(topic.query.term_queries(), matched, batch.matching_ids)
            )
            for article_id in matched:
                tagged.setdefault(article_id, []).append(topic.name)
    finally:
        batch.close()
    return tagged


@dataclass(frozen=True, slots=True)
class TopicTerms:
    """What tagging needs of a topic, as plain data a worker process can be sent."""

    name: str
    fts: str
    term_queries: tuple[tuple[str, str], ...]  # CompiledQuery.term_queries()


def topic_terms(topics: Sequence[Topic]) -> list[TopicTerms]:
    return [TopicTerms(t.name, t.query.fts, tuple(t.query.term_queries())) for t in topics]


def tag_texts(
    topics: Sequence[TopicTerms], texts: Sequence[tuple[str, str, str]]
) -> dict[str, list[tuple[int, list[str]]]]:
    """Topic name -> (index in `texts`, matched terms) of the texts it matches: `tag_articles` for
    (title, body, index outlet) texts not stored yet, in an index of their own (a worker's job)."""
    if not topics or not texts:
        return {}
    index = topic_tags.TextIndex(texts)
    try:
        found = {}
        for topic in topics:
            matched = index.matching_ids(topic.fts)
            if matched:
                found[topic.name] = _explain(topic.term_queries, matched, index.matching_ids)
        return found
    finally:
        index.close()


def add_found_tags(db: Database, found: Mapping[str, Sequence[tuple[int, list[str]]]]) -> None:
    """Store what `tag_texts` found, its text indexes already turned into article ids."""
    ids_by_name = topic_tags.topic_ids(db)
    for name, matches in found.items():
        if matches:
            topic_tags.add_tags(db, ids_by_name[name], matches)


def _explain(
    term_queries: Sequence[tuple[str, str]], matched: Sequence[int], run: Callable[[str], Sequence[int]]
) -> list[tuple[int, list[str]]]:
    """Which terms made each matched article match, asked of the same FTS index one term at a time."""
    terms: dict[int, list[str]] = {article_id: [] for article_id in matched}
    for display, fts in term_queries:
        for article_id in run(fts):
            if article_id in terms:
                terms[article_id].append(display)
    return sorted(terms.items())
