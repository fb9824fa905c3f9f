"""parse_feed over fixture files: formats, identity, text cleaning, hostile input, failure modes."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.html_text import html_to_text
from feeds.parse import MAX_ENTRIES, parse_feed
from feeds.records import DATE_FROM_FEED, DATE_FROM_FETCH

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
FETCHED = datetime(2024, 11, 10, 12, 0, tzinfo=UTC)
FEED_URL = "https://wire.example.com/feeds/world.xml"


def parse(name_or_bytes: str | bytes, **kwargs):
    body = name_or_bytes if isinstance(name_or_bytes, bytes) else (FIXTURES / name_or_bytes).read_bytes()
    kwargs.setdefault("url", FEED_URL)
    kwargs.setdefault("default_outlet", "Fallback Outlet")
    kwargs.setdefault("fetched_at", FETCHED)
    return parse_feed(body, **kwargs)


def all_text(result) -> str:
    parts = [result.feed_title, result.error or "", *result.warnings]
    for record in result.records:
        parts += [record.guid, record.title, record.body, record.url, record.author, record.outlet]
    return "\n".join(parts)


# --- formats -----------------------------------------------------------------------------------------


def test_rss20_fields():
    result = parse("rss20.xml")
    assert result.error is None
    assert result.feed_title == "Example Wire"
    assert result.ttl_seconds == 30 * 60
    first = result.records[0]
    assert first.guid == "wire-0001"
    assert first.title == "Leaders issue joint statement"
    assert first.url == "https://wire.example.com/news/2024/11/05/statement"  # resolved against the feed URL
    assert first.author == "Jane Reporter"
    # The configured source names the outlet, not the feed's <title>.
    assert first.outlet == "Fallback Outlet"
    assert first.published == datetime(2024, 11, 5, 13, 30, tzinfo=UTC)
    assert first.published.tzinfo is not None
    assert first.date_origin == DATE_FROM_FEED
    # content:encoded is longer than the description, so it wins; scripts and styles are gone.
    assert first.body == "First paragraph with bold & more.\n\nSecond paragraph.\n\none\ntwo"
    assert "alert" not in first.body


def test_rss091_with_netscape_doctype():
    result = parse("rss091.xml")
    assert result.error is None
    assert result.feed_title == "Café Gazette"
    [record] = result.records
    assert record.title == "Réunion du conseil"
    assert record.guid == "http://gazette.example.org/reunion"  # no guid: the link stands in
    assert record.date_origin == DATE_FROM_FETCH
    assert record.published == FETCHED


def test_rdf10():
    result = parse("rdf10.xml")
    assert result.error is None
    assert result.feed_title == "RDF Daily"
    assert [r.title for r in result.records] == ["First RDF item", "Second RDF item"]
    assert result.records[1].published == datetime(2024, 11, 6, 8, 0, tzinfo=UTC)


def test_atom():
    result = parse("atom.xml")
    assert result.error is None
    first, second = result.records
    assert first.title == "Troops deployed"  # type="html" title rendered to text
    assert first.body == "Heading\n\nLonger body text from content."
    assert first.author == "A. Writer"
    assert first.published == datetime(2024, 11, 7, 14, 15, tzinfo=UTC)
    assert first.updated == datetime(2024, 11, 7, 11, 0, tzinfo=UTC)
    # No <published>: the entry's updated date stands in, still a feed date.
    assert second.published == datetime(2024, 11, 8, tzinfo=UTC)
    assert second.date_origin == DATE_FROM_FEED
    assert second.body == "Plain <b> text stays literal"


def test_declared_latin1_decodes_and_keeps_curly_quotes():
    result = parse("latin1_declared.xml")
    [record] = result.records
    assert record.title == "Café crème"
    assert record.body == "\u201cquoted\u201d"  # windows-1252 bytes 0x93/0x94, as browsers read ISO-8859-1


def test_utf8_bytes_behind_a_wrong_http_charset_are_not_mojibake():
    body = '<rss version="2.0"><channel><title>Zürich Ärger</title></channel></rss>'.encode()
    result = parse(body, response_headers={"Content-Type": "text/xml; charset=ISO-8859-1"})
    assert result.feed_title == "Zürich Ärger"
    assert any("charset" in w for w in result.warnings)


def test_http_charset_is_used_when_the_document_declares_nothing():
    body = '<rss version="2.0"><channel><title>Пример</title></channel></rss>'.encode("koi8-r")
    result = parse(body, response_headers={"content-type": "application/rss+xml; charset=KOI8-R"})
    assert result.feed_title == "Пример"


def test_feed_without_title_uses_default_outlet():
    body = b'<rss version="2.0"><channel><item><title>T</title><guid>g</guid></item></channel></rss>'
    result = parse(body)
    assert result.feed_title == ""
    assert result.records[0].outlet == "Fallback Outlet"


def test_the_feed_title_names_the_outlet_only_without_a_configured_one():
    body = b'<rss version="2.0"><channel><title>News</title><item><title>T</title><guid>g</guid></item></channel></rss>'
    assert parse(body).records[0].outlet == "Fallback Outlet"
    assert parse(body, default_outlet="").records[0].outlet == "News"


def test_item_source_names_the_outlet_in_aggregator_feeds():
    body = (
        b'<rss version="2.0"><channel><title>Aggregator</title><item><title>T</title><guid>g</guid>'
        b'<source url="https://reuters.example/rss">Reuters</source></item></channel></rss>'
    )
    assert parse(body).records[0].outlet == "Reuters"


# --- identity ----------------------------------------------------------------------------------------


def test_guid_fallbacks_and_stability():
    first = parse("rss20.xml").records
    again = parse("rss20.xml", fetched_at=FETCHED + timedelta(days=3)).records
    assert first[1].guid == "https://wire.example.com/news/2"  # no guid: the link
    hashed = first[2].guid
    assert hashed.startswith("hash:") and len(hashed) == 5 + 32
    assert [r.guid for r in first] == [r.guid for r in again]  # stable across polls
    # The hash follows title, link and published: a changed title is a different entry.
    changed = (FIXTURES / "rss20.xml").read_bytes().replace(b"Neither guid nor link", b"Edited title")
    assert parse(changed).records[2].guid != hashed


def test_repeated_guid_is_made_unique_and_exact_duplicates_dropped():
    item = "<item><title>{}</title><guid>https://site.example/</guid></item>"
    body = ("<rss version='2.0'><channel>" + item.format("A") + item.format("B") + item.format("B")).encode()
    result = parse(body + b"</channel></rss>")
    guids = [r.guid for r in result.records]
    assert len(guids) == 2 and len(set(guids)) == 2
    assert any("duplicate" in w for w in result.warnings)


def test_dangerous_links_dropped():
    records = {r.guid: r for r in parse("rss20.xml").records}
    assert records["wire-0004"].url == ""
    assert records["wire-0005"].url == ""


def test_entries_capped():
    items = "".join(f"<item><title>t{n}</title><guid>g{n}</guid></item>" for n in range(MAX_ENTRIES + 10))
    result = parse(f"<rss version='2.0'><channel><title>Big</title>{items}</channel></rss>".encode())
    assert len(result.records) == MAX_ENTRIES
    assert any("kept the first" in w for w in result.warnings)


def test_title_length_capped():
    body = f"<rss version='2.0'><channel><item><title>{'word ' * 2000}</title><guid>g</guid></item>"
    title = parse((body + "</channel></rss>").encode()).records[0].title
    assert len(title) <= 501


# --- HTML to text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("line<br>break", "line\nbreak"),
        ("x &amp; y &lt;z&gt; &eacute; &#8212;", "x & y <z> é —"),
        ("<div>one\n   two</div><script>var a = '<p>';</script><style>b{}</style>", "one two"),
        ("<ul><li>a</li><li>b</li></ul>", "a\nb"),
        ("<table><tr><td>1</td><td>2</td></tr></table>", "1 2"),
        ("no markup at all", "no markup at all"),
        ("<p>&#27;[2Jescape</p>", "escape"),
    ],
)
def test_html_to_text(html, text):
    assert html_to_text(html) == text


def test_html_to_text_deep_nesting_never_reaches_the_html_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    # lexbor's work grows with the square of the nesting depth (100k nested divs took ~23 s): so deep a
    # fragment takes the linear path. Asserted by what runs, not by a clock (the machine is shared).
    import feeds.html_text

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the HTML parser was handed a fragment nested 100,000 deep")

    monkeypatch.setattr(feeds.html_text, "LexborHTMLParser", refuse)
    assert html_to_text("<div>" * 100_000 + "deep <b>text</b>" + "</div>" * 100_000) == "deep text"


def test_a_processing_instruction_in_a_summary_costs_nothing_but_itself():
    # lexbor gives <?php …?> a node without a tag; the item was dropped ("entry 1: skipped").
    assert html_to_text("<p>Before <?php echo 1; ?>after.</p><?pi x?><p>Next</p>") == "Before after.\n\nNext"


def test_html_to_text_caps_length():
    assert len(html_to_text("<p>" + "word " * 100_000 + "</p>", max_chars=1000)) <= 1001


# --- hostile input -----------------------------------------------------------------------------------


def test_hostile_titles_are_plain_text():
    result = parse("hostile.xml")
    titles = [r.title for r in result.records]
    assert titles[0] == "Clear screen"  # ESC [2J gone with its parameters (feedparser made &#27; a real ESC)
    assert titles[1] == "Clipboard write"  # OSC 52 gone whole
    assert titles[2] == "[bold]x[/] and [@click=app.quit]y[/]"  # markup-like text is kept literally
    assert titles[3] == "Null byte and bidi desrever"
    assert result.records[3].body == "Body red text"
    assert result.feed_title == "Hostile Outlet"
    for text in (all_text(result),):
        assert "\x1b" not in text and "\x00" not in text and "\u202e" not in text and "\x07" not in text


def test_billion_laughs_does_not_expand():
    # Bounded by what is held, not by a clock (the machine is shared): nothing expanded, little memory.
    tracemalloc.start()
    result = parse("billion_laughs.xml")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    assert "lollol" not in all_text(result)
    assert len(result.records) == 1
    assert any("DOCTYPE internal subset removed" in w for w in result.warnings)


def test_xxe_does_not_read_local_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER-1f3a")
    for reference in (secret.as_uri(), str(secret), "file:///etc/passwd"):
        body = (
            f'<?xml version="1.0"?>\n<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "{reference}"> ]>\n'
            '<rss version="2.0"><channel><title>T &xxe;</title>'
            "<item><title>A &xxe; B</title><guid>x1</guid><description>&xxe;</description></item>"
            "</channel></rss>"
        ).encode()
        text = all_text(parse(body))
        assert "TOP-SECRET-MARKER" not in text
        assert "root:" not in text


def test_external_parameter_entity_is_not_fetched(tmp_path):
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "DTD-WAS-READ-77">')
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [ <!ENTITY % ext SYSTEM "{dtd.as_uri()}"> %ext; ]>'
        '<rss version="2.0"><channel><title>&leak;</title><item><title>&leak;</title><guid>1</guid></item>'
        "</channel></rss>"
    ).encode()
    assert "DTD-WAS-READ" not in all_text(parse(body))


def test_quadratic_blowup_is_closed():
    # feedparser keeps literal internal entities; this 100 KB document used to become 100 MB of text.
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * 100_000 + b'">\n]>\n'
        b'<rss version="2.0"><channel><title>t</title><item><title>x</title><guid>1</guid><description>'
        + b"&a;" * 1000
        + b"</description></item></channel></rss>"
    )
    tracemalloc.start()
    result = parse(body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    assert "AAAA" not in all_text(result)


def test_bytes_that_look_like_a_path_are_not_opened():
    # feedparser.parse(b"/etc/hostname") would open the file; we must treat it as content.
    result = parse(b"/etc/hostname")
    assert result.error == "not a feed (no XML markup)"
    assert result.records == []


# --- failures ------------------------------------------------------------------------------------------


def test_malformed_without_items_is_an_error():
    result = parse("malformed.xml")
    assert result.error is not None
    assert result.error.startswith("malformed XML: ")
    assert "(line " in result.error
    assert "\n" not in result.error


def test_bozo_with_items_keeps_items():
    result = parse("bozo_items.xml")
    assert result.error is None
    assert [r.guid for r in result.records] == ["s1", "s2"]
    assert result.records[0].title == "First item"
    assert any(w.startswith("malformed XML, read leniently") for w in result.warnings)


def test_html_page_is_not_a_feed():
    assert parse("html_page.html").error == "not a feed (got an HTML page)"
    page = b"<html><body><p>hello</p></body></html>"
    assert (
        parse(page, response_headers={"content-type": "text/html"}).error == "not a feed (got an HTML page)"
    )


@pytest.mark.parametrize("body", [b"", b"   \n\t "])
def test_empty_body(body):
    assert parse(body).error == "empty response"


def test_json_is_not_a_feed():
    assert parse(b'{"version": "https://jsonfeed.org/version/1"}').error.startswith("not a feed (got JSON")


def test_valid_empty_feed_is_not_an_error():
    result = parse(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>')
    assert result.error is None and result.records == [] and result.feed_title == "Quiet"


def test_naive_fetched_at_is_taken_as_utc():
    body = b'<rss version="2.0"><channel><item><title>t</title><guid>g</guid></item></channel></rss>'
    record = parse(body, fetched_at=datetime(2024, 1, 1, 12, 0)).records[0]
    assert record.published == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    other = parse(body, fetched_at=datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    assert other.records[0].published.utcoffset() is not None


@pytest.mark.parametrize(
    ("body", "error", "records"),
    [
        (b"\xff\xfe\x00", "not a feed (no XML markup)", 0),
        (b"<", "malformed XML: unclosed token (line 1)", 0),
        (b"<rss", "malformed XML: unclosed token (line 1)", 0),
        (b"<?xml?><rss><channel><item>", None, 1),
        (bytes(range(256)) * 10, "not a feed (no XML markup)", 0),
    ],
)
def test_garbage_gets_the_error_that_describes_it(body: bytes, error: str | None, records: int) -> None:
    # parse_feed turns its own crashes into "parser failed: …": a test that only checked it returned would
    # pass on a crash. Each input gets the one error that describes it.
    result = parse(body)
    assert result.error == error
    assert len(result.records) == records


# The errors bad input may get; "parser failed" (a crash caught by parse_feed) is not among them.
_EXPECTED_PARSE_ERRORS = ("empty response", "not a feed (", "malformed XML: ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            [
                "<rss>",
                "<channel>",
                "<item>",
                "<title>",
                "</title>",
                "</item>",
                "<!DOCTYPE x [",
                "]>",
                '<!ENTITY a "b">',
                "&a;",
                "&#27;",
                "<![CDATA[",
                "]]>",
                "<p>",
                "\x00",
                "\u202e",
                "é",
            ]
        )
        | st.text(max_size=20),
        max_size=40,
    )
)
def test_parse_feed_is_total(pieces):
    result = parse("".join(pieces).encode("utf-8", "surrogatepass"))
    # Total means no crash, including the ones parse_feed reports as "parser failed: …" instead of raising.
    if result.error is not None:
        assert result.error.startswith(_EXPECTED_PARSE_ERRORS), result.error
    for record in result.records:
        assert "\x1b" not in record.title + record.body and "\x00" not in record.title + record.body


def test_a_cyrillic_feed_labelled_utf8_is_read_as_cyrillic_with_a_warning() -> None:
    text = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Новости дня</title>'
        "<item><title>Москва и Киев: переговоры продолжаются</title><guid>1</guid>"
        "<description>Министр иностранных дел заявил сегодня, что переговоры продолжаются</description>"
        "</item></channel></rss>"
    )
    result = parse_feed(
        text.encode("cp1251"),
        url="http://127.0.0.1/feed",
        default_outlet="x",
        fetched_at=datetime(2024, 11, 5, tzinfo=UTC),
        response_headers={"content-type": "application/rss+xml; charset=utf-8"},
    )
    assert [r.title for r in result.records] == ["Москва и Киев: переговоры продолжаются"]
    assert any("detected cp1251" in warning for warning in result.warnings)


@pytest.mark.parametrize("codec", ["utf-16", "utf-8"])
def test_an_internal_entity_is_never_expanded_whatever_the_encoding(codec: str) -> None:
    # The DOCTYPE is found after decoding: a byte search would miss it in UTF-16.
    text = (
        f'<?xml version="1.0" encoding="{codec.upper()}"?>\n'
        '<!DOCTYPE rss [<!ENTITY u "INJECTED-BY-ENTITY">]>\n'
        '<rss version="2.0"><channel><title>T</title><item><title>a &u; b</title><guid>1</guid>'
        "<link>https://example.org/&u;</link></item></channel></rss>"
    )
    result = parse(text.encode(codec))
    assert len(result.records) == 1
    record = result.records[0]
    assert "INJECTED" not in record.title + record.url + record.body
    assert "DOCTYPE internal subset removed (entity declarations are not expanded)" in result.warnings
