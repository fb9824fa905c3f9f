"""read_opml / write_opml: nesting, tolerance, refusal of DOCTYPE and non-http(s) URLs, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.opml import OpmlError, read_opml, write_opml

NEWSBOAT = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "eval"
    / "feeds"
    / "newsboat-testdata"
    / "test"
    / "data"
)
needs_newsboat = pytest.mark.skipif(not NEWSBOAT.is_dir(), reason=f"eval data not present at {NEWSBOAT}")


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "feeds.opml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_nested_outlines_and_names(tmp_path):
    path = write(
        tmp_path,
        """<?xml version="1.0"?><opml version="2.0"><head/><body>
        <outline text="World"><outline text="Wire" title="Wire Service" xmlUrl="https://wire.example/rss"/>
          <outline text="Deeper"><outline text="Gazette" xmlUrl="http://gazette.example/feed"/></outline></outline>
        <outline title="" text="" xmlUrl="https://untitled.example/news/feed.xml"/>
        <outline text="Wire Service" xmlUrl="https://other.example/rss"/>
        <outline text="dup" xmlUrl="https://wire.example/rss"/>
        </body></opml>""",
    )
    assert read_opml(path) == [
        ("Wire Service", "https://wire.example/rss"),
        ("Gazette", "http://gazette.example/feed"),
        ("untitled.example/news/feed.xml", "https://untitled.example/news/feed.xml"),
        ("Wire Service (2)", "https://other.example/rss"),  # names stay unique; the duplicate URL is dropped
    ]


def test_commands_and_other_schemes_are_ignored(tmp_path):
    path = write(
        tmp_path,
        '<opml><body><outline text="cmd" xmlUrl="|rm -rf ~"/><outline text="exec" xmlUrl="exec:ls"/>'
        '<outline text="js" xmlUrl="javascript:alert(1)"/><outline text="ok" xmlUrl="https://ok.example/"/>'
        "</body></opml>",
    )
    assert read_opml(path) == [("ok", "https://ok.example/")]


def test_hostile_names_are_cleaned(tmp_path):
    # XML 1.0 forbids ESC even as &#x1b;, so expat already refuses that; bidi and zero-width remain.
    path = write(
        tmp_path,
        '<opml><body><outline text="A&#x202e;B&#x200b;C [b]x[/]" xmlUrl="https://x.example/"/></body></opml>',
    )
    assert read_opml(path) == [("ABC [b]x[/]", "https://x.example/")]


def test_bad_xml_is_a_one_line_error_naming_the_file(tmp_path):
    path = write(tmp_path, "<opml><body><outline text='x'")
    with pytest.raises(OpmlError) as caught:
        read_opml(path)
    message = str(caught.value)
    assert str(path) in message and "line 1" in message and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(OpmlError, match="cannot read"):
        read_opml(tmp_path / "absent.opml")


def test_doctype_is_refused_so_entities_never_expand(tmp_path):
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<opml><body><outline text="&b;" xmlUrl="https://x.example/"/></body></opml>'
    )
    with pytest.raises(OpmlError, match="DOCTYPE"):
        read_opml(write(tmp_path, laughs))


def test_round_trip(tmp_path):
    feeds = [("A & B <news>", "https://a.example/rss?x=1&y=2"), ("Ünïcode", "http://u.example/feed")]
    text = write_opml(feeds)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert read_opml(write(tmp_path, text)) == feeds


def test_write_drops_control_characters(tmp_path):
    text = write_opml([("bad\x00\x1b[2Jname", "https://x.example/")])
    assert "\x00" not in text and "\x1b" not in text
    assert read_opml(write(tmp_path, text)) == [("badname", "https://x.example/")]


@needs_newsboat
def test_newsboat_example():
    feeds = read_opml(NEWSBOAT / "example.opml")
    assert ("example.com website", "https://example.com/feed.xml") in feeds
    assert ("John's musings", "https://blogs.example.com/~john/posts.rss") in feeds  # nested in a folder
    assert len(feeds) == 7


@needs_newsboat
def test_newsboat_tolerance():
    assert read_opml(NEWSBOAT / "body-element-missing.opml") == []
    assert len(read_opml(NEWSBOAT / "opml-element-missing.opml")) == 2  # wrong root: outlines still read
    assert read_opml(NEWSBOAT / "piped.opml") == [
        ("example.com website (Atom feed)", "https://example.com/feed.atom")
    ]


@needs_newsboat
def test_every_newsboat_opml_reads_or_fails_cleanly():
    for path in sorted(NEWSBOAT.glob("*.opml")):
        try:
            feeds = read_opml(path)
        except OpmlError as error:
            assert "\n" not in str(error)
            continue
        assert all(url.startswith(("http://", "https://")) for _, url in feeds)
