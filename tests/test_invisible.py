"""Invisible characters that survive cleaning would hide words from topics ("DP\u00adRK troops" shows as
"DPRK troops" but matched no DPRK topic): they are stripped for matching and for display, except a ZWJ
inside an emoji sequence. Checked against Unicode's own property, and end to end through a real ingest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from feeds.sanitize import clean_line, clean_text, terminal_safe
from tests.conftest import run_cli
from tui.text import plain

# Each character the issue found surviving, and the rest of the property's kinds.
HIDERS = [
    "\u00ad", "\u034f", "\u061c", "\u180e", "\u115f", "\u1160", "\u3164", "\uffa0", "\ufe0f", "\ufe00",
    "\u17b4", "\u180b", "\u2065", "\U000e0001", "\U000e0041", "\U000e007f", "\ufff9", "\ufffa", "\ufffb",
    "\U0001d173", "\U0001d17a", "\U0001bca0", "\U0001bca3", "\u200b", "\u2060", "\u2066", "\ufeff",
]  # fmt: skip
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
HEART_ON_FIRE = "\u2764\ufe0f\u200d\U0001f525"


def test_the_stripped_class_is_unicodes_default_ignorable_set() -> None:
    regex = pytest.importorskip("regex")  # installed with trafilatura's dateparser
    ignorable = regex.compile(r"\p{Default_Ignorable_Code_Point}")
    missed = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF
        and ignorable.match(chr(code))
        and clean_line(f"a{chr(code)}b") != "ab"
    ]
    assert missed == []


@pytest.mark.parametrize("hider", HIDERS, ids=lambda ch: f"U+{ord(ch):04X}")
def test_an_invisible_character_inside_a_word_is_removed(hider: str) -> None:
    for clean in (clean_line, clean_text, terminal_safe, plain):
        assert clean(f"DP{hider}RK troops") == "DPRK troops"


def test_zwj_is_kept_inside_emoji_sequences_only() -> None:
    assert clean_line(f"A family {FAMILY} here") == f"A family {FAMILY} here"
    assert (
        clean_line("skin \U0001f469\U0001f3fd\u200d\U0001f4bb") == "skin \U0001f469\U0001f3fd\u200d\U0001f4bb"
    )
    assert (
        clean_line(HEART_ON_FIRE) == "\u2764\u200d\U0001f525"
    )  # the variation selector goes, the join stays
    assert clean_line("DP\u200dRK") == "DPRK"
    assert clean_line("\u200d\U0001f525") == "\U0001f525"


def test_a_topic_matches_through_every_hider_after_ingest(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    with (folder / "hidden.jsonl").open("w", encoding="utf-8") as handle:
        for n, hider in enumerate(HIDERS):
            record = {
                "guid": f"g{n}",
                "title": f"DP{hider}RK troops {n}",
                "body": f"North Korean troops, {FAMILY}.",
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    config = tmp_path / "c.toml"
    config.write_text(
        '[[sources]]\nname = "Hidden"\npath = "in/*.jsonl"\n\n[topics.DPRK]\nquery = "title:DPRK"\n'
    )
    assert run_cli("--config", str(config), "--db", str(db_path), "ingest").status == 0
    topics = run_cli("--config", str(config), "--db", str(db_path), "topics")
    assert topics.stdout.startswith(f"DPRK: {len(HIDERS)} articles")
    listed = run_cli(
        "--config", str(config), "--db", str(db_path), "articles", "title:DPRK", "--json", "--limit", "100"
    )
    titles = sorted(row["title"] for row in listed.json_lines())
    assert titles == sorted(f"DPRK troops {n}" for n in range(len(HIDERS)))
