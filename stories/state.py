"""What the grouper remembers between articles, behind a small persistable interface.

Every operation is a keyed read or write of a small record, so an SQLite-backed state is a
handful of tables with primary-key lookups (see `GroupingState` for the mapping). Lists the
grouper reads are always returned in a defined order (insertion order or sorted), never in
set/dict-of-hash order, so placements don't depend on PYTHONHASHSEED.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    article_id: int
    story_id: int
    duplicate_of: int | None
    published: float | None  # POSIX seconds, UTC
    date_certain: bool


@dataclass(slots=True)
class StoryRecord:
    story_id: int
    size: int = 0  # articles in the story, duplicates included
    members: int = 0  # distinct (non-duplicate) articles summed into the centroid
    # Span of the members whose dates are certain; None while the story has only uncertain dates.
    first_certain: float | None = None
    last_certain: float | None = None
    # Sum of the members' unit vectors, pruned to the heaviest terms (term -> weight).
    centroid: dict[str, float] = field(default_factory=dict)
    # Months (1-12) the members mention or, for certain dates, were published in.
    months: tuple[int, ...] = ()
    centroid_norm: float = 0.0  # cached L2 norm of `centroid`
    # Weekdays (Monday = 0) the members' leads name.
    weekdays: tuple[int, ...] = ()
    # Set when this story was merged into another: its members' records still name this id, and the
    # grouper follows the pointer (ids of absorbed stories are never reused, so chains stay short).
    merged_into: int | None = None


@runtime_checkable
class GroupingState(Protocol):
    """Storage the grouper needs. Each method maps onto one SQLite table (documented in the report):

    articles(article_id PK, story_id, duplicate_of, published, date_certain)
    signatures(article_id PK, sig BLOB)                 -- MinHash signature of canonical copies
    lsh(band_key, article_id)  index on band_key        -- capped per key, most recent kept
    vectors(article_id PK, terms TEXT/BLOB)             -- pruned TF-IDF vector of canonical copies
    postings(term, article_id) index on term            -- capped per term, most recent kept
    df(term PK, n), meta(key PK, value) for doc_count   -- document frequencies
    stories(story_id PK, size, members, first_certain, last_certain, centroid BLOB, months TEXT, centroid_norm)
    """

    # articles
    def get_articles(self, ids: Sequence[int]) -> dict[int, ArticleRecord]: ...
    def put_article(self, record: ArticleRecord) -> None: ...

    # near-duplicate index
    def get_signatures(self, ids: Sequence[int]) -> dict[int, bytes]: ...
    def put_signature(self, article_id: int, signature: bytes) -> None: ...
    def lsh_lookup(self, keys: Sequence[int]) -> list[int]: ...
    def lsh_add(self, article_id: int, keys: Sequence[int], cap: int) -> None: ...

    # story index
    def get_vectors(self, ids: Sequence[int]) -> dict[int, dict[str, float]]: ...
    def put_vector(self, article_id: int, vector: dict[str, float]) -> None: ...
    def postings(self, terms: Sequence[str]) -> dict[str, list[int]]: ...
    def add_postings(self, article_id: int, terms: Sequence[str], cap: int) -> None: ...

    # document frequencies
    def doc_count(self) -> int: ...
    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]: ...
    def add_document(self, terms: Iterable[str]) -> None: ...

    # stories
    def get_stories(self, ids: Sequence[int]) -> dict[int, StoryRecord]: ...
    def put_story(self, record: StoryRecord) -> None: ...


class InMemoryState:
    """Dict-backed `GroupingState` for tests, the benchmark and one-shot rebuilds."""

    def __init__(self) -> None:
        self._articles: dict[int, ArticleRecord] = {}
        self._signatures: dict[int, bytes] = {}
        self._lsh: dict[int, deque[int]] = {}
        self._vectors: dict[int, dict[str, float]] = {}
        self._postings: dict[str, deque[int]] = {}
        self._df: dict[str, int] = {}
        self._n_docs = 0
        self._stories: dict[int, StoryRecord] = {}

    def get_articles(self, ids: Sequence[int]) -> dict[int, ArticleRecord]:
        got = self._articles
        return {i: got[i] for i in ids if i in got}

    def put_article(self, record: ArticleRecord) -> None:
        self._articles[record.article_id] = record

    def get_signatures(self, ids: Sequence[int]) -> dict[int, bytes]:
        got = self._signatures
        return {i: got[i] for i in ids if i in got}

    def put_signature(self, article_id: int, signature: bytes) -> None:
        self._signatures[article_id] = signature

    def lsh_lookup(self, keys: Sequence[int]) -> list[int]:
        found: set[int] = set()
        for key in keys:
            bucket = self._lsh.get(key)
            if bucket:
                found.update(bucket)
        return sorted(found)

    def lsh_add(self, article_id: int, keys: Sequence[int], cap: int) -> None:
        for key in keys:
            bucket = self._lsh.get(key)
            if bucket is None:
                bucket = self._lsh[key] = deque(maxlen=cap)
            bucket.append(article_id)

    def get_vectors(self, ids: Sequence[int]) -> dict[int, dict[str, float]]:
        got = self._vectors
        return {i: got[i] for i in ids if i in got}

    def put_vector(self, article_id: int, vector: dict[str, float]) -> None:
        self._vectors[article_id] = vector

    def postings(self, terms: Sequence[str]) -> dict[str, list[int]]:
        got = self._postings
        return {t: list(got[t]) for t in terms if t in got}

    def add_postings(self, article_id: int, terms: Sequence[str], cap: int) -> None:
        for term in terms:
            plist = self._postings.get(term)
            if plist is None:
                plist = self._postings[term] = deque(maxlen=cap)
            plist.append(article_id)

    def doc_count(self) -> int:
        return self._n_docs

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        df = self._df
        return {t: df.get(t, 0) for t in terms}

    def add_document(self, terms: Iterable[str]) -> None:
        df = self._df
        for t in terms:
            df[t] = df.get(t, 0) + 1
        self._n_docs += 1

    def get_stories(self, ids: Sequence[int]) -> dict[int, StoryRecord]:
        got = self._stories
        return {i: got[i] for i in ids if i in got}

    def put_story(self, record: StoryRecord) -> None:
        self._stories[record.story_id] = record

    def __len__(self) -> int:
        return len(self._articles)
