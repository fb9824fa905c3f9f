"""The ingest's worker processes: feed parsing and story features, off the writer's thread.

One pool per ingest run, created on first use (`WorkerPool.get`), shared by feeds (parse per feed) and path
sources (a big .jsonl's lines, and the topic tags of each slice); placement has its own for the story
features, computed a chunk ahead of the placer (newswatch.placement). Task functions are plain module-level functions over
plain data so they pickle; stories/ is imported lazily, so an idle cron pass never loads numpy.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor


def exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: end the worker soon after the ingest process dies (kill -9 included).

    Forked workers inherit the ingest lock's file descriptor. An orphan blocked on the task queue never
    exits, so it held the lock for good and every later ingest reported "another ingest is running"."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.1)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def feature_blobs(texts: Sequence[tuple[str, str]]) -> list[bytes]:
    """Story features of each (title, body), serialised. Total: text the extractor chokes on gets the
    features of an empty article (placed alone) rather than costing its whole batch."""
    from stories.features import extract_features  # numpy only when there is work

    blobs = []
    for title, body in texts:
        try:
            blobs.append(extract_features(title, body).to_bytes())
        except Exception:
            blobs.append(extract_features("", "").to_bytes())
    return blobs


class WorkerPool:
    """A process pool created on first `get()`, with workers that exit when the ingest process dies."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 2
        self._pool: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        return self._pool is not None

    def get(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Here, not at the top: multiprocessing is ~10 ms to import, and a pass with nothing to parse
            # (every feed 304) never starts the pool.
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, initializer=exit_with_parent, initargs=(os.getpid(),)
            )
        return self._pool

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
