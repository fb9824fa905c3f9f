"""The ingest's worker processes: feed parsing and story features, off the writer's thread.

One pool per ingest run, created on first use (`WorkerPool.get`), shared by feeds (parse per feed) and path
sources (a big .jsonl's lines, and the topic tags of each slice); placement has its own for the story
features, computed a chunk ahead of the placer (newswatch.placement). Task functions are plain module-level functions over
plain data so they pickle; stories/ is imported lazily, so an idle cron pass never loads numpy.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor


def exit_with_parent(ingest_pid: int) -> None:
    """Worker initializer: end the worker as soon as the ingest process that made the pool exits (kill -9
    included). An orphan blocked on the task queue never exits on its own: it holds both ends of the queue,
    and the fork server it came from lives as long as its workers do."""

    def watch() -> None:
        try:
            # Readable once the process has exited, even while it waits to be reaped.
            handle = os.pidfd_open(ingest_pid)
        except (AttributeError, OSError):  # no pidfd here (or already gone): poll
            while _running(ingest_pid):
                time.sleep(0.1)
        else:
            select.select([handle], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        pass
    return True


# What the workers' tasks import, imported once by the fork server rather than by each worker.
_WORKER_MODULES = ["feeds.parse", "feeds.files", "topics.tagging", "stories.features"]


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


def _start_fork_server() -> None:
    """Start multiprocessing's resource tracker and fork server (once per process) with the real stderr.

    They pass `sys.stderr.fileno()` on to the processes they start, and under the interface sys.stderr is
    Textual's print capture, whose fileno() is -1: the interface's refresh failed with "bad value(s) in
    fds_to_keep". Both keep file descriptor 2 either way, as forked workers did."""
    from multiprocessing import forkserver, resource_tracker

    saved = sys.stderr
    sys.stderr = sys.__stderr__ if sys.__stderr__ is not None else saved
    try:
        resource_tracker.ensure_running()
        forkserver.ensure_running()
    finally:
        sys.stderr = saved


class WorkerPool:
    """A process pool created on first `get()`, with workers that exit when the ingest process dies."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 2
        self._pool: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        return self._pool is not None

    def get(self) -> ProcessPoolExecutor:
        """The pool; raises RuntimeError where workers cannot start (callers then work in this process)."""
        if self._pool is None:
            main_file = getattr(sys.modules.get("__main__"), "__file__", None)
            if main_file and not os.path.exists(main_file):
                # Each worker imports the main program again, and one read from stdin cannot be.
                raise RuntimeError(f"no worker processes: the main program {main_file} is not a file")
            # Here, not at the top: multiprocessing is ~10 ms to import, and a pass with nothing to parse
            # (every feed 304) never starts the pool.
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # Workers are forked from a fork server, a fresh process, never from this one: a fork taken
            # while another thread of this process (the writer, the checkpoint thread) is inside SQLite
            # hands the child a locked SQLite mutex, and a worker that then opens a database (the tagging
            # index) hangs for good. Nor do they inherit this process's descriptors (the ingest lock).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(_WORKER_MODULES)
            _start_fork_server()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
