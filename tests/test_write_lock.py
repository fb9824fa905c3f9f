"""Nobody waits long for the write lock: a long ingest commits in groups of about a second, and read-only
commands (`sources`, `topics`, `alerts --dry-run`, `digest`) never take it. Real processes on a real SQLite file."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from testkit.cli import newswatch_command
from tests.conftest import REPO, SEEDS, run_cli


def _config(tmp_path: Path, extra: str = "") -> Path:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    config = tmp_path / "c.toml"
    config.write_text(
        '[[sources]]\nname = "Samples"\npath = "seeds/*.txt"\n\n'
        '[topics."DPRK troops"]\nquery = "DPRK AND troop*"\nalert = true\n' + extra
    )
    return config


def test_read_only_commands_answer_while_another_process_holds_the_write_lock(
    tmp_path: Path, db_path: Path
) -> None:
    config = _config(tmp_path)
    assert run_cli("--config", str(config), "--db", str(db_path), "ingest").status == 0
    # The config gains a source and a topic the database has not seen: listing them must not store them.
    with config.open("a") as handle:
        handle.write('\n[[sources]]\nname = "Later"\npath = "later/*.txt"\n')
        handle.write('\n[topics.Sanctions]\nquery = "sanction*"\n')
    locker = sqlite3.connect(db_path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        for argv, expected in (
            (["sources"], "never fetched"),
            (["topics"], "Sanctions: not tagged yet"),
            (["alerts", "--dry-run"], "[DPRK troops]"),
            (["digest", "--since", "3650d"], "Kursk"),
        ):
            started = time.monotonic()
            result = subprocess.run(
                newswatch_command(config, db_path, *argv),
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=25,
            )
            assert result.returncode == 0, (argv, result.stderr)
            assert expected in result.stdout, (argv, result.stdout)
            assert time.monotonic() - started < 10, argv
    finally:
        locker.execute("ROLLBACK")
    assert locker.execute("SELECT count(*) FROM sources").fetchone()[0] == 1
    assert locker.execute("SELECT count(*) FROM topics").fetchone()[0] == 1
    assert locker.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    locker.close()
    # And the dry run really was dry: the real run prints the same alert.
    real = run_cli("--config", str(config), "--db", str(db_path), "alerts")
    assert "[DPRK troops]" in real.stdout


def test_a_long_ingest_never_holds_the_write_lock_for_long(tmp_path: Path, db_path: Path) -> None:
    inbox = tmp_path / "big"
    inbox.mkdir()
    with (inbox / "many.jsonl").open("w") as handle:
        for n in range(40_000):
            handle.write(
                json.dumps({"guid": f"g{n}", "title": f"Report {n}", "body": f"Body of report {n}."})
            )
            handle.write("\n")
    config = tmp_path / "big.toml"
    config.write_text('[[sources]]\nname = "Big"\npath = "big"\n')
    assert run_cli("--config", str(config), "--db", str(db_path), "sources").status == 0  # creates the file
    ingest = subprocess.Popen(
        newswatch_command(config, db_path, "ingest", "--quiet"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writes = 0
    longest = 0.0
    try:
        writer = sqlite3.connect(db_path, isolation_level=None, timeout=30)
        while ingest.poll() is None:
            started = time.monotonic()
            writer.execute("BEGIN IMMEDIATE")  # the time it waits is the measure
            writer.execute("UPDATE sources SET interval_seconds = ? WHERE name = 'Big'", [writes + 1])
            writer.execute("COMMIT")
            longest = max(longest, time.monotonic() - started)
            writes += 1
            time.sleep(0.1)
        writer.close()
    finally:
        if ingest.poll() is None:
            ingest.kill()
        _, err = ingest.communicate(timeout=60)
    assert ingest.returncode == 0, err
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 40_000
    assert writes >= 10, "the ingest ended too soon to show anything"
    assert longest < 5.0, f"a write waited {longest:.1f}s for the ingest"
