"""Story placement at the end of an ingest pass, and a full regroup, over the store.

Ingest stores articles as pending; this places every pending one, in canonical order (time, then source
and guid), in chunks of `CHUNK` articles. Their stateless story features are stored with them, or computed
from their text as they are read (in worker processes a chunk or two ahead of the placer, or by the placer
when it would otherwise wait). Each chunk is placed by the engine in one batch and committed in its own
transaction with the engine's state. Chunks have a fixed size, not a fixed duration, so the stories never
depend on how fast the machine is; a chunk takes well under a second. A kill loses at most the chunk in
flight: its articles are still pending and the next pass places them.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from feeds.records import UNCERTAIN_DATE_ORIGINS
from newswatch.workers import WorkerPool, WorkersStopped, feature_blobs
from store import grouping_state, story_rows
from store.articles import FEATURES_AT_PLACEMENT
from store.db import Database, from_db_time, write_batch
from store.lock import placement_lock
from stories.engine import ChunkResult, EngineSettings, PlaceInput, StateSource, Story, StoryEngine
from stories.features import ArticleFeatures

# One set of settings for every corpus (see stories/engine.py and bench/engine_quality.py for why).
SETTINGS = EngineSettings()
CHUNK = 2000


# A chunk with at least this many articles whose features wait (a cold pass over many feeds) computes them
# in worker processes, while the chunk before it is placed.
_FEATURES_IN_WORKERS = 256
# Articles per worker task.
_FEATURES_TASK = 128
# Chunks read (and their features started) ahead of the one being placed.
_READ_AHEAD = 2


def _read_inputs(
    db: Database, article_ids: Sequence[int], pool: WorkerPool
) -> Callable[[], list[PlaceInput]]:
    """Read a chunk (on the store thread) and start computing the features that wait for placement; returns
    what gives the chunk's inputs once they are ready."""
    rows = grouping_state.features_of(db, article_ids)
    waiting = [aid for aid in article_ids if aid in rows and rows[aid][2] == FEATURES_AT_PLACEMENT]
    texts = [(rows[aid][3], rows[aid][4]) for aid in waiting]
    slices = [texts[start : start + _FEATURES_TASK] for start in range(0, len(texts), _FEATURES_TASK)]
    tasks = []
    if len(texts) >= _FEATURES_IN_WORKERS:
        with contextlib.suppress(Exception):  # no workers to be had: computed here, when the chunk is placed
            tasks = [pool.submit(feature_blobs, part) for part in slices]

    def inputs() -> list[PlaceInput]:
        # The placer asks when it has nothing else to do: rather than wait, it computes the slices no worker
        # has started, from the last back, while the workers go on from the first (a first chunk, with the
        # placer idle, is done about twice as fast on two cores).
        parts: list[list[bytes] | None] = [None] * len(slices)
        for number in reversed(range(len(slices))):
            if tasks and not tasks[number].cancel():
                break
            parts[number] = feature_blobs(slices[number])
        blobs: list[bytes] = []
        for number, part in enumerate(slices):
            done = parts[number]
            if done is None:
                try:
                    done = tasks[number].result()
                except WorkersStopped:  # may hang again if run here: placed as articles without text
                    done = feature_blobs([("", "")] * len(part))
                except Exception:  # a crashed worker costs time, not features
                    done = feature_blobs(part)
            blobs += done
        later = dict(zip(waiting, blobs, strict=True))
        out = []
        for aid in article_ids:
            if aid not in rows:
                continue  # deleted since it was listed
            published, origin, blob = rows[aid][:3]
            when = from_db_time(published)
            out.append(
                PlaceInput(
                    aid,
                    when.timestamp() if when is not None else None,
                    origin not in UNCERTAIN_DATE_ORIGINS,
                    ArticleFeatures.from_bytes(later.get(aid, blob)),
                )
            )
        return out

    return inputs


def _write_chunk(db: Database, rows: grouping_state.ChunkRows, result: ChunkResult) -> None:
    with write_batch(db):
        grouping_state.save_chunk_rows(db, rows)
        story_rows.assign_stories(db, [(p.article_id, p.story_id, p.duplicate_of) for p in result.placements])
        for keep, absorbed in sorted(result.merged.items()):
            story_rows.merge_stories(db, keep, absorbed)
        # After the merges: an article of an absorbed story may have gone to another story than the one
        # that took its story's id.
        story_rows.assign_stories(db, [(aid, sid, None) for aid, sid in result.moved], keep_duplicate_of=True)
        for new_id, source in sorted(result.split.items()):
            story_rows.share_alerts(db, source, new_id)
        story_rows.refresh_stories(db, [s.story_id for s in result.stories])


class _ThroughStoreThread(StateSource):
    """The engine's reads of the store, made on the store thread, after the writes asked for before them."""

    def __init__(self, source: StateSource, store: ThreadPoolExecutor) -> None:
        self._source, self._store = source, store

    def document_frequencies(self, terms: np.ndarray) -> np.ndarray:
        return self._store.submit(self._source.document_frequencies, terms).result()

    def stories(self, story_ids: Iterable[int]) -> dict[int, Story]:
        return self._store.submit(self._source.stories, list(story_ids)).result()


def _place_batches(
    db: Database,
    engine: StoryEngine,
    batches: Sequence[Sequence[int]],
    first_chunk: int,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Place the batches in order, one chunk each, each committed in its own transaction.

    Every use of the store goes to one thread of its own, in the order asked: the engine (Python and numpy,
    holding the GIL) places a chunk while SQLite (which lets go of it) writes the chunk before and reads the
    next one's features. Each chunk's rows are encoded when it is placed, and each write's failure is raised
    before the next is asked for, so nothing changes but the overlap."""
    total = sum(len(batch) for batch in batches)
    placed = 0
    # The placer keeps a core of its own: it is the critical path, and a feature worker per core took turns
    # with it (a 20k .jsonl ingest took 0.93x as long with one worker fewer, in three alternating pairs).
    pool = WorkerPool(max(1, (os.cpu_count() or 2) - 1))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="newswatch-store") as store:
        source = engine.source
        engine.source = _ThroughStoreThread(source, store)
        try:
            # Reads are asked for before the write of the chunk before: a read touches no row those writes
            # change, and the features it starts computing get the time of two placements.
            reads = deque(store.submit(_read_inputs, db, batch, pool) for batch in batches[:_READ_AHEAD])
            written: Future[None] | None = None
            ready: tuple[grouping_state.ChunkRows, ChunkResult] | None = None
            for number, batch in enumerate(batches):
                inputs = reads.popleft().result()()
                # The frequencies this chunk needs that the engine does not hold are read before the last
                # chunk's write is asked for: no chunk placed so far counted them, so it cannot change them.
                engine.load_frequencies(inputs)
                if number + _READ_AHEAD < len(batches):
                    reads.append(store.submit(_read_inputs, db, batches[number + _READ_AHEAD], pool))
                if ready is not None:
                    if written is not None:
                        written.result()
                    written = store.submit(_write_chunk, db, *ready)
                result = engine.place(inputs)
                ready = (grouping_state.chunk_rows(engine, result, first_chunk + number), result)
                placed += len(batch)
                if progress:
                    progress(placed, total)
            if written is not None:
                written.result()
            if ready is not None:
                store.submit(_write_chunk, db, *ready).result()
        finally:
            engine.source = source
            pool.shutdown()


def place_pending(db: Database, progress: Callable[[int, int], None] | None = None) -> int:
    """Place every stored article that is not placed yet; returns how many were placed.

    One placer at a time (`placement_lock`): with several ingest processes on a server store, the others
    wait, then place what is still pending, so every article is placed once, in canonical order."""
    with placement_lock(db):
        return _place_pending(db, progress)


def _place_pending(db: Database, progress: Callable[[int, int], None] | None) -> int:
    meta = grouping_state.read_meta(db)
    if meta["rebuild"]:
        return _regroup_all(db)
    ids = grouping_state.pending_article_ids(db)
    if not ids:
        return 0
    engine = grouping_state.load_engine(db, SETTINGS)
    batches = [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]
    _place_batches(db, engine, batches, meta["chunk"] + 1, progress)
    return len(ids)


def regroup_all(db: Database) -> int:
    """Forget every placement and place all articles again: the chunks already placed are replayed as they
    were placed (so a regroup equals the incremental passes), the rest follow in canonical order."""
    with placement_lock(db):
        return _regroup_all(db)


def _regroup_all(db: Database) -> int:
    replay = grouping_state.placement_replay(db)
    with write_batch(db):
        # Every article's features are computed again from its text as it is placed (the placed state keeps
        # only vectors), as a pass's are.
        article_ids = story_rows.all_article_ids(db)
        grouping_state.store_features(db, [(aid, FEATURES_AT_PLACEMENT) for aid in article_ids])
        story_rows.clear_all_stories(db)
        grouping_state.clear_grouping_state(db)
        grouping_state.write_meta(db, rebuild=1)
    placed = {aid for aid, _ in replay}
    groups: dict[int, list[int]] = {}
    for aid, chunk in replay:
        groups.setdefault(chunk, []).append(aid)
    chunks = [groups[c] for c in sorted(groups)]
    rest = [aid for aid in grouping_state.pending_article_ids(db) if aid not in placed]
    chunks += [rest[start : start + CHUNK] for start in range(0, len(rest), CHUNK)]
    engine = StoryEngine(SETTINGS, grouping_state.SqliteStateSource(db))
    _place_batches(db, engine, chunks, 1)
    with write_batch(db):
        grouping_state.write_meta(db, rebuild=0)
    return len(article_ids)
