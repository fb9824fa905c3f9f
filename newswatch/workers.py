"""The ingest's worker processes: feed parsing and tagging, and story features, off the writer's thread.

One pool per ingest run, created on first use (`WorkerPool.get`), shared by feeds (parse and tag per feed) and path
sources (a big .jsonl's lines, and the topic tags of each slice); placement has its own for the story
features, computed a chunk ahead of the placer (newswatch.placement). Task functions are plain module-level functions over
plain data so they pickle; stories/ is imported lazily, so an idle cron pass never loads numpy.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Sequence

# Not concurrent.futures.process (BrokenProcessPool): it imports multiprocessing, which a pass of 304s never needs.
from concurrent.futures import BrokenExecutor, Executor, Future, InvalidStateError
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from feeds.records import ParseResult
    from topics.tagging import TopicTerms

# With tasks waiting, this long without one finishing means a worker hangs (every task is a bounded piece of
# work: one feed's capped body, a slice of lines, ~128 articles' features): its pool's workers are stopped.
STALL_SECONDS = 120.0


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


def parse_and_tag(
    body: bytes, topics: Sequence[TopicTerms], source_name: str, **parse_options: Any
) -> tuple[ParseResult, dict[str, list[tuple[int, list[str]]]]]:
    """A feed parsed (`feeds.parse.parse_feed`), and the topic tags of its records as `tag_texts` finds them
    (by record index), in one task: the writer then only stores what was found."""
    from feeds.parse import parse_feed
    from store.schema import index_texts
    from topics.tagging import tag_texts

    parsed = parse_feed(body, **parse_options)
    return parsed, tag_texts(topics, index_texts(parsed.records, source_name))


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


class WorkersStopped(TimeoutError):
    """A task's error when it was running as its pool's workers were stopped as hung: it may hang again, so
    callers do not run it in their own process."""


class _Task(Future[Any]):
    """The future a caller holds for one task: the executor's, except when the watchdog stopped the workers
    as hung. Then a task that was running fails with WorkersStopped, and one that was waiting is given to the
    new workers (the executor fails it as if it had crashed)."""

    def __init__(self, pool: WorkerPool, call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]):
        super().__init__()
        self.pool = pool
        self.call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None = call
        self.waiting_when_stopped = False
        self.inner: Future[Any] = Future()

    def follow(self, inner: Future[Any]) -> None:
        self.inner = inner
        inner.add_done_callback(self._settle)

    def cancel(self) -> bool:
        return self.inner.cancel() and super().cancel()

    def fail(self, error: BaseException) -> None:
        with contextlib.suppress(InvalidStateError):  # settled meanwhile
            self.set_exception(error)

    def _settle(self, inner: Future[Any]) -> None:
        if self.done() or inner is not self.inner:
            return
        if inner.cancelled():
            super().cancel()
        elif (error := inner.exception()) is not None:
            if isinstance(error, BrokenExecutor) and self.waiting_when_stopped:
                self.waiting_when_stopped = False
                self.pool.retry(self)
                return
            self.fail(error)
        else:
            with contextlib.suppress(InvalidStateError):
                self.set_result(inner.result())
        self.call = None


class WorkerPool(Executor):
    """A process pool whose workers start on first use and exit when the ingest process dies.

    A worker that crashes breaks its pool, which fails every task not done, and the next task starts new
    workers. A worker that hangs would hold the ingest, and its lock, for good: a watchdog stops the workers
    once tasks have waited `stall_seconds` with none finishing. The tasks that were running fail with
    WorkersStopped (callers do not run those in their own process: that could hang the ingest itself); those
    only waiting go to new workers."""

    def __init__(self, workers: int | None = None, *, stall_seconds: float = STALL_SECONDS):
        self.workers = workers or os.cpu_count() or 2
        self.stall_seconds = stall_seconds
        self._pool: ProcessPoolExecutor | None = None
        # Reentrant: a future's callbacks (which take it) can run in the thread that changes the pool.
        self._lock = threading.RLock()
        self._outstanding: set[_Task] = set()
        self._progress = time.monotonic()  # when a task last finished, or one was given to idle workers
        self._retry: list[_Task] = []
        self._watchdog: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def started(self) -> bool:
        return self._pool is not None

    def get(self) -> WorkerPool:
        """The pool, its workers started; raises RuntimeError where workers cannot start (callers then work
        in this process)."""
        with self._lock:
            self._executor()
        return self

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        task = _Task(self, (fn, args, kwargs))
        with self._lock:
            self._start(task)  # raises where no workers can start: the caller works in its own process
            if not self._outstanding:
                self._progress = time.monotonic()
            self._outstanding.add(task)
        task.add_done_callback(self._finished)
        return task

    def retry(self, task: _Task) -> None:
        """Give a task to new workers (from the watchdog's thread: this is called in the executor's)."""
        with self._lock:
            self._retry.append(task)

    def _start(self, task: _Task) -> None:
        assert task.call is not None
        fn, args, kwargs = task.call
        executor = self._executor()
        try:
            inner = executor.submit(fn, *args, **kwargs)
        except RuntimeError:  # broken by a crashed or stopped worker: start new ones
            self._discard(executor)
            inner = self._executor().submit(fn, *args, **kwargs)
        task.follow(inner)

    def _finished(self, task: Future[Any]) -> None:
        with self._lock:
            self._outstanding.discard(task)  # type: ignore[arg-type]
            self._progress = time.monotonic()

    def _watch(self, closed: threading.Event) -> None:
        while not closed.wait(min(0.2, self.stall_seconds / 4)):
            with self._lock:
                retry, self._retry = self._retry, []
                for task in retry:
                    if not task.done():
                        try:
                            self._start(task)
                        except Exception as error:  # no new workers to be had
                            task.fail(error)
                if not self._outstanding or time.monotonic() - self._progress < self.stall_seconds:
                    continue
                # Failed before the workers are stopped, which fails every other task as a crash would.
                stopped = f"no worker finished a task in {self.stall_seconds:.0f} s: stopped as hung"
                for task in list(self._outstanding):
                    if task.inner.running():
                        task.fail(WorkersStopped(stopped))
                    else:
                        task.waiting_when_stopped = True
                if self._pool is not None:
                    self._discard(self._pool, kill=True)
                self._progress = time.monotonic()  # the retried tasks' clock starts now

    def _discard(self, executor: ProcessPoolExecutor, *, kill: bool = False) -> None:
        if kill:
            # A killed worker breaks the pool, which then fails the tasks still waiting (they are retried).
            # Python 3.14's kill_workers() also shuts the pool down, and what becomes of those is not
            # documented; the workers it holds (3.8 to 3.14) are killed directly instead.
            for process in list(getattr(executor, "_processes", {}).values()):
                process.kill()
        executor.shutdown(wait=False)
        if self._pool is executor:
            self._pool = None

    def _executor(self) -> ProcessPoolExecutor:
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
            if self._watchdog is None:
                self._closed = threading.Event()
                self._watchdog = threading.Thread(
                    target=self._watch, args=(self._closed,), name="worker-watchdog", daemon=True
                )
                self._watchdog.start()
        return self._pool

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = True) -> None:
        self._closed.set()
        self._watchdog = None
        with self._lock:
            retry, self._retry = self._retry, []
        for task in retry:
            task.fail(BrokenExecutor("the worker pool was shut down"))
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
            self._pool = None
