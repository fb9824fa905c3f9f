"""The `newswatch` command line as a subprocess argv, shared by the benchmarks and the tests that run the CLI
in another process (killed, raced, timed)."""

from __future__ import annotations

import sys
from pathlib import Path


def newswatch_command(config: Path, db: Path, *args: str) -> list[str]:
    """argv for `newswatch --config CONFIG --db DB ARGS…` run by this interpreter."""
    return [sys.executable, "-m", "newswatch.cli", "--config", str(config), "--db", str(db), *args]
