"""Reading local article files: seeds, Markdown, HTML, JSON Lines, and hostile or broken input."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.dates import match_date_line, parse_timestamp
from feeds.files import (
    MAX_BODY_CHARS,
    MAX_FILE_BYTES,
    SUPPORTED_SUFFIXES,
    JsonlReader,
    read_article_file,
    read_jsonl_file,
    read_path,
)
from feeds.records import (
    DATE_FROM_MENTION,
    DATE_FROM_MTIME,
    DATE_FROM_RECORD,
    DATE_FROM_TEXT,
    DATE_FROM_TEXT_NO_YEAR,
    ArticleRecord,
)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "files"
OUR_MODULES = [ROOT / "feeds" / name for name in ("files.py", "dates.py", "boilerplate.py", "markdown.py")]

# Characters that must never reach the store: ESC, CSI/OSC introducers, NUL, C1, bidi overrides, zero-width.
HOSTILE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def seed(prefix: str) -> Path:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return path


def one(path: Path, default_outlet: str = "Default Outlet") -> ArticleRecord:
    result = read_path(path, default_outlet=default_outlet)
    assert result.error is None, result.error
    assert len(result.records) == 1
    return result.records[0]


def mtime_of(path: Path) -> datetime:
    return datetime.fromtimestamp(os.stat(path).st_mtime, tz=UTC)


def first_nonblank_line(path: Path) -> str:
    line = next(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return re.sub(r"^#+\s*", "", line.strip())


def normalise_quotes(text: str) -> str:
    return text.replace("’", "'").replace("“", '"').replace("”", '"').replace("‘", "'")


# --------------------------------------------------------------------------------------------------------
# The shipped seeds


@pytest.mark.parametrize("prefix", ["000", "001", "003", "004"])
def test_seed_title_is_its_first_line(prefix: str) -> None:
    path = seed(prefix)
    record = one(path)
    assert record.title == first_nonblank_line(path)
    assert not record.title.startswith("#")
    assert record.title not in record.body.split("\n")


def test_seed_002_date_line_gives_date_and_leaves_body() -> None:
    record = one(seed("002"))
    assert record.published == datetime(2024, 11, 7, tzinfo=UTC)
    assert record.date_origin == DATE_FROM_TEXT
    assert "2024-11-07" not in record.body
    assert not any(line.strip().lower().startswith("date") for line in record.body.split("\n"))
    # The file opens with its first paragraph: the headline is made from it and the paragraph stays.
    assert record.title.startswith("The international community has expressed serious concerns")
    assert record.body.startswith("PYONGYANG (dpa-AFX) - The international community")
    assert "11,000 to 12,000" in record.body


def test_seed_002_outlet_and_copyright_footer() -> None:
    record = one(seed("002"))
    assert record.outlet == "RTT News/dpa-AFX"
    assert "Copyright" not in record.body
    assert "©" not in record.body
    assert record.body.endswith("the Pentagon said earlier this week.")


def test_seed_003_date_line_near_top() -> None:
    record = one(seed("003"))
    assert record.published == datetime(2024, 11, 5, tzinfo=UTC)
    assert record.date_origin == DATE_FROM_TEXT
    assert "5 November, 2024" not in record.body
    assert record.body.startswith("We, the Foreign Ministers of Australia")


def test_undated_seed_falls_back_to_mtime() -> None:
    # 001 names only a weekday ("on Tuesday"): no date to take, so the file's time stands in, marked as such.
    path = seed("001")
    record = one(path)
    assert record.date_origin == DATE_FROM_MTIME
    assert record.published == mtime_of(path)
    assert record.published.tzinfo is not None


def test_seed_000_is_dated_by_the_latest_full_date_it_mentions() -> None:
    # No date line; the body says "on November 6" and "released on November 6, 2024" (and the election "on
    # November 5"): the latest full date it mentions is the best date the text gives.
    record = one(seed("000"))
    assert "November 6, 2024" in record.body
    assert record.published == datetime(2024, 11, 6, tzinfo=UTC)
    assert record.date_origin == DATE_FROM_MENTION


@pytest.mark.parametrize("file_time", [datetime(2024, 12, 20, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)])
def test_seed_004_yearless_date_takes_its_year_from_context(tmp_path: Path, file_time: datetime) -> None:
    # "Dec. 16 () –" and "condemned this Monday": 16 December is a Monday in 2024, not in 2025 or 2026, so a
    # copy of the file made years later (a fresh clone) still dates the event 2024.
    path = tmp_path / "004.txt"
    path.write_bytes(seed("004").read_bytes())
    os.utime(path, (file_time.timestamp(), file_time.timestamp()))
    record = one(path)
    assert record.published == datetime(2024, 12, 16, tzinfo=UTC)
    assert record.date_origin == DATE_FROM_TEXT_NO_YEAR
    # The yearless dateline stays in the text (story grouping reads months from the lead).
    assert record.body.startswith("Dec. 16")
    assert "Add Comment" not in record.body
    # 004's sanctions are article text and must stay searchable.
    assert "economic sanctions" in record.body


def test_yearless_date_without_a_weekday_is_its_nearest_past_occurrence(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "A headline\n\nMar. 3 –\n\nThe council met and agreed the budget.\n")
    when = datetime(2025, 2, 10, tzinfo=UTC).timestamp()
    os.utime(path, (when, when))
    record = one(path)
    assert record.published == datetime(2024, 3, 3, tzinfo=UTC)
    assert record.date_origin == DATE_FROM_TEXT_NO_YEAR


def test_a_mentioned_date_after_the_file_time_is_not_taken(tmp_path: Path) -> None:
    text = "A headline\n\nThe treaty of 2 May 2019 expires on 1 January 2031, the ministry said.\n"
    path = write(tmp_path, "a.txt", text)
    when = datetime(2025, 2, 10, tzinfo=UTC).timestamp()
    os.utime(path, (when, when))
    record = one(path)
    assert record.published == datetime(2019, 5, 2, tzinfo=UTC)
    assert record.date_origin == DATE_FROM_MENTION


def test_seed_000_sidebar_ads_and_prompts_are_stripped() -> None:
    record = one(seed("000"))
    body = record.body
    assert "sanction" not in body.lower()
    assert "Advertisement" not in body
    assert "Subscribe to our newsletter" not in body
    lines = body.split("\n")
    assert "Latest" not in lines
    assert "Don't miss" not in lines
    assert "COP29" not in body
    assert "Starvation in Sudan" not in body
    assert body.endswith("coordinated response to this new development.”")


def test_seed_000_keeps_the_full_joint_statement() -> None:
    # The statement itself (seed 003) must survive in 000 paragraph by paragraph; quotes differ in style.
    statement = one(seed("003")).body
    body = normalise_quotes(one(seed("000")).body)
    for paragraph in statement.split("\n\n"):
        assert normalise_quotes(paragraph).strip('"') in body


def test_seed_001_trailing_related_heading_and_byline() -> None:
    record = one(seed("001"))
    assert "You may also like" not in record.body
    assert record.body.endswith("in a “dangerous expansion” of the conflict.")
    assert record.outlet == "Anadolu Agency"
    assert "by Anadolu Agency" not in record.body


def test_seeds_use_default_outlet_when_the_text_names_none() -> None:
    assert one(seed("000"), "New Europe").outlet == "New Europe"
    assert one(seed("003"), "G7").outlet == "G7"


def test_seed_records_are_stable_and_keyed_by_file_name() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        first, second = one(path), one(path)
        assert first.guid == path.name
        assert first.url == path.absolute().as_uri()
        assert first.content_hash() == second.content_hash()
        assert not HOSTILE.search(first.body + first.title)


def test_heuristics_are_not_written_for_the_seeds() -> None:
    names = [path.name for path in SEEDS.glob("*.txt")]
    source = "\n".join(path.read_text(encoding="utf-8") for path in OUR_MODULES)
    for needle in [*names, *(name.split("_")[1].split(".")[0] for name in names)]:
        assert needle not in source
    for needle in ("Anadolu", "dpa-AFX", "RTT", "New Europe", "Syensqo", "COP29", "Pyongyang", "Kursk"):
        assert needle not in source


# --------------------------------------------------------------------------------------------------------
# Plain text heuristics on files of our own


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2024-11-07", date(2024, 11, 7)),
        ("5 November 2024", date(2024, 11, 5)),
        ("5 November, 2024", date(2024, 11, 5)),
        ("November 5, 2024", date(2024, 11, 5)),
        ("Nov. 5, 2024", date(2024, 11, 5)),
        ("5 Nov 2024", date(2024, 11, 5)),
        ("Published: Tuesday, 5 November 2024 10:30 GMT", date(2024, 11, 5)),
        ("Updated Sept 3rd, 2023 at 9:15 a.m. ET", date(2023, 9, 3)),
    ],
)
def test_date_line_below_title_in_a_file(tmp_path: Path, line: str, expected: date) -> None:
    path = write(tmp_path, "a.txt", f"A headline\n\n{line}\n\nFirst paragraph of the story.\n")
    record = one(path)
    assert record.published == datetime(expected.year, expected.month, expected.day, tzinfo=UTC)
    assert record.date_origin == DATE_FROM_TEXT
    assert record.body == "First paragraph of the story."


def test_date_line_too_far_down_is_body(tmp_path: Path) -> None:
    paragraphs = "\n\n".join(f"Paragraph {n} of the story." for n in range(8))
    path = write(tmp_path, "a.txt", f"A headline\n\n{paragraphs}\n\n5 November 2024\n")
    record = one(path)
    # Not a date line (too far down), but still the best date the text gives.
    assert record.date_origin == DATE_FROM_MENTION
    assert "5 November 2024" in record.body


def test_prose_with_a_date_is_not_a_date_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "A headline\n\nThe summit opened on 5 November 2024 in Rome.\n")
    record = one(path)
    assert record.date_origin == DATE_FROM_MENTION
    assert record.body == "The summit opened on 5 November 2024 in Rome."


def test_yearless_date_line_is_placed_before_the_file_time(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "A headline\nDec. 16 () –\nThe story.\n")
    record = one(path)
    assert record.date_origin == DATE_FROM_TEXT_NO_YEAR
    assert (record.published.month, record.published.day) == (12, 16)
    assert mtime_of(path) - timedelta(days=366) < record.published <= mtime_of(path) + timedelta(days=1)


def test_wire_dateline_and_person_byline(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "w.txt",
        "Grain exports rise\nBy Jane Doe\n\nKYIV (Reuters) - Grain exports rose in May, traders said.\n",
    )
    record = one(path)
    assert record.outlet == "Reuters"
    assert record.author == "Jane Doe"
    assert record.body == "KYIV (Reuters) - Grain exports rose in May, traders said."


def test_copyright_footer_names_outlet_and_prose_after_related_heading_stays() -> None:
    record = one(FIXTURES / "wire_footer.txt")
    assert record.title == "Port strike ends after pay deal"
    assert record.author == "Alex Smith"
    assert record.outlet == "Example Press Service"
    assert "©" not in record.body
    # "Related" here is followed by real paragraphs, not a list of headlines: nothing is cut.
    assert "Related" in record.body
    assert record.body.endswith("it was pleased that the dispute was over.")


def test_trailing_link_list_with_several_sections_is_cut(tmp_path: Path) -> None:
    text = (
        "Headline of the day\n\nThe article's only paragraph, which ends properly.\n\n"
        "Most read\n\nMarkets rally on rate hopes\n\nA short teaser that was cut off in the...\n\n"
        "Recommended for you\n\nWeather turns cold in the north\n"
    )
    record = one(write(tmp_path, "a.txt", text))
    assert record.body == "The article's only paragraph, which ends properly."


def test_title_heading_marker_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", b"\r\n\r\n## Hash title\r\n\r\n5 Nov 2024\r\n\r\nBody line.\r\n")
    record = one(path)
    assert record.title == "Hash title"
    assert record.published == datetime(2024, 11, 5, tzinfo=UTC)
    assert record.body == "Body line."


# --------------------------------------------------------------------------------------------------------
# Markdown and HTML


def test_markdown_front_matter_and_markup() -> None:
    record = one(FIXTURES / "article.md")
    assert record.title == "Ministers meet in Brussels"
    assert record.published == datetime(2024, 3, 14, 8, 30, tzinfo=UTC)
    assert record.date_origin == DATE_FROM_TEXT
    assert record.outlet == "Example Wire"
    assert record.author == "Jane Roe"
    body = record.body
    assert body.startswith(
        "Foreign ministers met on Thursday to discuss energy security, according to the council."
    )
    for markup in ("*", "[", "](", "http", "![", "#", "> ", "Advertisement", "photo"):
        assert markup not in body
    assert '"We will act together," said the chair.' in body
    assert "follow-up meeting." in body
    # The trailing "## Related" list of headlines is not article text.
    assert "Energy prices" not in body


def test_markdown_setext_heading_and_date_line() -> None:
    record = one(FIXTURES / "heading_dated.markdown")
    assert record.title == "Harbour reopens after storm"
    assert record.published == datetime(2024, 11, 5, tzinfo=UTC)
    assert "=" not in record.body
    assert record.body.startswith("The harbour reopened on Tuesday")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_html_with_trafilatura(no_network: None) -> None:
    record = one(FIXTURES / "page.html")
    assert record.title == "Grain deal extended for 120 days"
    assert record.published == datetime(2024, 7, 18, tzinfo=UTC)
    assert record.date_origin == DATE_FROM_TEXT
    assert record.outlet == "Example Times"
    assert record.body.startswith("The agreement that lets grain ships leave Black Sea ports")
    assert "next review of the agreement" in record.body
    for junk in ("tracking pixel", "Home", "Sport", "document.write", "<p>", "All rights reserved"):
        assert junk not in record.body


def test_small_html_falls_back_and_sanitises(tmp_path: Path, no_network: None) -> None:
    html = (
        "<html><head><title>Tiny \u202epage</title><style>p{color:red}</style></head>"
        "<body><p>Hi \x1b]52;c;ZXZpbA==\x07there &#27;[2J friend</p><script>var x=1;</script></body></html>"
    )
    record = one(write(tmp_path, "tiny.htm", html), "Fallback Outlet")
    assert record.title == "Tiny page"
    assert "Hi" in record.body and "friend" in record.body
    assert "color:red" not in record.body and "var x" not in record.body
    assert not HOSTILE.search(record.title + record.body)
    assert record.outlet == "Fallback Outlet"
    assert record.date_origin == DATE_FROM_MTIME


def test_html_import_is_lazy() -> None:
    heavy = "['trafilatura', 'textual', 'rich']"
    code = f"import sys, feeds.files\nprint([m for m in {heavy} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------------------
# Hostile, broken and huge input


def test_hostile_characters_never_survive(tmp_path: Path) -> None:
    text = (
        "Title \x1b[2J\x1b]0;pwned\x07with \u202eevil\u202c bidi\n\n"
        "Body \x00with NUL, \x1b]52;c;ZXZpbA==\x07 clipboard, \x9b31m C1 CSI, zero\u200bwidth.\n"
    )
    record = one(write(tmp_path, "h.txt", text))
    assert not HOSTILE.search(record.title)
    assert not HOSTILE.search(record.body)
    assert "pwned" not in record.title and "ZXZpbA" not in record.body
    assert record.title == "Title with evil bidi"
    assert "zerowidth" in record.body


def test_empty_and_blank_files_are_errors(tmp_path: Path) -> None:
    for name, content in (("empty.txt", b""), ("blank.md", b"  \n\n\t\n")):
        result = read_path(write(tmp_path, name, content), default_outlet="x")
        assert result.records == []
        assert result.error is not None and name in result.error and "empty" in result.error
        assert "\n" not in result.error


def test_binary_garbage_is_an_error(tmp_path: Path) -> None:
    garbage = random.Random(7).randbytes(20_000)
    result = read_path(write(tmp_path, "noise.txt", garbage), default_outlet="x")
    assert result.records == []
    assert result.error is not None and "noise.txt" in result.error and "binary" in result.error


def test_undecodable_bytes_fall_back_to_cp1252(tmp_path: Path) -> None:
    raw = "Café prices\n\nThe \u201cbest\u201d coffee costs 3 €.\n".encode("cp1252")
    result = read_path(write(tmp_path, "cp.txt", raw), default_outlet="x")
    assert result.error is None
    record = result.records[0]
    assert record.title == "Café prices"
    assert record.body == "The \u201cbest\u201d coffee costs 3 €."
    assert any("cp1252" in warning for warning in result.warnings)


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    result = read_path(write(tmp_path, "l1.txt", b"Na\xefve title\n\nBody \x81 text.\n"), default_outlet="x")
    assert result.error is None
    assert result.records[0].title == "Naïve title"
    assert "\x81" not in result.records[0].body
    assert any("latin-1" in warning for warning in result.warnings)


def test_utf8_bom_is_not_part_of_the_title(tmp_path: Path) -> None:
    record = one(write(tmp_path, "bom.txt", "\ufeffBOM title\n\nText.\n".encode("utf-8-sig")))
    assert record.title == "BOM title"


def test_missing_directory_and_unsupported_paths(tmp_path: Path) -> None:
    missing = read_path(tmp_path / "gone.txt", default_outlet="x")
    assert missing.error is not None and "gone.txt" in missing.error
    folder = tmp_path / "folder.md"
    folder.mkdir()
    assert read_path(folder, default_outlet="x").error is not None
    other = read_path(write(tmp_path, "doc.pdf", b"%PDF-1.4"), default_outlet="x")
    assert other.error is not None and ".pdf" in other.error
    assert read_jsonl_file(tmp_path / "gone.jsonl", default_outlet="x").error is not None


def test_supported_suffixes_and_case_insensitive_dispatch(tmp_path: Path) -> None:
    assert {".txt", ".md", ".markdown", ".html", ".htm", ".jsonl"} == SUPPORTED_SUFFIXES
    assert isinstance(SUPPORTED_SUFFIXES, frozenset)
    record = one(write(tmp_path, "UPPER.TXT", "Upper title\n\nBody.\n"))
    assert record.title == "Upper title"


def test_huge_file_is_read_only_up_to_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    paragraph = ("All work and no play makes a very long article indeed. " * 20 + "\n\n").encode()
    with path.open("wb") as handle:
        handle.write(b"A very long file\n\n")
        for _ in range(50 * 1024 * 1024 // len(paragraph)):
            handle.write(paragraph)
    tracemalloc.start()
    try:
        result = read_article_file(path, default_outlet="x")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error is None
    assert peak < 40 * 1024 * 1024  # the file is 50 MB: it was not read whole
    assert any("huge.txt" in warning and "read only the first" in warning for warning in result.warnings)
    assert result.records[0].title == "A very long file"
    assert len(result.records[0].body) <= MAX_BODY_CHARS + 1


def test_cap_cutting_a_multibyte_character_keeps_utf8(tmp_path: Path) -> None:
    # 5 MiB is not a multiple of 3, so the read ends inside a "€".
    path = write(tmp_path, "euro.txt", b"Euro title\n\n" + ("€" * (MAX_FILE_BYTES // 3 + 10)).encode())
    result = read_article_file(path, default_outlet="x")
    assert result.error is None
    assert not any("cp1252" in warning or "latin-1" in warning for warning in result.warnings)
    assert set(result.records[0].body.rstrip("…")) == {"€"}


# --------------------------------------------------------------------------------------------------------
# JSON Lines


def test_jsonl_good_and_bad_lines() -> None:
    path = FIXTURES / "corpus.jsonl"
    result = read_jsonl_file(path, default_outlet="Corpus")
    assert result.error is None
    assert result.warnings == [
        "corpus.jsonl:5: invalid JSON (Expecting value)",
        "corpus.jsonl:6: not a JSON object (got list)",
        "corpus.jsonl:7: no title and no body",
        "corpus.jsonl:8: unparseable date 'the fifth of never'",
    ]
    titles = [record.title for record in result.records]
    assert titles == [
        "First item",
        "Seconds epoch",
        "Millis epoch",
        "String millis",
        "No date",
        "Only a body",
    ]
    first, seconds, millis, string_millis, undated, body_only = result.records
    assert (first.guid, first.url, first.outlet, first.author) == (
        "g-1",
        "https://example.org/1",
        "Wire A",
        "A. Writer",
    )
    assert first.published == datetime(2024, 11, 5, 10, tzinfo=UTC)
    assert seconds.guid == "42"
    assert millis.guid == "https://example.org/3"
    assert seconds.published == millis.published == string_millis.published == first.published
    assert {seconds.date_origin, millis.date_origin, first.date_origin} == {DATE_FROM_RECORD}
    assert seconds.outlet == "Corpus"
    assert undated.date_origin == DATE_FROM_MTIME
    assert undated.published == mtime_of(path)
    assert body_only.body == "Only a body. It has two sentences."


def test_jsonl_hash_guid_is_stable_and_content_based(tmp_path: Path) -> None:
    line = {"title": "Same", "body": "Same body"}
    a = write(tmp_path, "a.jsonl", json.dumps(line) + "\n")
    b = write(tmp_path, "b.jsonl", json.dumps({"body": "Same body", "title": "Same"}) + "\n")
    c = write(tmp_path, "c.jsonl", json.dumps({"title": "Same", "body": "Other body"}) + "\n")
    guid_a = read_jsonl_file(a, default_outlet="x").records[0].guid
    assert guid_a == read_jsonl_file(a, default_outlet="x").records[0].guid
    assert guid_a == read_jsonl_file(b, default_outlet="x").records[0].guid
    assert guid_a != read_jsonl_file(c, default_outlet="x").records[0].guid


def test_jsonl_hostile_fields_and_wrong_types(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {"title": "Evil \u001b[31mred\u202e", "body": "Text\u0000 here \u001b]52;c;eA==\u0007", "id": 1}
        ),
        json.dumps({"title": {"nested": True}, "body": "x"}),
        json.dumps({"title": "t", "body": "b", "published": True}),
        "[" * 100_000,
    ]
    result = read_jsonl_file(write(tmp_path, "h.jsonl", "\n".join(lines)), default_outlet="x")
    assert [record.title for record in result.records] == ["Evil red"]
    assert result.records[0].body == "Text here"
    assert [warning.split(": ")[0] for warning in result.warnings] == ["h.jsonl:2", "h.jsonl:3", "h.jsonl:4"]


def test_jsonl_empty_file_and_all_bad_lines(tmp_path: Path) -> None:
    empty = read_jsonl_file(write(tmp_path, "e.jsonl", b""), default_outlet="x")
    assert empty.records == [] and empty.error is not None and "e.jsonl" in empty.error
    bad = read_jsonl_file(write(tmp_path, "b.jsonl", b"{\n\xff\xfe\n"), default_outlet="x")
    assert bad.records == [] and bad.error is not None
    assert bad.warnings and bad.warnings[0].startswith("b.jsonl:1: invalid JSON")


def test_jsonl_is_fast_for_ten_thousand_lines(tmp_path: Path) -> None:
    rng = random.Random(1)
    words = ["troops", "minister", "statement", "Russia", "deployment", "talks", "grain", "port", "the", "a"]
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for n in range(10_000):
            body = " ".join(rng.choice(words) for _ in range(400)) + "."
            handle.write(
                json.dumps({"title": f"Item {n}", "body": body, "published": 1_700_000_000 + n}) + "\n"
            )
    started = time.perf_counter()
    result = read_path(path, default_outlet="x")
    elapsed = time.perf_counter() - started
    assert result.error is None and not result.warnings
    assert len(result.records) == 10_000
    assert len({record.guid for record in result.records}) == 10_000
    assert elapsed < 30, (
        f"10k lines took {elapsed:.1f}s"
    )  # linear, not quadratic; a loose bound on a shared machine


# --------------------------------------------------------------------------------------------------------
# The date parsers


def test_parse_timestamp_forms() -> None:
    expected = datetime(2024, 11, 5, 10, tzinfo=UTC)
    for value in (
        1730800800,
        1730800800.0,
        1730800800000,
        "1730800800",
        "1730800800000",
        "2024-11-05T10:00:00Z",
        "2024-11-05T11:00:00+01:00",
        "2024-11-05 10:00:00",
        "Tue, 05 Nov 2024 10:00:00 +0000",
    ):
        assert parse_timestamp(value) == expected, value
    assert parse_timestamp("2024-11-05") == datetime(2024, 11, 5, tzinfo=UTC)
    for value in (True, None, float("nan"), float("inf"), 1e30, "", "soon", [1], {"a": 1}, "2024-13-40"):
        assert parse_timestamp(value) is None, value


@given(st.integers(min_value=0, max_value=4_000_000_000))
def test_epoch_seconds_and_milliseconds_agree(seconds: int) -> None:
    from_seconds = parse_timestamp(seconds)
    assert from_seconds is not None and from_seconds.tzinfo is not None
    if seconds >= 100_000_000:  # 1973 onwards: a millisecond value cannot be mistaken for seconds
        assert parse_timestamp(seconds * 1000) == from_seconds
        assert parse_timestamp(str(seconds * 1000)) == from_seconds


_MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    st.sampled_from(["iso", "dmy", "dmy_comma", "mdy", "abbr_dot", "abbr_dmy"]),
    st.sampled_from(["", "Published ", "Updated: ", "Date "]),
)
def test_date_line_round_trip(day: date, style: str, label: str) -> None:
    name = _MONTH_NAMES[day.month - 1]
    abbr = name[:3]
    text = {
        "iso": day.isoformat(),
        "dmy": f"{day.day} {name} {day.year}",
        "dmy_comma": f"{day.day} {name}, {day.year}",
        "mdy": f"{name} {day.day}, {day.year}",
        "abbr_dot": f"{abbr}. {day.day}, {day.year}",
        "abbr_dmy": f"{day.day} {abbr} {day.year}",
    }[style]
    found = match_date_line(label + text)
    assert found is not None
    assert found.when == datetime(day.year, day.month, day.day, tzinfo=UTC)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_yearless_date_lines_have_no_value(day: date) -> None:
    name = _MONTH_NAMES[day.month - 1]
    found = match_date_line(f"{name[:3]}. {day.day}")
    assert found is not None and found.when is None


@given(st.text(max_size=120))
@settings(max_examples=300)
def test_date_line_matcher_is_total(text: str) -> None:
    found = match_date_line(text)
    if found is not None and found.when is not None:
        assert found.when.tzinfo is not None
        assert found.when.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "line",
    [
        "The text of the statement was released on November 6, 2024 by the ministers",
        "Talks resume on 5 November 2024, officials said",
        "In May 2024",
        "Room 12 May",
    ],
)
def test_prose_lines_are_not_date_lines(line: str) -> None:
    assert match_date_line(line) is None


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_text_file_reads_without_raising_and_stays_clean(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("h") / "any.txt"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = read_article_file(path, default_outlet="x")
    assert (result.error is None) == (len(result.records) == 1)
    for record in result.records:
        assert not HOSTILE.search(record.title + record.body)
        assert "\n" not in record.title


def test_jsonl_reader_hands_out_slices_with_the_same_records_and_warnings(tmp_path: Path) -> None:
    # Ingest reads a .jsonl a slice at a time, so a million lines are never all in memory.
    path = tmp_path / "big.jsonl"
    lines = [json.dumps({"guid": f"g{i}", "title": f"Title {i}", "body": "text"}) for i in range(1000)]
    lines[500] = "{not json"
    lines[700] = json.dumps({"guid": "g1", "title": "again", "body": "later"})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reader = JsonlReader(path, default_outlet="Feed")
    slices = list(reader.batches(256))
    # Slices of 256 lines; the bad line is missing from the second.
    assert [len(s) for s in slices] == [256, 255, 256, 232]
    whole = read_jsonl_file(path, default_outlet="Feed")
    assert [r.guid for s in slices for r in s] == [r.guid for r in whole.records]
    assert reader.warnings == whole.warnings and len(reader.warnings) == 2
    assert reader.error is None and reader.count == 999
    # Lines parsed in worker processes come back in file order, with the same warnings.
    with ProcessPoolExecutor(max_workers=2) as pool:
        pooled = JsonlReader(path, default_outlet="Feed")
        in_workers = list(pooled.batches(100, executor=pool, ahead=3))
    assert [r for s in in_workers for r in s] == [r for s in slices for r in s]
    assert pooled.warnings == reader.warnings and pooled.count == 999


def test_jsonl_reader_reports_an_unreadable_file_after_its_slices(tmp_path: Path) -> None:
    reader = JsonlReader(tmp_path / "absent.jsonl", default_outlet="Feed")
    assert list(reader.batches(10)) == []
    assert reader.error is not None and "absent.jsonl" in reader.error
