"""`newswatch watch`: poll sources at their intervals until Ctrl-C or SIGTERM, stopping between batches."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

# How often the loop wakes to see whether a source is due; a new file in a watched folder waits at most this.
TICK_SECONDS = 10.0


def watch_loop(
    run_pass: Callable[[], Any],
    after_pass: Callable[[Any], None],
    *,
    tick: float = TICK_SECONDS,
) -> None:
    """Run passes until a stop signal; the signal only sets a flag, so the batch in flight completes."""
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.is_set():
            after_pass(run_pass())
            stop.wait(tick)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
