"""The ingest's worker pool with real worker processes: a hung worker is stopped, a crashed one replaced."""

from __future__ import annotations

import os
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from newswatch.workers import WorkerPool, WorkersStopped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_hung_worker_is_stopped_and_the_tasks_waiting_behind_it_still_run() -> None:
    pool = WorkerPool(1, stall_seconds=2.0)
    try:
        worker = pool.submit(os.getpid).result(timeout=60)
        started = time.monotonic()
        hung = pool.submit(time.sleep, 3600)
        # The worker holds the hung task, and its queue (workers + 1 places) two more: the rest only wait.
        waiting = [pool.submit(pow, 2, n) for n in range(6)]
        with pytest.raises(WorkersStopped, match="no worker finished a task in 2 s"):
            hung.result(timeout=60)
        stopped_after = time.monotonic() - started
        results = []
        for task in waiting:
            try:
                results.append(task.result(timeout=60))
            except WorkersStopped:
                results.append(None)  # queued for the hung worker: may be what hangs
        assert results[2:] == [2**n for n in range(2, 6)], results
        assert 2.0 <= stopped_after < 30, stopped_after
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker), "the hung worker was not stopped"
        assert pool.submit(pow, 3, 3).result(timeout=60) == 27  # new workers take new tasks
    finally:
        pool.shutdown()


def test_after_a_worker_crashes_new_tasks_get_new_workers() -> None:
    pool = WorkerPool(1)
    try:
        with pytest.raises(BrokenProcessPool):
            pool.submit(os._exit, 3).result(timeout=60)
        assert pool.submit(pow, 2, 5).result(timeout=60) == 32
    finally:
        pool.shutdown()


def test_tasks_that_finish_keep_the_watchdog_quiet() -> None:
    # Many short tasks, each far shorter than the stall limit, over much longer than it in all.
    pool = WorkerPool(2, stall_seconds=1.0)
    try:
        tasks = [pool.submit(time.sleep, 0.05) for _ in range(80)]
        assert [task.result(timeout=60) for task in tasks] == [None] * 80
    finally:
        pool.shutdown()
