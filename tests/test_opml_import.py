"""OPML in, the hard way: a DOCTYPE in any encoding is refused, a FIFO never blocks a command, an import of
tens of thousands of feeds is linear, names that differ only in case are two feeds, and every outline left
out is named and counted. Real files, a real FIFO, real processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from feeds.opml import OpmlError, read_opml
from testkit.cli import newswatch_command
from tests.conftest import REPO, SEEDS, run_cli

_ENTITY_OPML = (
    '<?xml version="1.0" encoding="{encoding}"?>\n'
    '<!DOCTYPE opml [<!ENTITY u "https://evil.example/feed">]>\n'
    '<opml version="2.0"><body><outline text="x" xmlUrl="&u;"/></body></opml>\n'
)


@pytest.mark.parametrize("encoding", ["UTF-16", "UTF-16LE", "UTF-8"])
def test_a_doctype_is_refused_in_any_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "feeds.opml"
    text = _ENTITY_OPML.format(encoding=encoding)
    codec = {"UTF-16LE": "utf-16"}.get(encoding, encoding.lower())  # with a BOM, as editors write it
    path.write_bytes(text.encode(codec))
    with pytest.raises(OpmlError, match="DOCTYPE declarations are not allowed"):
        read_opml(path)


def test_opml_import_of_a_utf16_doctype_adds_nothing(tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "feeds.opml"
    path.write_bytes(_ENTITY_OPML.format(encoding="UTF-16").encode("utf-16"))
    result = run_cli("--db", str(db_path), "opml", "import", str(path))
    assert result.status == 2
    assert result.stderr == f"newswatch: {path}: DOCTYPE declarations are not allowed in OPML\n"
    exported = run_cli("--db", str(db_path), "opml", "export")
    assert "evil.example" not in exported.stdout


def test_a_fifo_as_opml_is_an_error_not_a_hang(tmp_path: Path, db_path: Path) -> None:
    fifo = tmp_path / "feeds.opml"
    os.mkfifo(fifo)
    sources = f'[[sources]]\nname = "Samples"\npath = "{SEEDS}/*.txt"\n'
    with_opml = tmp_path / "with-opml.toml"
    with_opml.write_text('opml = "feeds.opml"\n\n' + sources)
    plain = tmp_path / "plain.toml"
    plain.write_text(sources)
    # Every command reads the config, so an OPML file named there is read by all of them.
    for config, argv in (
        (with_opml, ["articles"]),
        (with_opml, ["topics"]),
        (plain, ["opml", "import", str(fifo)]),
    ):
        started = time.monotonic()
        result = subprocess.run(
            newswatch_command(config, db_path, *argv), cwd=REPO, capture_output=True, text=True, timeout=30
        )
        assert time.monotonic() - started < 20
        assert result.returncode == 2, result.stderr
        assert f"{fifo}: cannot read: not a regular file" in result.stderr


def _big_opml(path: Path, count: int) -> None:
    outlines = "".join(
        f'<outline text="Feed {n}" xmlUrl="https://feeds{n % 50}.example/{n}.xml"/>' for n in range(count)
    )
    path.write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>')


def test_importing_tens_of_thousands_of_feeds_is_linear(tmp_path: Path, db_path: Path) -> None:
    small, big = tmp_path / "small.opml", tmp_path / "big.opml"
    _big_opml(small, 2_000)
    _big_opml(big, 20_000)
    timings = []
    for path, db in ((small, tmp_path / "small.db"), (big, db_path)):
        assert run_cli("--db", str(db), "sources").status == 0  # the schema exists before the clock starts
        started = time.perf_counter()
        result = run_cli("--db", str(db), "opml", "import", str(path))
        timings.append(time.perf_counter() - started)
        assert result.status == 0, result.stderr
    assert result.stdout.startswith("imported 20000 feeds")
    # A lookup per feed that cannot use an index made 20k feeds take ~26 s (and 50k, 459 s); one pass takes
    # well under a second. The bound leaves room for a loaded machine, not for the quadratic import.
    assert timings[1] < 10, timings
    again = run_cli("--db", str(db_path), "opml", "import", str(big))
    assert again.stdout.startswith("imported 0 feeds") and "20000 already present" in again.stdout


def test_names_differing_in_case_and_skipped_outlines_are_kept_and_named(
    tmp_path: Path, db_path: Path
) -> None:
    path = tmp_path / "feeds.opml"
    path.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        '<outline text="BBC" xmlUrl="https://bbc.example/world.xml"/>'
        '<outline text="bbc" xmlUrl="https://bbc.example/uk.xml"/>'
        '<outline text="Local script" xmlUrl="|/usr/bin/fetch-news"/>'
        '<outline text="Gopher" xmlUrl="gopher://old.example/1"/>'
        '<outline text="Again" xmlUrl="https://bbc.example/world.xml"/>'
        "</body></opml>"
    )
    # A source named "Bbc" already exists: a new feed of that name becomes "bbc (2)"… not lost.
    assert (
        run_cli("--db", str(db_path), "sources", "add", "https://other.example/x.xml", "--name", "Bbc").status
        == 0
    )
    result = run_cli("--db", str(db_path), "opml", "import", str(path))
    assert result.status == 0, result.stderr
    assert result.stdout == (
        f"imported 2 feeds from {path} (0 already present, 3 outlines skipped, 2 renamed to keep names unique)\n"
    )
    assert result.stderr.splitlines() == [
        f"newswatch: {path}: skipped outline 'Local script' (|/usr/bin/fetch-news): not an http(s) feed URL",
        f"newswatch: {path}: skipped outline 'Gopher' (gopher://old.example/1): not an http(s) feed URL",
        f"newswatch: {path}: skipped outline 'Again' (https://bbc.example/world.xml): listed twice",
    ]
    with sqlite3.connect(db_path) as conn:
        rows = sorted(conn.execute("SELECT name, location FROM sources"))
    assert rows == [
        ("BBC (2)", "https://bbc.example/world.xml"),
        ("Bbc", "https://other.example/x.xml"),
        ("bbc (2) (2)", "https://bbc.example/uk.xml"),
    ]
