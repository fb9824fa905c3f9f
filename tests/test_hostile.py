"""Hostile content through the real ingest and CLI: stored text is clean, nothing reaches a terminal raw.

Titles, bodies, authors and links carry ANSI/CSI (7- and 8-bit), OSC 8 hyperlinks, OSC 52 clipboard writes,
C0/C1 controls, NUL, bidi overrides, zero-width characters, Rich/Textual markup, 10 MB single lines and
javascript:/file:/data: links; a feed's own error text and a row written by another tool are covered too.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from feeds.parse import MAX_BODY_CHARS, MAX_TITLE_CHARS
from feeds.sanitize import safe_url, terminal_safe
from testkit.feedserver import FeedServer
from tests.conftest import run_cli

# Everything a terminal could act on or a reader could be fooled by: C0 but TAB/LF, DEL, C1, bidi
# embeddings/overrides/isolates, zero-width characters and the BOM.
UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)

ESC = "&#27;"
HOSTILE_ITEMS = [
    # (guid, title, link, author, description) as they appear in the XML; &#27; is ESC once parsed.
    ("clear", f"Clear {ESC}[2J{ESC}[H screen", "javascript:alert(1)", f"Eve {ESC}[31m", f"Body {ESC}[5m blink"),
    ("clip", f"Clipboard {ESC}]52;c;ZXZpbA==&#7; write", "file:///etc/passwd", "x", "osc 52"),
    ("osc8", f"{ESC}]8;;https://evil.example&#7;click me{ESC}]8;;&#7; now", "data:text/html,hi", "", "o"),
    ("c1", "Eight-bit &#155;2J CSI and &#133; NEL &#157;0;title&#156; OSC", "https://ok.example/c1", "", "c1"),
    ("bidi", "Invoice &#8238;fdp.exe&#8236; and &#8294;isolate&#8297;", "https://ok.example/b", "", "b"),
    ("zw", "Zero&#8203;width&#8204;join&#8205;ers&#65279; and word&#8288;joiner", "https://ok.example/z", "", "z"),
    ("markup", "[bold red]Breaking[/] [@click=app.quit]quit[/] [/news] [link=file:///x]l[/link]", "https://ok.example/m", "", "m"),
    ("nul", "Null&#0; byte&#1;&#8; and DEL&#127;", " JaVaScRiPt:alert(2)", "", "Tab\tand\x0bVT"),
]  # fmt: skip
LONG_TITLE = "T" * 3_000_000
LONG_BODY = "word " * 2_000_000  # 10 MB on one line


def _hostile_feed() -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid><author>{author}</author>"
        f"<description>{body}</description><pubDate>Tue, 05 Nov 2024 10:00:00 GMT</pubDate></item>"
        for guid, title, link, author, body in HOSTILE_ITEMS
    )
    items += (
        f"<item><title>{LONG_TITLE}</title><guid>long</guid><description>{LONG_BODY}</description></item>"
    )
    channel = f"<title>Hostile {ESC}]0;owned&#7;&#8238;Outlet</title><link>https://ok.example/</link>"
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}{items}</channel></rss>'.encode()


def _stored(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [
            dict(row) for row in conn.execute("SELECT guid, title, body, author, outlet, url FROM articles")
        ]


def test_hostile_feed_is_stored_clean_and_printed_safely(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    feed_server.feed("/hostile.xml", _hostile_feed())
    # A feed whose own failure text carries an escape: the error is printed through the same filter.
    feed_server.redirect("/evil-redirect.xml", "javascript:alert('\x1b[2J')", code=302)
    feed_server.redirect("/js-redirect.xml", "javascript:alert(1)", code=302)
    config = tmp_path / "hostile.toml"
    config.write_text(
        f'[[sources]]\nname = "Hostile"\nurl = "{feed_server.url("/hostile.xml")}"\n\n'
        f'[[sources]]\nname = "Redirector"\nurl = "{feed_server.url("/evil-redirect.xml")}"\n\n'
        f'[[sources]]\nname = "JsRedirect"\nurl = "{feed_server.url("/js-redirect.xml")}"\n\n'
        '[topics.Everything]\nquery = "screen OR write OR click OR CSI OR invoice OR zero* OR breaking OR null '
        'OR word"\nalert = true\n[fetch]\nmax_body_mb = 20\n'
    )
    base = ("--config", str(config), "--db", str(db_path))
    ingest = run_cli(*base, "ingest", "--alerts")
    assert ingest.status == 0, ingest.stderr
    assert "JsRedirect: redirect to javascript:alert(1)" in ingest.stderr
    assert "Redirector: redirect to javascript:alert('')" in ingest.stderr
    with sqlite3.connect(db_path) as conn:
        errors = [
            error for (error,) in conn.execute("SELECT last_error FROM sources WHERE last_error IS NOT NULL")
        ]
    assert len(errors) == 2 and not any(UNSAFE.search(error) for error in errors), errors

    rows = {row["guid"]: row for row in _stored(db_path)}
    assert set(rows) == {guid for guid, *_ in HOSTILE_ITEMS} | {"long"}
    for row in rows.values():
        for field in ("title", "body", "author", "outlet", "url"):
            assert not UNSAFE.search(row[field]), (row["guid"], field, row[field][:200])
            assert "\x1b" not in row[field] and "]52;" not in row[field] and "]8;;" not in row[field]
        # Only links a browser may open are kept.
        assert row["url"] == "" or safe_url(row["url"]) == row["url"], row["url"]
    assert rows["clear"]["url"] == rows["clip"]["url"] == rows["osc8"]["url"] == rows["nul"]["url"] == ""
    assert rows["c1"]["url"] == "https://ok.example/c1"
    # The readable words survive; the sequences' parameters go with them.
    assert rows["clear"]["title"] == "Clear screen"
    assert rows["osc8"]["title"] == "click me now"
    assert rows["bidi"]["title"] == "Invoice fdp.exe and isolate"
    assert rows["zw"]["title"] == "Zerowidthjoiners and wordjoiner"
    assert "[bold red]Breaking[/]" in rows["markup"]["title"]  # literal: the TUI renders it as text
    assert rows["clear"]["outlet"] == "Hostile"  # the configured source, not the (hostile) feed title
    # 10 MB single lines are capped.
    assert len(rows["long"]["title"]) <= MAX_TITLE_CHARS + 1
    assert len(rows["long"]["body"]) <= MAX_BODY_CHARS + 1

    outputs = [
        ingest,
        run_cli(*base, "articles", "--limit", "20"),
        run_cli(*base, "search", "screen OR clipboard OR click OR invoice OR breaking", "--limit", "20"),
        run_cli(*base, "stories", "--limit", "20"),
        run_cli(*base, "topics"),
        run_cli(*base, "topics", "test", "screen OR invoice"),
        run_cli(*base, "alerts", "--dry-run", "--since", "3650d"),
        run_cli(*base, "sources"),
        run_cli(*base, "articles", "--json", "--limit", "20"),
    ]
    for result in outputs:
        assert result.status == 0, result.stderr
        assert not UNSAFE.search(result.stdout.replace("\r", "")), result.stdout[:500]
        assert not UNSAFE.search(result.stderr), result.stderr[:500]
    assert "Clear screen" in outputs[1].stdout and "Invoice fdp.exe" in outputs[2].stdout
    assert [json.loads(line)["id"] for line in outputs[-1].stdout.splitlines()]


def test_text_written_by_another_tool_is_escaped_on_output(
    feed_server: FeedServer, tmp_path: Path, db_path: Path
) -> None:
    """Stored data may predate a rule or come from elsewhere: the CLI filters again when it prints."""
    feed_server.feed(
        "/plain.xml",
        b'<rss version="2.0"><channel><title>Plain</title><item><title>Plain title</title>'
        b"<guid>p1</guid><description>calm</description></item></channel></rss>",
    )
    config = tmp_path / "plain.toml"
    config.write_text(f'[[sources]]\nname = "Plain"\nurl = "{feed_server.url("/plain.xml")}"\n')
    base = ("--config", str(config), "--db", str(db_path))
    assert run_cli(*base, "ingest").status == 0
    raw = "Raw \x1b[2J\x1b]52;c;ZXZpbA==\x07 \x9b31m \u202eevil \x00 title"
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE articles SET title = ?, outlet = ?", [raw, "Out\x1b[31mlet"])
        conn.execute("UPDATE sources SET last_error = ?", ["bad \x1b]0;retitled\x07 thing"])
    for argv in (("articles",), ("stories",), ("sources",), ("search", "raw")):
        result = run_cli(*base, *argv)
        assert result.status == 0, result.stderr
        assert not UNSAFE.search(result.stdout), (argv, result.stdout)
    assert "Raw" in run_cli(*base, "articles").stdout


def test_hostile_path_source_file(tmp_path: Path, db_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "evil.txt").write_text(
        "Headline \x1b[2J with \u202eoverride\n\nBody \x1b]8;;http://x\x07link\x1b]8;;\x07 and \x00 nul "
        + "x" * 2_000_000
        + "\n",
        encoding="utf-8",
    )
    (folder / "items.jsonl").write_text(
        json.dumps(
            {"title": "J \x1b[31mred\u200b", "body": "b\x9b2J", "url": "javascript:alert(1)", "guid": "j1"}
        )
        + "\n"
        + json.dumps({"title": "Local file link", "body": "b", "url": "file:///etc/passwd", "guid": "j2"})
        + "\n",
        encoding="utf-8",
    )
    config = tmp_path / "files.toml"
    config.write_text(f'[[sources]]\nname = "Files"\npath = "{folder}"\n')
    result = run_cli("--config", str(config), "--db", str(db_path), "ingest")
    assert result.status == 0, result.stderr
    rows = _stored(db_path)
    assert len(rows) == 3
    for row in rows:
        for field in ("title", "body", "author", "outlet", "url"):
            assert not UNSAFE.search(row[field]), (field, row[field][:100])
        # A file's own location is kept as a file: URI (safe_url keeps the TUI from opening it); a link
        # from inside the data must be http(s) or nothing.
        assert row["url"] in ("", (folder / "evil.txt").as_uri()) or safe_url(row["url"]) == row["url"], row[
            "url"
        ]
        assert "javascript" not in row["url"].lower() and "passwd" not in row["url"]
        assert len(row["body"]) <= MAX_BODY_CHARS + 1


def test_safe_url_opens_only_http_and_https() -> None:
    for good in ("https://example.com/a?b=c#d", "http://example.com", "HTTPS://EXAMPLE.COM/x"):
        assert safe_url(good) == good
    for bad in (
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "java\x00script:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<script>1</script>",
        "vbscript:msgbox",
        "mailto:a@b.c",
        "ftp://example.com/x",
        "//evil.example/x",
        "http://",
        "https:///path-only",
        "https://exa mple.com/",
        "https://example.com/\nSet-Cookie: x",
        "",
        None,
    ):
        assert safe_url(bad) is None, bad
    # Controls and bidi marks inside an http(s) URL are dropped, never passed to the browser.
    assert safe_url("https://example.com/\x1b[2Jpath") == "https://example.com/path"
    assert safe_url("\u202ehttps://example.com/") == "https://example.com/"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_terminal_safe_never_lets_a_control_through(text: str) -> None:
    cleaned = terminal_safe(text)
    assert not UNSAFE.search(cleaned.replace("\r", ""))
    assert "\x1b" not in cleaned


def test_terminal_safe_keeps_readable_text() -> None:
    assert terminal_safe("Ünïcödé – “quotes” 北京 \n tab\tok") == "Ünïcödé – “quotes” 北京 \n tab\tok"
    assert terminal_safe("a\x1b]8;;https://evil\x07link\x1b]8;;\x07b") == "alinkb"
    assert terminal_safe("x\x1b]52;c;ZXZpbA==\x1b\\y") == "xy"
    assert terminal_safe("\x9b2Jz") == "z"
