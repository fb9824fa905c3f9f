"""The parse path's fast paths give exactly what the plain versions give.

`html_to_text`, `clean_text`, `clean_line` and `strip_controls` skip work when a string cannot need it (no
run of spaces to fold, ASCII with no control character) and walk the HTML tree by links; feedparser reads
through an expat reader that buffers character data. Each is checked here against the plain version
(tests/text_reference.py, and the standard library's unbuffered reader) over hostile and realistic input:
a difference would change stored text, and so the content hash, of articles already in users' databases.
"""

from __future__ import annotations

import xml.sax
from datetime import UTC, datetime
from pathlib import Path

import feedparser.api
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feeds import expat_reader
from feeds.html_text import html_to_text
from feeds.parse import parse_feed
from feeds.sanitize import clean_line, clean_text, strip_controls
from tests import text_reference

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
EVAL_FEEDS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "feeds"

# Pieces that stress each rule: every kind of whitespace the two whitespace rules treat differently (HTML's
# five, Unicode spaces, newlines of other kinds), controls and escape sequences, invisible characters and
# the emoji a ZWJ may join, NFC-changing sequences, surrogates, and plain words.
TEXT_PIECES = [
    " ", "  ", "\t", "\n", "\r", "\r\n", "\f", "\x0b", "\x1c", "\x1f", "\x85", "\xa0", "\u2002", "\u2009",
    "\u200a", "\u202f", "\u205f", "\u3000", "\u1680", "\u2028", "\u2029", "\x00", "\x07", "\x1b[2J",
    "\x1b]52;c;ZXZpbA==\x07", "\x9b31m", "\x7f", "\x9f", "\u00ad", "\u200b", "\u200d", "\u202e", "\ufeff",
    "\U000e0041", "\U0001f468", "\U0001f3fb", "e\u0301", "\u212b", "\ud800", "\udfff", "word", "Word.",
    "é", "北京", "—", "…", "&", ";", "<", ">",
]  # fmt: skip
# Markup: the element kinds the walk treats differently (paragraphs, lines, cells, pre, br, img, skipped),
# inline elements, attributes, comments, a doctype, entities with and without their semicolon, and tag soup.
MARKUP_PIECES = [
    "<p>", "</p>", "<div>", "</div>", "<li>", "</li>", "<ul>", "</ul>", "<tr>", "<td>", "</td>", "<th>",
    "<table>", "</table>", "<pre>", "</pre>", "<br>", "<br/>", "</br>", "<img alt='a picture'>",
    "<img alt=''>", "<img>", "<script>", "</script>", "<style>", "</style>", "<template>", "</template>",
    "<svg>", "</svg>", "<noscript>", "</noscript>", "<b>", "</b>", "<a href='http://x/?a=1&b=2'>", "</a>",
    "<span class='x'>", "</span>", "<h2>", "</h2>", "<blockquote>", "</blockquote>", "<!-- note -->",
    "<!doctype html>", "<html>", "<head>", "<title>", "</title>", "<body>", "</body>", "&amp;", "&lt;",
    "&gt;", "&nbsp;", "&#8203;", "&#27;[31m", "&#x1F600;", "&eacute", "&notit;", "&#0;", "&#xD800;",
    "<![CDATA[x]]>", "<?pi x?>", "<p <", "< p>", "<select><option>o</option></select>", "<textarea>",
]  # fmt: skip

text_strategy = st.lists(st.sampled_from(TEXT_PIECES) | st.text(max_size=8), max_size=40).map("".join)
ascii_strategy = st.lists(
    st.sampled_from([" ", "  ", "\t", "\n", "\r", "\x07", "\x1b[1m", "\x7f", "a", "Word", ".", "\n\n\n"])
    | st.text(st.characters(max_codepoint=127), max_size=6),
    max_size=40,
).map("".join)
html_strategy = st.lists(
    st.sampled_from(MARKUP_PIECES) | st.sampled_from(TEXT_PIECES) | st.text(max_size=6), max_size=60
).map("".join)
max_chars_strategy = st.none() | st.integers(min_value=1, max_value=60)

REALISTIC_HTML = [
    "<p>'Doctor Who': Peter Capaldi</p><p>After lots of speculation, he was named.</p>",
    '<p>Price <a href="https://x.example/?a=1&amp;b=2">up 5&nbsp;%</a> &mdash; analysts<br>said.</p>',
    "<div><img src='x.png' alt='The scene'><p>First\n   para</p>\n<ul><li>one</li><li>two</li></ul></div>",
    "<pre>  code\n    indented\t tab</pre><p>after  two  spaces</p>",
    "<table><tr><th>a</th><td>1</td></tr><tr><td>2</td></tr></table><p>end</p>",
    "<p>Emoji 👨\u200d👩\u200d👧 and RTL \u202eevil\u202c &#27;[2J</p><script>alert(1)</script>",
    "<b>" * 3000 + "deep inline" + "</b>" * 3000,
    "<pre>" * 50 + "  pre  deep  " + "</pre>" * 50 + " after  pre ",
]


def _outcome(function, *args, **kwargs):
    """The result, or the type of the exception: a fast path must fail where the plain version fails too."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        return type(exc)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=html_strategy, max_chars=st.sampled_from([200_000, 40, 5]))
def test_html_to_text_matches_plain_walk(html, max_chars):
    fast = _outcome(html_to_text, html, max_chars=max_chars)
    assert fast == _outcome(text_reference.html_to_text, html, max_chars=max_chars)


@pytest.mark.parametrize("html", REALISTIC_HTML)
def test_html_to_text_matches_plain_walk_on_realistic_fragments(html):
    assert html_to_text(html) == text_reference.html_to_text(html)
    assert html_to_text(html)  # each has text: a walk that lost it would not match by accident


@settings(max_examples=400, deadline=None)
@given(text=text_strategy | ascii_strategy, max_chars=max_chars_strategy)
@example(text="a  b\t c \n  d \x07 e", max_chars=None)
@example(text="a \u3000 b\xa0c", max_chars=None)
def test_clean_text_and_line_match_plain_versions(text, max_chars):
    assert strip_controls(text) == text_reference.strip_controls(text)
    assert clean_text(text, max_chars=max_chars) == text_reference.clean_text(text, max_chars=max_chars)
    assert clean_line(text, max_chars=max_chars) == text_reference.clean_line(text, max_chars=max_chars)


def test_ascii_fast_path_still_strips_every_control():
    for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]:
        assert strip_controls(f"ab{chr(code)}") == "ab"
    assert strip_controls("a\rb\r\nc") == "a\nb\nc"
    assert strip_controls("a\x1b[2Jb\tc\n") == "ab\tc\n"
    assert clean_text("a \x07 b\t\tc  d") == "a b c d"


# --- feedparser through the buffered reader --------------------------------------------------------------


def test_feedparser_reads_through_the_buffered_reader():
    """The speedup is a registration: if it stops taking effect, this says so."""
    reader = xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS)
    assert isinstance(reader, expat_reader.BufferedExpatParser)


def _parse_both(body: bytes, monkeypatch) -> tuple:
    kwargs = dict(
        url="https://wire.example.com/f.xml",
        default_outlet="Outlet",
        fetched_at=datetime(2024, 11, 10, tzinfo=UTC),
    )
    buffered = parse_feed(body, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(feedparser.api, "PREFERRED_XML_PARSERS", [])  # the standard library's reader
        assert not isinstance(xml.sax.make_parser([]), expat_reader.BufferedExpatParser)
        plain = parse_feed(body, **kwargs)
    return buffered, plain


@pytest.mark.parametrize("path", sorted(FIXTURES.iterdir()), ids=lambda p: p.name)
def test_buffered_reader_parses_fixtures_the_same(path, monkeypatch):
    buffered, plain = _parse_both(path.read_bytes(), monkeypatch)
    assert buffered == plain


def test_buffered_reader_parses_eval_feeds_the_same(monkeypatch):
    if not EVAL_FEEDS.is_dir():
        pytest.skip(f"evaluation feeds not found at {EVAL_FEEDS} (see shared/eval/README.md)")
    paths = sorted(p for p in EVAL_FEEDS.rglob("*") if p.is_file() and p.stat().st_size < 200_000)
    assert len(paths) > 100
    for path in paths[::7]:  # a spread sample: the full set takes a minute
        buffered, plain = _parse_both(path.read_bytes(), monkeypatch)
        assert buffered == plain, path


# Character data as a feed writes it: escaped markup, character references, CDATA, runs of whitespace.
ITEM_PIECES = [
    "&lt;p&gt;", "&lt;/p&gt;", "&amp;", "&#233;", "&#x1F600;", "&#27;", "\n", "  ", "\t", "text", "é",
    "<![CDATA[<b>x</b> & y]]>", "&amp;amp;", "]]&gt;", "&quot;", "&apos;",
]  # fmt: skip
ITEM_TEXT = st.lists(
    st.sampled_from(ITEM_PIECES)
    | st.text(
        st.characters(codec="utf-8", exclude_characters="<&", exclude_categories=["Cs", "Cc"]), max_size=10
    ),
    max_size=30,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=ITEM_TEXT, description=ITEM_TEXT, atom=st.booleans())
def test_buffered_reader_parses_generated_feeds_the_same(title, description, atom, monkeypatch):
    if atom:
        body = (
            "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>F</title>"
            f"<entry><id>urn:x</id><title type='html'>{title}</title><summary type='html'>{description}"
            f"</summary><content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>{description}</div>"
            "</content></entry></feed>"
        )
    else:
        body = (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>F</title><item>"
            f"<title>{title}</title><guid>g</guid><description>{description}</description></item></channel></rss>"
        )
    buffered, plain = _parse_both(body.encode("utf-8", "surrogatepass"), monkeypatch)
    assert buffered == plain
