"""Placement cost from 10k to 1M stored articles, over the real SQLite grouping state (as ingest places).

    python -m bench.stories_scale --sizes 2000 10000                # smoke test, ~30 s
    python -m bench.stories_scale --sizes 10000 100000   # ~7 min, ~750 MB database
    python -m bench.stories_scale                        # 10k, 100k, 1M: ~1-1.5 h, ~7 GB in /tmp
    python -m bench.stories_scale --cheap --gc-freeze --profile --table-sizes --db /tmp/s.db --keep
    python -m bench.stories_scale --sizes 10000 100000 300000 --cache-mib 64   # does a bigger page cache help?

Unlike `bench.stories_eval --scale` (in-memory state), the grouper's memory here is `SqliteGroupingState`
over a real database file (`open_db`, so WAL and the schema migrations), and articles are placed the way
`newswatch.storying.place_new_articles` places them: batches of `--batch` inside `write_batch(db)`, with
`state.begin()` before and `state.flush()` after each batch, one state object kept warm for the whole run.
Only the grouping_* tables are written (they have no foreign keys), so the figures leave out the articles
row update, FTS and the product `stories` table refresh that a real ingest batch also does.

The articles come from `bench.stories_eval.Synthetic` (120-word bodies, or 30 with `--cheap`), generated
outside the timed region. At each size in `--sizes` the next `--measure` batches are timed: the mean cost
per article (placement + flush + commit), the median batch time, and how much of a batch was spent in
Python's cyclic GC (from gc.callbacks). `--cache-mib` then times as many batches again with a larger
SQLite page cache (after one untimed batch warms it) and restores the default for the fill. `--gc-freeze` freezes the heap after each fill and times the
batches again, so a cost that grows with the heap can be told apart from one that grows with the database.
Progress goes to stderr every 50,000 articles; the markdown report to stdout.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from bench.stories_eval import Synthetic, _rss_mib
from newswatch.storying import SETTINGS
from store.db import open_db, write_batch
from store.grouping_state import SqliteGroupingState
from stories.grouper import StoryGrouper

PROGRESS_EVERY = 50_000
SEED = 5  # the seed bench.stories_eval.scale_run uses, so the two benchmarks see the same stream


class GcClock:
    """Time spent inside the cyclic garbage collector, via gc.callbacks (costs two calls per collection)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1


@dataclass
class BatchTime:
    articles: int
    seconds: float  # BEGIN IMMEDIATE .. COMMIT, what an ingest batch pays for placement
    place_seconds: float  # the grouper's place() calls, reads of the state included
    gc_seconds: float


@dataclass
class Measure:
    """Timed batches at one checkpoint."""

    batches: list[BatchTime] = field(default_factory=list)

    @property
    def ms_per_article(self) -> float:
        return 1000 * sum(b.seconds for b in self.batches) / sum(b.articles for b in self.batches)

    @property
    def median_batch_ms(self) -> float:
        return 1000 * statistics.median(b.seconds for b in self.batches)

    def mean_ms(self, attribute: str) -> float:
        return 1000 * statistics.fmean(getattr(b, attribute) for b in self.batches)


@dataclass
class Checkpoint:
    stored: int
    usual: Measure
    frozen: Measure | None
    cached: Measure | None  # the same batches' cost with a larger SQLite page cache (--cache-mib)
    peak_rss_mib: float
    db_mib: float


class Filler:
    """One database, one warm `SqliteGroupingState`, articles placed batch by batch as ingest does."""

    def __init__(self, db: sqlite_utils.Database, db_path: Path, body_words: int, gc_clock: GcClock) -> None:
        self.db = db
        self.db_path = db_path
        self.state = SqliteGroupingState(db)
        self.stream = Synthetic(seed=SEED, body_words=body_words)
        self.gc_clock = gc_clock
        self.stored = 0
        self.busy = 0.0  # seconds inside batches, the generator's time excluded
        self.started = time.perf_counter()
        self._window = (0, 0.0)  # (stored, busy) at the last progress line

    def batch(self, n: int, profiler: cProfile.Profile | None = None) -> BatchTime:
        articles = [next(self.stream) for _ in range(n)]
        state = self.state
        gc_before = self.gc_clock.seconds
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        with write_batch(self.db):
            # The same sequence as newswatch.storying.place_new_articles, minus the articles table.
            state.begin()
            grouper = StoryGrouper(SETTINGS, state)
            try:
                for article in articles:
                    grouper.place(article)
                placed = time.perf_counter()
                state.flush()
            except BaseException:
                state.discard()
                raise
        if profiler is not None:
            profiler.disable()
        done = time.perf_counter()
        self.stored += n
        self.busy += done - t0
        self._progress()
        return BatchTime(n, done - t0, placed - t0, self.gc_clock.seconds - gc_before)

    def fill_to(self, size: int, batch: int) -> None:
        while self.stored < size:
            self.batch(min(batch, size - self.stored))

    def _progress(self) -> None:
        last_stored, last_busy = self._window
        if self.stored // PROGRESS_EVERY == last_stored // PROGRESS_EVERY:
            return
        ms = 1000 * (self.busy - last_busy) / (self.stored - last_stored)
        print(
            f"  {self.stored:>9,} stored  {time.perf_counter() - self.started:7.0f}s elapsed  "
            f"{ms:6.2f} ms/article (last {self.stored - last_stored:,})  "
            f"peak RSS {_rss_mib():,.0f} MiB  db {db_mib(self.db_path):,.0f} MiB",
            file=sys.stderr,
            flush=True,
        )
        self._window = (self.stored, self.busy)


def db_mib(path: Path) -> float:
    """The database as it sits on disk: main file plus the WAL not yet checkpointed into it."""
    total = 0
    for suffix in ("", "-wal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            total += candidate.stat().st_size
    return total / 2**20


def table_sizes(db: sqlite_utils.Database) -> list[tuple[str, float]]:
    """MiB per table and index, the empty product tables lumped together (dbstat reads every page)."""
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows = db.conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    sizes = [(name, size / 2**20) for name, size in rows]
    big = [(name, mib) for name, mib in sizes if mib >= 0.1]
    rest = [mib for _, mib in sizes if mib < 0.1]
    free = (
        db.conn.execute("PRAGMA freelist_count").fetchone()[0]
        * db.conn.execute("PRAGMA page_size").fetchone()[0]
    )
    return [*big, (f"{len(rest)} others", sum(rest)), ("free pages", free / 2**20)]


def measure(filler: Filler, batches: int, batch: int) -> Measure:
    return Measure([filler.batch(batch) for _ in range(batches)])


def measure_with_cache(filler: Filler, batches: int, batch: int, cache_mib: int) -> Measure:
    """Time `batches` batches with SQLite's page cache at `cache_mib`, after one untimed batch warms it,
    then put the connection's setting back, so the fill and the next checkpoint's usual rows are unchanged."""
    conn = filler.db.conn
    default = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = -{cache_mib * 1024}")  # negative: KiB rather than pages
    try:
        filler.batch(batch)
        return measure(filler, batches, batch)
    finally:
        conn.execute(f"PRAGMA cache_size = {default}")


def profile_batch(filler: Filler, batch: int, top: int = 10) -> str:
    start = filler.stored
    profiler = cProfile.Profile()
    timing = filler.batch(batch, profiler)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    return (
        f"cProfile of one batch, {start:,} -> {filler.stored:,} stored "
        f"({1000 * timing.seconds / batch:.2f} ms/article under the profiler), top {top} by cumulative time:\n"
        + out.getvalue()
    )


def run(
    db_path: Path,
    sizes: Sequence[int],
    *,
    batch: int,
    measure_batches: int,
    body_words: int,
    gc_freeze: bool,
    profile: bool,
    cache_mib: int | None = None,
) -> tuple[list[Checkpoint], Filler, list[str]]:
    gc_clock = GcClock()
    gc.callbacks.append(gc_clock)
    db = open_db(db_path)
    filler = Filler(db, db_path, body_words, gc_clock)
    checkpoints = []
    profiles = []
    try:
        for size in sorted(sizes):
            if size < filler.stored:
                print(f"  skipping {size:,}: already {filler.stored:,} stored", file=sys.stderr)
                continue
            filler.fill_to(size, batch)
            stored = filler.stored
            if gc_freeze:
                # Everything back under the collector first, so "usual" means the same in every row.
                gc.unfreeze()
            usual = measure(filler, measure_batches, batch)
            frozen = None
            if gc_freeze:
                gc.freeze()
                frozen = measure(filler, measure_batches, batch)
            cached = measure_with_cache(filler, measure_batches, batch, cache_mib) if cache_mib else None
            if profile:
                profiles.append(profile_batch(filler, batch))
            checkpoints.append(Checkpoint(stored, usual, frozen, cached, _rss_mib(), db_mib(db_path)))
            print(
                f"checkpoint {stored:,}: {usual.ms_per_article:.2f} ms/article"
                + (f", {frozen.ms_per_article:.2f} after gc.freeze()" if frozen else "")
                + (f", {cached.ms_per_article:.2f} with a {cache_mib} MiB page cache" if cached else ""),
                file=sys.stderr,
                flush=True,
            )
    finally:
        gc.callbacks.remove(gc_clock)
    return checkpoints, filler, profiles


def report(
    checkpoints: Sequence[Checkpoint],
    filler: Filler,
    *,
    body_words: int,
    batch: int,
    measure_batches: int,
    wall: float,
) -> str:
    state = type(filler.state).__name__
    lines = [
        f"story placement over {state} ({body_words}-word synthetic bodies, batches of {batch:,}, "
        f"{measure_batches} timed batches per row; ms/article includes flush and COMMIT)",
        "",
    ]
    frozen = any(c.frozen for c in checkpoints)
    head = "| stored articles | ms/article (mean) | median batch ms | place ms/batch | flush+commit ms/batch "
    head += "| GC ms/batch |"
    rule = "|---|---|---|---|---|---|"
    if frozen:
        head += " ms/article after gc.freeze() | GC ms/batch frozen |"
        rule += "---|---|"
    cached = any(c.cached for c in checkpoints)
    if cached:
        head += " ms/article, larger page cache |"
        rule += "---|"
    head += " peak RSS MiB | db+WAL MiB |"
    rule += "---|---|"
    lines += [head, rule]
    for c in checkpoints:
        u = c.usual
        place = u.mean_ms("place_seconds")
        row = (
            f"| {c.stored:,} | {u.ms_per_article:.2f} | {u.median_batch_ms:,.0f} | {place:,.0f} "
            f"| {u.mean_ms('seconds') - place:,.0f} | {u.mean_ms('gc_seconds'):,.0f} |"
        )
        if frozen:
            f = c.frozen
            row += f" {f.ms_per_article:.2f} | {f.mean_ms('gc_seconds'):,.0f} |" if f else " | |"
        if cached:
            row += f" {c.cached.ms_per_article:.2f} |" if c.cached else " |"
        row += f" {c.peak_rss_mib:,.0f} | {c.db_mib:,.0f} |"
        lines.append(row)
    clock = filler.gc_clock
    lines += [
        "",
        f"whole run: {filler.stored:,} articles placed in {filler.busy:,.0f}s inside batches = "
        f"{filler.stored / filler.busy:,.0f} articles/s ({wall:,.0f}s wall with the generator = "
        f"{filler.stored / wall:,.0f} articles/s); cyclic GC {clock.seconds:,.1f}s "
        f"({100 * clock.seconds / filler.busy:.1f}% of batch time; collections gen0/1/2 = "
        f"{'/'.join(f'{n:,}' for n in clock.collections)}); peak RSS {_rss_mib():,.0f} MiB; "
        f"database {db_mib(filler.db_path):,.0f} MiB",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="stored sizes to time at"
    )
    ap.add_argument("--cheap", action="store_true", help="30-word bodies instead of 120 (a faster 1M fill)")
    ap.add_argument("--batch", type=int, default=1000, help="articles per transaction (default 1000)")
    ap.add_argument("--measure", type=int, default=3, help="timed batches per size (default 3)")
    ap.add_argument("--db", type=Path, help="database file to create (default: a temporary file)")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--gc-freeze", action="store_true", help="also time each size after gc.freeze()")
    ap.add_argument("--profile", action="store_true", help="cProfile one extra batch at each size")
    ap.add_argument(
        "--cache-mib",
        type=int,
        help="also time each size with SQLite's page cache at this many MiB (default 2)",
    )
    ap.add_argument("--table-sizes", action="store_true", help="MiB per table at the end (dbstat)")
    args = ap.parse_args(argv)
    if args.batch < 1 or args.measure < 1 or min(args.sizes) < 0:
        ap.error("--batch and --measure must be positive, --sizes not negative")

    scratch = None
    if args.db is None:
        scratch = Path(tempfile.mkdtemp(prefix="nw-stories-scale-"))
        db_path = scratch / "scale.db"
    else:
        db_path = args.db.expanduser()
        # Ids restart at 1 every run: placing them into an existing grouping state would measure nothing.
        if db_path.exists():
            ap.error(f"{db_path} exists; give a new path")
    body_words = 30 if args.cheap else 120
    print(f"database: {db_path}", file=sys.stderr)
    started = time.perf_counter()
    try:
        checkpoints, filler, profiles = run(
            db_path,
            args.sizes,
            batch=args.batch,
            measure_batches=args.measure,
            body_words=body_words,
            gc_freeze=args.gc_freeze,
            profile=args.profile,
            cache_mib=args.cache_mib,
        )
        wall = time.perf_counter() - started
        print(
            report(
                checkpoints,
                filler,
                body_words=body_words,
                batch=args.batch,
                measure_batches=args.measure,
                wall=wall,
            )
        )
        for text in profiles:
            print(f"\n```\n{text.strip()}\n```")
        if args.table_sizes:
            print("\n| table / index | MiB |\n|---|---|")
            for name, mib in table_sizes(filler.db):
                print(f"| {name} | {mib:,.1f} |")
        filler.db.conn.close()
    finally:
        if args.keep:
            print(f"kept {db_path}", file=sys.stderr)
        elif scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            for suffix in ("", "-wal", "-shm"):
                with_suffix = Path(f"{db_path}{suffix}")
                if with_suffix.exists():
                    os.remove(with_suffix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
