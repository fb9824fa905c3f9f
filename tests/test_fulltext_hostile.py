"""Hostile article pages (issue 15): an entity bomb, deep nesting, a page of escape sequences and markup.
Extraction stays total, quick and small, and what it keeps is plain text: no control characters reach a
body (the terminal), and markup-looking text stays text (the interface shows it with Content)."""

from __future__ import annotations

import time

from feeds.fulltext import PAGE_MAX_BYTES, extract_main_text

PARA = (
    "<p>"
    + "Ministers met in Rome to agree a response to the deployment of troops near the border. " * 6
    + "</p>"
)
LOLS = "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(2, 10))
BOMB = f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol1 "lol">{LOLS}]><html><body><article><p>&lol9;</p>'


def _timed(page: bytes) -> tuple[float, object]:
    started = time.monotonic()
    result = extract_main_text(page, "https://outlet.test/a", "text/html")
    return time.monotonic() - started, result


def test_an_entity_bomb_is_not_expanded() -> None:
    elapsed, result = _timed((BOMB + PARA * 3 + "</article></body></html>").encode())
    assert elapsed < 15  # bounds against a hang on a shared machine, not speed measurements
    assert "lollollol" not in result.text


def test_deep_nesting_and_a_page_at_the_size_cap_end_quickly() -> None:
    deep = b"<html><body>" + b"<div>" * 200_000 + PARA.encode() * 3 + b"</div>" * 200_000 + b"</body></html>"
    elapsed, _ = _timed(deep)
    assert elapsed < 30
    big = (
        b"<html><body><article>" + PARA.encode() * (PAGE_MAX_BYTES // len(PARA)) + b"</article></body></html>"
    )
    assert len(big) <= PAGE_MAX_BYTES + 100
    elapsed, result = _timed(big)
    assert elapsed < 60
    assert len(result.text) <= 200_001  # the stored body's cap (and its ellipsis)


def test_escape_sequences_and_markup_in_a_page_stay_plain_text() -> None:
    hostile = (
        "<p>Officials said &#27;[2J the screen &#x1b;]0;owned&#7; title and \x1b]52;c;Zm9v\x07 clipboard "
        "writes, [bold]markup[/] and [@click=app.quit]actions[/] and U+202E \u202e are text.</p>"
    )
    page = f"<html><body><article>{PARA}{hostile}{PARA}</article></body></html>".encode()
    _, result = _timed(page)
    assert result.error is None
    assert "[@click=app.quit]actions[/]" in result.text
    assert not any(ch in result.text for ch in "\x1b\x07\x9b\u202e")


def test_the_same_page_gives_the_same_text_whatever_was_extracted_before() -> None:
    # Two outlets reprinting one wire: the second page keeps every paragraph the first had.
    page = f"<html><body><article>{PARA}<p>Second paragraph of the wire.</p>{PARA}</article></body></html>"
    first = extract_main_text(page.encode(), "https://a.test/1", "text/html").text
    again = extract_main_text(page.encode(), "https://b.test/2", "text/html").text
    assert first and first == again
