"""The story grouper's memory in SQLite, so placement is incremental across runs and processes.

Implements `stories.state.GroupingState` over the grouping_* tables (schema v2). Writes are buffered and
written by `flush()`, which the ingest pipeline calls inside each batch's transaction: the grouper's state
and the articles it placed commit together or not at all. Reads see the buffer first, then the database.

Capped lists (LSH buckets, term postings) keep their most recent `cap` entries, in append order, as the
in-memory state's deques do: each row carries a global sequence number, lookups take the newest `cap`
rows per key, and `flush()` trims the keys it touched so the tables stay bounded.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from stories.state import ArticleRecord, StoryRecord

_CHUNK = 400
# Decoded records kept between batches, per kind. Candidates come from recent articles and stories, so
# these hold the recent ones and stay bounded in memory: a story's centroid holds up to 300 terms and a
# vector 80, so those caches are the smallest (at 200,000 each a long run grew past 2 GB).
_CACHE_LIMITS = {
    "articles": 200_000,
    "signatures": 50_000,
    "vectors": 30_000,
    "stories": 10_000,
    "df": 200_000,
    "grouping_lsh": 200_000,
    "grouping_postings": 100_000,
}


def _trim(cache: dict[Any, Any], kind: str) -> None:
    """Keep a cache within its limit by dropping its oldest half (dicts keep insertion order, and
    `_remember` re-inserts what changes, so the oldest entries are the least recently written)."""
    limit = _CACHE_LIMITS[kind]
    if len(cache) > limit:
        for key in list(itertools.islice(cache, len(cache) - limit // 2)):
            del cache[key]


def _remember(cache: dict[Any, Any], items: dict[Any, Any]) -> None:
    for key, value in items.items():
        cache.pop(key, None)
        cache[key] = value


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SqliteGroupingState:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.conn = db.conn
        self._articles: dict[int, ArticleRecord] = {}
        self._signatures: dict[int, bytes] = {}
        self._vectors: dict[int, dict[str, float]] = {}
        self._stories: dict[int, StoryRecord] = {}
        self._df_delta: dict[str, int] = {}
        self._docs_delta = 0
        # Appended (seq, article_id) entries per key not yet written, and the caps they were added with.
        self._lsh_rows: dict[int, list[tuple[int, int]]] = {}
        self._posting_rows: dict[str, list[tuple[int, int]]] = {}
        self._lsh_cap = 0
        self._posting_cap = 0
        self._seq = self._meta("seq")
        # Committed records already decoded, kept across batches of one run (the ingest lock makes this
        # process the only writer). `begin()` drops them if the database moved on without us.
        self._cache: dict[str, dict[Any, Any]] = {kind: {} for kind in _CACHE_LIMITS}
        self._cached_seq = self._seq

    def begin(self) -> None:
        """Call before placing a batch: forget cached records if a batch was rolled back since the last flush."""
        self._seq = self._meta("seq")
        if self._seq != self._cached_seq:
            for cache in self._cache.values():
                cache.clear()
            self._cached_seq = self._seq

    def _lookup(
        self, kind: str, ids: Sequence[Any], overlay: dict[Any, Any], sql: str, decode: Any
    ) -> dict[Any, Any]:
        cache = self._cache[kind]
        _trim(cache, kind)
        found = {}
        missing = []
        for i in ids:
            if i in overlay:
                found[i] = overlay[i]
            elif i in cache:
                found[i] = cache[i]
            else:
                missing.append(i)
        if missing:
            for key, value in self._select(sql, missing):
                found[key] = cache[key] = decode(value)
        return found

    # --- helpers --------------------------------------------------------------------------------------

    def _meta(self, key: str) -> int:
        row = self.conn.execute("SELECT value FROM grouping_meta WHERE key = ?", [key]).fetchone()
        return int(row[0]) if row else 0

    def _select(self, sql: str, ids: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for chunk in _chunks(list(ids)):
            rows.extend(self.conn.execute(sql.format(marks=",".join("?" * len(chunk))), list(chunk)))
        return rows

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- articles -------------------------------------------------------------------------------------

    def get_articles(self, ids: Sequence[int]) -> dict[int, ArticleRecord]:
        return self._lookup(
            "articles",
            ids,
            self._articles,
            "SELECT article_id, record FROM grouping_articles WHERE article_id IN ({marks})",
            lambda text: _load(ArticleRecord, text),
        )

    def put_article(self, record: ArticleRecord) -> None:
        self._articles[record.article_id] = record

    # --- near-duplicate index -------------------------------------------------------------------------

    def get_signatures(self, ids: Sequence[int]) -> dict[int, bytes]:
        return self._lookup(
            "signatures",
            ids,
            self._signatures,
            "SELECT article_id, sig FROM grouping_signatures WHERE article_id IN ({marks})",
            bytes,
        )

    def put_signature(self, article_id: int, signature: bytes) -> None:
        self._signatures[article_id] = signature

    def lsh_lookup(self, keys: Sequence[int]) -> list[int]:
        buckets = self._newest("grouping_lsh", "band_key", keys, self._lsh_rows, self._lsh_cap)
        return sorted({article_id for bucket in buckets.values() for article_id in bucket})

    def lsh_add(self, article_id: int, keys: Sequence[int], cap: int) -> None:
        self._lsh_cap = cap
        for key in keys:
            self._lsh_rows.setdefault(key, []).append((self._next_seq(), article_id))

    # --- story index ----------------------------------------------------------------------------------

    def get_vectors(self, ids: Sequence[int]) -> dict[int, dict[str, float]]:
        return self._lookup(
            "vectors",
            ids,
            self._vectors,
            "SELECT article_id, vector FROM grouping_vectors WHERE article_id IN ({marks})",
            json.loads,
        )

    def put_vector(self, article_id: int, vector: dict[str, float]) -> None:
        self._vectors[article_id] = vector

    def postings(self, terms: Sequence[str]) -> dict[str, list[int]]:
        return self._newest("grouping_postings", "term", terms, self._posting_rows, self._posting_cap)

    def add_postings(self, article_id: int, terms: Sequence[str], cap: int) -> None:
        self._posting_cap = cap
        for term in terms:
            self._posting_rows.setdefault(term, []).append((self._next_seq(), article_id))

    def _newest(
        self,
        table: str,
        key_column: str,
        keys: Sequence[Any],
        pending: dict[Any, list[tuple[int, int]]],
        cap: int,
    ) -> dict[Any, list[int]]:
        """key -> its newest `cap` article ids, oldest first (a deque with maxlen=cap)."""
        committed = self._cache[table]
        _trim(committed, table)  # before deciding what is missing, or a key found cached is gone when read
        wanted = list(dict.fromkeys(keys))
        missing = [key for key in wanted if key not in committed]
        if missing:
            loaded: dict[Any, list[tuple[int, int]]] = {key: [] for key in missing}  # absent keys too
            for key, seq, article_id in self._select(
                f"SELECT {key_column}, seq, article_id FROM {table} WHERE {key_column} IN ({{marks}})"
                f" ORDER BY {key_column}, seq",
                missing,
            ):
                loaded[key].append((seq, article_id))
            for key, entries in loaded.items():
                committed[key] = entries[-cap:] if cap else entries
        result = {}
        for key in wanted:
            entries = committed[key] + pending.get(key, [])
            if entries:
                result[key] = [article_id for _, article_id in (entries[-cap:] if cap else entries)]
        return result

    # --- document frequencies -------------------------------------------------------------------------

    def doc_count(self) -> int:
        return self._meta("doc_count") + self._docs_delta

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        committed = self._cache["df"]
        _trim(committed, "df")  # before deciding what is missing (see _newest)
        missing = [term for term in dict.fromkeys(terms) if term not in committed]
        if missing:
            committed.update(dict.fromkeys(missing, 0))  # absent terms are cached as 0 too
            committed.update(self._select("SELECT term, n FROM grouping_df WHERE term IN ({marks})", missing))
        delta = self._df_delta
        return {term: committed[term] + delta.get(term, 0) for term in terms}

    def add_document(self, terms: Iterable[str]) -> None:
        delta = self._df_delta
        for term in terms:
            delta[term] = delta.get(term, 0) + 1
        self._docs_delta += 1

    # --- stories --------------------------------------------------------------------------------------

    def get_stories(self, ids: Sequence[int]) -> dict[int, StoryRecord]:
        return self._lookup(
            "stories",
            ids,
            self._stories,
            "SELECT story_id, record FROM grouping_stories WHERE story_id IN ({marks})",
            lambda text: _load(StoryRecord, text),
        )

    def put_story(self, record: StoryRecord) -> None:
        self._stories[record.story_id] = record

    # --- persistence ----------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything buffered; call inside the batch's transaction."""
        conn = self.conn
        conn.executemany(
            "INSERT OR REPLACE INTO grouping_articles (article_id, record) VALUES (?, ?)",
            [(i, _dump(r)) for i, r in self._articles.items()],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO grouping_signatures (article_id, sig) VALUES (?, ?)",
            self._signatures.items(),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO grouping_vectors (article_id, vector) VALUES (?, ?)",
            [(i, json.dumps(v, separators=(",", ":"))) for i, v in self._vectors.items()],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO grouping_stories (story_id, record) VALUES (?, ?)",
            [(i, _dump(r)) for i, r in self._stories.items()],
        )
        conn.executemany(
            "INSERT INTO grouping_df (term, n) VALUES (?, ?) ON CONFLICT (term) DO UPDATE SET n = n + excluded.n",
            sorted(self._df_delta.items()),
        )
        df_cache = self._cache["df"]
        for term, n in self._df_delta.items():
            if term in df_cache:
                df_cache[term] += n
        self._write_capped("grouping_lsh", "band_key", self._lsh_rows, self._lsh_cap)
        self._write_capped("grouping_postings", "term", self._posting_rows, self._posting_cap)
        for key, value in (("doc_count", self.doc_count()), ("seq", self._seq)):
            conn.execute(
                "INSERT INTO grouping_meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
        for kind, overlay in (
            ("articles", self._articles),
            ("signatures", self._signatures),
            ("vectors", self._vectors),
            ("stories", self._stories),
        ):
            _remember(self._cache[kind], overlay)
        self.discard()
        self._cached_seq = self._seq

    def _write_capped(
        self, table: str, key_column: str, pending: dict[Any, list[tuple[int, int]]], cap: int
    ) -> None:
        if not pending:
            return
        rows = [(key, seq, article_id) for key, entries in pending.items() for seq, article_id in entries]
        self.conn.executemany(f"INSERT INTO {table} ({key_column}, seq, article_id) VALUES (?, ?, ?)", rows)
        committed = self._cache[table]
        overflowing = []
        for key, entries in pending.items():
            if key in committed:
                merged = committed[key] + entries
                if cap and len(merged) > cap:
                    overflowing.append(key)
                committed[key] = merged[-cap:] if cap else merged
            else:
                overflowing.append(key)  # length unknown here: let SQLite trim it
        if cap and overflowing:
            # Most keys (LSH bands especially) hold a handful of rows: trim only lists that outgrew the cap.
            self.conn.executemany(
                f"""DELETE FROM {table} WHERE {key_column} = ?1 AND seq <= (
                        SELECT seq FROM {table} WHERE {key_column} = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)""",
                [(key, cap) for key in overflowing],
            )

    def discard(self) -> None:
        """Forget buffered writes (after a rollback, or once flushed)."""
        self._articles.clear()
        self._signatures.clear()
        self._vectors.clear()
        self._stories.clear()
        self._df_delta.clear()
        self._docs_delta = 0
        self._lsh_rows.clear()
        self._posting_rows.clear()
        self._seq = self._meta("seq")


def _dump(record: Any) -> str:
    # JSON keeps dict order and round-trips floats exactly (repr), which placement equality depends on.
    # Shallow on purpose: dataclasses.asdict deep-copies every centroid first, which dominated placement.
    fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    return json.dumps(fields, separators=(",", ":"))


def _load(cls: type[Any], text: str) -> Any:
    """Rebuild a grouper record; JSON arrays go back to tuples where the field's default is a tuple."""
    data = json.loads(text)
    for f in dataclasses.fields(cls):
        if isinstance(data.get(f.name), list) and isinstance(f.default, tuple):
            data[f.name] = tuple(data[f.name])
    return cls(**data)


def clear_grouping_state(db: sqlite_utils.Database) -> None:
    """For a full regroup: the grouper starts from nothing."""
    for table in (
        "grouping_articles",
        "grouping_signatures",
        "grouping_lsh",
        "grouping_vectors",
        "grouping_postings",
        "grouping_df",
        "grouping_meta",
        "grouping_stories",
    ):
        db.conn.execute(f"DELETE FROM {table}")
