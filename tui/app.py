"""Placeholder until the Textual interface lands: a plain listing of the newest stories."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_app(config: Any, db_path: Path) -> int:
    from newswatch.cli import main

    return main(["--db", str(db_path), "--config", str(config.path), "stories", "--limit", "30"])
