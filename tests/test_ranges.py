"""Values out of range are refused where they enter, with the usual one-line error and exit 2: no overflow
traceback on the first or on every later run, and no `watch` spinning on a NaN tick. Real processes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from newswatch.config import parse_duration, parse_when
from testkit.cli import newswatch_command
from tests.conftest import REPO, SEEDS


def _config(tmp_path: Path, extra: str = "", source_extra: str = "") -> Path:
    config = tmp_path / "c.toml"
    config.write_text(f'[[sources]]\nname = "Samples"\npath = "{SEEDS}/*.txt"\n{source_extra}\n{extra}')
    return config


def _run(config: Path, db_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        newswatch_command(config, db_path, *argv), cwd=REPO, capture_output=True, text=True, timeout=60
    )


def _one_error_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    # argparse shows its usage first (indented continuation lines); the error is the one "newswatch" line.
    lines = [line for line in result.stderr.splitlines() if line.startswith("newswatch")]
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["articles", "--since", "99999999999d"], ["--since", "at most 36500 days"]),
        (["stories", "--since", "99999999999d"], ["--since", "at most 36500 days"]),
        (["articles", "--limit", "99999999999999999999"], ["--limit", "from 1 to 1,000,000,000"]),
        (["topics", "test", "troops", "--limit", "0"], ["--limit", "from 1 to 1,000,000,000"]),
        (
            ["sources", "add", "https://example.org/feed", "--interval", "99999999999999999999d"],
            ["--interval", "at most 36500 days"],
        ),
        (["watch", "--tick", "nan"], ["--tick", "from more than 0 to 86400"]),
        (["watch", "--tick", "inf"], ["--tick", "from more than 0 to 86400"]),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) and value[0][0] != "-" else None,
)
def test_out_of_range_arguments(tmp_path: Path, db_path: Path, argv: list[str], expected: list[str]) -> None:
    _one_error_line(_run(_config(tmp_path), db_path, *argv), *expected)


@pytest.mark.parametrize(
    ("extra", "source_extra", "key"),
    [
        ("", 'interval = "99999999999999999999d"', "sources[0].interval"),
        ("[fetch]\nmax_body_mb = 1e308\n", "", "fetch.max_body_mb"),
        ("[fetch]\ntimeout = nan\n", "", "fetch.timeout"),
        ("[fetch]\nrun_deadline = inf\n", "", "fetch.run_deadline"),
        ("[fetch]\nconcurrency = 99999999999999\n", "", "fetch.concurrency"),
    ],
    ids=["interval", "max_body_mb", "timeout nan", "run_deadline inf", "concurrency"],
)
def test_out_of_range_config_values(
    tmp_path: Path, db_path: Path, extra: str, source_extra: str, key: str
) -> None:
    config = _config(tmp_path, extra, source_extra)
    for _ in range(2):  # the first run and every later one: the config never gets through
        line = _one_error_line(_run(config, db_path, "ingest"), f"{config}: {key}: expected")
        assert line.startswith("newswatch: ")
    assert not db_path.exists()


def test_the_bounds_themselves_are_accepted() -> None:
    assert parse_duration("36500d") == 36500 * 86400
    assert parse_when("36500d") is not None
    with pytest.raises(ValueError, match="at most 36500 days"):
        parse_duration(36500 * 86400 + 1)
