"""The story engine's state in SQLite: compact binary records, written once per placement chunk.

- `article_features(article_id, blob)`: stateless features of articles stored but not yet placed; an empty
  blob (`FEATURES_AT_PLACEMENT`) says they are computed from the article's text when it is placed.
- `grouping_articles(article_id, seq, chunk, story_id, duplicate_of, blob)`: one row per placed article,
  its frozen vectors in `blob` (copies have an empty blob: they are not in the index). `seq` orders the
  placements and `chunk` records which chunk each was placed in, so a regroup replays the same chunks.
- `grouping_stories(story_id, merged_into, blob)`: summed vectors of stories of two or more articles
  (a singleton's are its article's), or the pointer an absorbed story leaves.
- `grouping_df(term, n)` and `grouping_meta` (doc_count, seq, chunk).
Posting lists and band keys are not stored: they are rebuilt from the window's rows when an engine loads.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from store.values import chunks
from stories.engine import ChunkResult, EngineSettings, PlacedArticle, StateSource, Story, StoryEngine
from stories.features import FEATURE_BODY_CHARS, pack_arrays, unpack_arrays

if TYPE_CHECKING:
    from store.db import Database

_ARTICLE = struct.Struct("<dBHBHHH")  # published, certain, months, weekdays, terms, signature, dims
# size, members, first, last, months, weekdays, terms, dims, first seq, long members
_STORY = struct.Struct("<IIddHBHHqI")
_META_KEYS = ("doc_count", "seq", "chunk", "rebuild", "embedding_count")


def _time(value: float) -> float | None:
    return None if math.isnan(value) else value


# ---------------------------------------------------------------------------------------- encoding


def encode_article(a: PlacedArticle) -> bytes:
    head = _ARTICLE.pack(
        math.nan if a.published is None else a.published,
        a.certain,
        a.months,
        a.weekdays,
        len(a.terms),
        len(a.signature),
        len(a.embedding),
    )
    return pack_arrays(
        head, [(a.terms, "<u4"), (a.weights, "<f2"), (a.signature, "<u2"), (a.embedding, "<f2")]
    )


def decode_article(article_id: int, seq: int, story_id: int, blob: bytes) -> PlacedArticle:
    published, certain, months, weekdays, n, nsig, dims = _ARTICLE.unpack_from(blob)
    terms, weights, signature, embedding = unpack_arrays(
        blob, _ARTICLE.size, [("<u4", n), ("<f2", n), ("<u2", nsig), ("<f2", dims)]
    )
    return PlacedArticle(
        article_id, seq, story_id, _time(published), bool(certain), months, weekdays, terms.astype(np.int64),
        weights.astype(np.float32), signature.astype(np.uint16), embedding.copy(),
    )  # fmt: skip


def encode_story(s: Story) -> bytes:
    head = _STORY.pack(
        s.size,
        s.members,
        math.nan if s.first is None else s.first,
        math.nan if s.last is None else s.last,
        s.months,
        s.weekdays,
        len(s.terms),
        len(s.embedding),
        s.first_seq,
        s.long_members,
    )
    return pack_arrays(head, [(s.terms, "<u4"), (s.weights, "<f2"), (s.embedding, "<f2")])


def decode_story(story_id: int, blob: bytes) -> Story:
    size, members, first, last, months, weekdays, n, dims, first_seq, long_members = _STORY.unpack_from(blob)
    terms, weights, embedding = unpack_arrays(blob, _STORY.size, [("<u4", n), ("<f2", n), ("<f2", dims)])
    return Story(
        story_id, size, members, _time(first), _time(last), months, weekdays, terms.astype(np.int64),
        weights.astype(np.float32), embedding.astype(np.float32), first_seq=first_seq, long_members=long_members,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------- reading


class SqliteStateSource(StateSource):
    """What the engine reads on demand: document frequencies of terms, stories it does not hold."""

    def __init__(self, db: Database) -> None:
        self.conn = db.conn

    def document_frequencies(self, terms: np.ndarray) -> np.ndarray:
        found: dict[int, int] = {}
        ids = terms.tolist()
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            found.update(self.conn.execute(f"SELECT term, n FROM grouping_df WHERE term IN ({marks})", chunk))
        return np.array([found.get(t, 0) for t in ids], dtype=np.int64)

    def stories(self, story_ids: Iterable[int]) -> dict[int, Story]:
        out: dict[int, Story] = {}
        ids = list(story_ids)
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            for sid, merged_into, blob in self.conn.execute(
                f"SELECT story_id, merged_into, blob FROM grouping_stories WHERE story_id IN ({marks})", chunk
            ):
                out[sid] = (
                    Story(sid, merged_into=merged_into)
                    if merged_into is not None
                    else decode_story(sid, blob)
                )
        return out


def read_meta(db: Database) -> dict[str, int]:
    meta = dict.fromkeys(_META_KEYS, 0)
    meta.update(db.conn.execute("SELECT key, value FROM grouping_meta WHERE key != 'embedding_sum'"))
    return meta


def _embedding_sum(db: Database) -> np.ndarray | None:
    """The engine's running sum of embeddings (float64 blob; the column takes any type)."""
    row = db.conn.execute("SELECT value FROM grouping_meta WHERE key = 'embedding_sum'").fetchone()
    return np.frombuffer(row[0], "<f8").copy() if row and isinstance(row[0], bytes) else None


def write_meta(db: Database, **values: int) -> None:
    db.conn.executemany(
        "INSERT INTO grouping_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        sorted(values.items()),
    )


def load_engine(db: Database, settings: EngineSettings) -> StoryEngine:
    """An engine holding the persisted window: the last `memory_articles` placements."""
    meta = read_meta(db)
    engine = StoryEngine(settings, SqliteStateSource(db))
    horizon = meta["seq"] - settings.memory_articles
    recent = [
        decode_article(aid, seq, sid, blob)
        for aid, seq, sid, blob in db.conn.execute(
            "SELECT article_id, seq, story_id, blob FROM grouping_articles"
            " WHERE seq > ? AND duplicate_of IS NULL ORDER BY seq",
            [horizon],
        )
    ]
    copies = list(
        db.conn.execute(
            "SELECT article_id, duplicate_of FROM grouping_articles"
            " WHERE seq > ? AND duplicate_of IS NOT NULL ORDER BY seq",
            [horizon],
        )
    )
    engine.load(meta["doc_count"], meta["seq"], recent, copies, _embedding_sum(db), meta["embedding_count"])
    return engine


def pending_article_ids(db: Database) -> list[int]:
    """Articles stored with features but not placed yet, in canonical order: time, then source and guid, so
    the same feeds give the same stories whatever order their fetches finished in."""
    return [
        row[0]
        for row in db.conn.execute(
            """SELECT a.id FROM article_features f JOIN articles a ON a.id = f.article_id
               JOIN sources s ON s.id = a.source_id ORDER BY a.sort_time, s.name, a.guid, a.id"""
        )
    ]


def features_of(db: Database, article_ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    """article id -> (published, date_origin, features blob, title, body); title and body only where the
    blob is `store.articles.FEATURES_AT_PLACEMENT` (None otherwise), the body only as far as features read
    it (`FEATURE_BODY_CHARS`)."""
    out: dict[int, tuple[Any, ...]] = {}
    for chunk in chunks(list(article_ids)):
        marks = ",".join("?" * len(chunk))
        for aid, published, origin, blob, title, body in db.conn.execute(
            f"""SELECT a.id, a.published, a.date_origin, f.blob,
                       CASE WHEN length(f.blob) = 0 THEN a.title END,
                       CASE WHEN length(f.blob) = 0 THEN substr(a.body, 1, ?) END
                FROM articles a JOIN article_features f ON f.article_id = a.id WHERE a.id IN ({marks})""",
            [FEATURE_BODY_CHARS, *chunk],
        ):
            out[aid] = (published, origin, blob, title, body)
    return out


def placement_replay(db: Database) -> list[tuple[int, int]]:
    """(article id, chunk) of every placement, in placement order: what a regroup replays."""
    return list(db.conn.execute("SELECT article_id, chunk FROM grouping_articles ORDER BY seq"))


# ---------------------------------------------------------------------------------------- writing


def save_chunk(db: Database, engine: StoryEngine, result: ChunkResult, chunk: int) -> None:
    """Persist one placed chunk (inside the caller's transaction)."""
    save_chunk_rows(db, chunk_rows(engine, result, chunk))


@dataclass(frozen=True, slots=True)
class ChunkRows:
    """What `save_chunk_rows` writes of one placed chunk, encoded when it was placed: the engine goes on
    changing its stories and articles in memory while these wait to be written."""

    articles: list[tuple[Any, ...]]
    moved: list[tuple[int, int]]  # (story id, article id)
    stories: list[tuple[int, int | None, bytes | None]]
    singletons: list[tuple[int]]
    df: list[tuple[int, int]]
    placed: list[tuple[int]]
    meta: dict[str, int]
    embedding_sum: bytes


def chunk_rows(engine: StoryEngine, result: ChunkResult, chunk: int) -> ChunkRows:
    dup_of = {p.article_id: p.duplicate_of for p in result.placements}
    articles = [(a.article_id, a.seq, chunk, a.story_id, None, encode_article(a)) for a in result.articles]
    articles += [(aid, seq, chunk, sid, dup_of[aid], b"") for aid, seq, sid in result.copies]
    stories: list[tuple[int, int | None, bytes | None]] = []
    singletons = []
    for story in result.stories:
        if story.merged_into is not None:
            stories.append((story.story_id, story.merged_into, None))
        elif story.size > 1 or story.members > 1:
            stories.append((story.story_id, None, encode_story(story)))
        else:
            singletons.append((story.story_id,))
    return ChunkRows(
        articles=articles,
        moved=[(sid, aid) for aid, sid in result.moved],
        stories=stories,
        singletons=singletons,
        df=sorted(result.df_delta.items()),
        placed=[(p.article_id,) for p in result.placements],
        meta={
            "doc_count": engine.n_docs,
            "seq": engine.seq,
            "chunk": chunk,
            "embedding_count": engine.embedding_count,
        },
        embedding_sum=engine.embedding_sum.astype("<f8").tobytes(),
    )


def save_chunk_rows(db: Database, rows: ChunkRows) -> None:
    """Write one placed chunk's rows (inside the caller's transaction)."""
    conn = db.conn
    conn.executemany(
        "INSERT OR REPLACE INTO grouping_articles (article_id, seq, chunk, story_id, duplicate_of, blob)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows.articles,
    )
    conn.executemany("UPDATE grouping_articles SET story_id = ? WHERE article_id = ?", rows.moved)
    conn.executemany(
        "INSERT OR REPLACE INTO grouping_stories (story_id, merged_into, blob) VALUES (?, ?, ?)", rows.stories
    )
    conn.executemany("DELETE FROM grouping_stories WHERE story_id = ?", rows.singletons)
    conn.executemany(
        "INSERT INTO grouping_df (term, n) VALUES (?, ?) ON CONFLICT (term) DO UPDATE SET n = n + excluded.n",
        rows.df,
    )
    conn.executemany("DELETE FROM article_features WHERE article_id = ?", rows.placed)
    write_meta(db, **rows.meta)
    conn.execute(
        "INSERT INTO grouping_meta (key, value) VALUES ('embedding_sum', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [rows.embedding_sum],
    )


def clear_grouping_state(db: Database) -> None:
    """For a full regroup: the engine starts from nothing (features of unplaced articles stay)."""
    for table in ("grouping_articles", "grouping_stories", "grouping_df", "grouping_meta"):
        db.conn.execute(f"DELETE FROM {table}")


def store_features(db: Database, rows: Sequence[tuple[int, bytes]]) -> None:
    db.conn.executemany("INSERT OR REPLACE INTO article_features (article_id, blob) VALUES (?, ?)", rows)
