"""`newswatch digest`: per topic, the period's stories by outlets then first report, once each, in four formats.

The database is built by a real `newswatch ingest` (a subprocess) over a .jsonl source written for the
test, dated relative to now; the digest runs as a real subprocess too (its own TZ), so exit codes and
stdout are what cron sees.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest import render
from digest.build import Digest, DigestSection, DigestStory
from digest.extract import lead_extract
from digest.markdown import md_escape
from feeds.records import DATE_FROM_FEED, DATE_FROM_FETCH
from newswatch.config import ConfigError, load_config
from testkit.sample_config import SAMPLE_TOPICS
from tests.conftest import run_newswatch

CONFIG = (
    """
[[sources]]
name = "Wires"
path = "wires.jsonl"
"""
    + SAMPLE_TOPICS
    + """
[topics.Football]
query = "football OR penalt*"
"""
)

# One wire story, reprinted by three outlets: DPRK troops, and sanctions on Russia (both topics).
WIRE = (
    "North Korean troops have been deployed to the Kursk region, officials in Seoul said on Tuesday. "
    "The deployment of about 11,000 soldiers drew condemnation from Western capitals. "
    "The European Union said it would prepare new sanctions on Russia over the cooperation. "
    "Analysts said the move marks a significant escalation of the war."
)
HOSTILE_TITLE = "<script>alert(1)</script> [bold]x[/] **y** `z` # Army team & <b>penalties</b>"


def _line(guid: str, title: str, body: str, outlet: str, hours_ago: float | None, **extra: str) -> str:
    item = {
        "guid": guid,
        "title": title,
        "body": body,
        "source": outlet,
        "url": f"https://example.org/{guid}",
    }
    if hours_ago is not None:
        item["published"] = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(timespec="seconds")
    item.update(extra)
    return json.dumps(item)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digest")
    lines = [
        _line("wire-a", "North Korean troops deployed to Kursk", WIRE, "Alpha News", 5),
        _line("wire-b", "North Korean troops deployed to Kursk", WIRE, "Beta Daily", 4),
        _line("wire-c", "North Korean troops deployed to Kursk", WIRE, "Gamma Times", 3),
        _line(
            "drill",
            "Pyongyang says its soldiers will join winter drills",
            "Pyongyang said on Monday that KPA soldiers would join the annual winter artillery drills on the "
            "snowy eastern coast. State television showed tanks crossing a frozen river and gunners firing "
            "at targets on small islands. Fishing boats were told to stay in port until the exercise ends in "
            "February, the harbour office in Wonsan said.",
            "Delta Wire",
            2,
        ),
        _line(
            "oil",
            "EU agrees sanctions on Russian oil tankers",
            "European ministers agreed sanctions on a fleet of tankers carrying Russian oil. "
            "The measures take effect next month. Moscow called them illegal.",
            "Epsilon Post",
            6,
        ),
        _line(
            "oil-2",
            "EU agrees sanctions on Russian oil tankers",
            "European ministers agreed sanctions on a fleet of tankers carrying Russian oil. "
            "The measures take effect next month. Moscow called them illegal.",
            "Zeta Herald",
            5.5,
        ),
        _line(
            "old",
            "North Korean troops seen at a port last month",
            "Satellite pictures showed North Korean troops at a port. The pictures were taken weeks ago.",
            "Eta Review",
            24 * 5,
        ),
        _line(
            "hostile",
            HOSTILE_TITLE,
            "<img src=x onerror=alert(1)> The army football team won the regional cup final in a penalty "
            "shoot-out, a [link](javascript:alert(1)) said. The goalkeeper saved three kicks, and the crowd "
            "in the stadium sang for an hour after the final whistle.",
            "Theta <i>Mag</i>",
            1,
        ),
        # No date at all: the file's time stands in, and the digest must say so.
        _line(
            "undated",
            "Kremlin says grain exports will grow despite sanctions",
            "The Kremlin said wheat and barley exports would grow next season despite Western sanctions, "
            "citing a record harvest in the Volga and Krasnodar regions. Traders in Rostov expect new "
            "buyers in Egypt and Turkey, and port elevators in Novorossiysk are being enlarged.",
            "Iota Journal",
            None,
        ),
    ]
    (root / "wires.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "config.toml").write_text(CONFIG, encoding="utf-8")
    ingest = run_newswatch(
        "--config", str(root / "config.toml"), "--db", str(root / "news.db"), "ingest", "-q"
    )
    assert ingest.status == 0, ingest.stderr
    return root


def page_tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every start tag of an HTML page with its attributes, as a browser's tokenizer reads them."""
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(page)
    return found


def digest(project: Path, *args: str, tz: str = "UTC") -> tuple[int, str, str]:
    run = run_newswatch(
        "--config", str(project / "config.toml"), "--db", str(project / "news.db"), "digest", *args, tz=tz
    )
    return run.status, run.stdout, run.stderr


def digest_json(project: Path, *args: str) -> dict:
    status, out, err = digest(project, "--format", "json", *args)
    assert status == 0, err
    assert len(out.splitlines()) == 1
    return json.loads(out)


def headlines(section: dict) -> list[str]:
    return [story["headline"] for story in section["stories"]]


def test_each_topic_lists_its_stories_by_outlets_once_under_the_first_topic(project: Path) -> None:
    data = digest_json(project)
    assert [section["topic"] for section in data["topics"]] == ["DPRK troops", "Russia sanctions", "Football"]
    dprk, sanctions, football = data["topics"]
    # The wire story (three outlets) first, then the one-outlet stories, newest first report first.
    assert headlines(dprk)[0] == "North Korean troops deployed to Kursk"
    wire = dprk["stories"][0]
    assert wire["outlet_count"] == 3 and wire["articles"] == 3
    assert wire["outlets"] == ["Alpha News", "Beta Daily", "Gamma Times"]  # the earliest report first
    assert wire["other_topics"] == ["Russia sanctions"]
    assert headlines(dprk)[1:] == ["Pyongyang says its soldiers will join winter drills"]
    assert headlines(football) == [HOSTILE_TITLE]
    # Older than 24 h: not in the digest.
    assert all("last month" not in h for h in headlines(dprk))
    # The wire story is in both topics but listed once, under the first; the second says so.
    # Two outlets before one; the undated story's stand-in date is the newest but ranks after.
    assert headlines(sanctions) == [
        "EU agrees sanctions on Russian oil tankers",
        "Kremlin says grain exports will grow despite sanctions",
    ]
    assert sanctions["listed_earlier"] == 1 and sanctions["matching"] == 3
    assert sanctions["stories"][0]["outlets"] == ["Epsilon Post", "Zeta Herald"]
    # The extract is the lead's first sentences, the link the lead's.
    assert wire["extract"].startswith("North Korean troops have been deployed to the Kursk region, officials")
    assert wire["extract"].count(". ") <= 1 and len(wire["extract"]) <= 320
    assert wire["url"].startswith("https://example.org/wire-")


def test_a_section_holds_what_the_stories_listing_holds(project: Path) -> None:
    data = digest_json(project, "--limit", "50")
    for section in data["topics"]:
        listed = run_newswatch(
            "--config",
            str(project / "config.toml"),
            "--db",
            str(project / "news.db"),
            "stories",
            "--topic",
            section["topic"],
            "--since",
            "24h",
            "--sort",
            "outlets",
            "--json",
        ).json_lines()
        earlier = {s["id"] for other in data["topics"] for s in other["stories"] if other is not section}
        expected = [story["id"] for story in listed if story["id"] not in earlier]
        assert [story["id"] for story in section["stories"]] == expected


def test_topic_order_limit_and_config_defaults(project: Path) -> None:
    data = digest_json(project, "--topic", "russia SANCTIONS", "--topic", "DPRK troops", "--limit", "1")
    sanctions, dprk = data["topics"]
    assert sanctions["topic"] == "Russia sanctions"  # the configured spelling
    # Now the wire story (three outlets) leads the first topic, sanctions, and is left out of the second.
    assert headlines(sanctions) == ["North Korean troops deployed to Kursk"]
    assert sanctions["left_out"] == 2
    assert dprk["listed_earlier"] == 1 and headlines(dprk) == [
        "Pyongyang says its soldiers will join winter drills"
    ]
    assert dprk["left_out"] == 0
    # [digest] settings are the defaults; the command line overrides them.
    config = project / "config.toml"
    config.write_text(
        CONFIG + '\n[digest]\ntopics = ["Russia sanctions"]\nperiod = "7d"\nformat = "markdown"\nlimit = 5\n',
        encoding="utf-8",
    )
    try:
        status, out, err = digest(project)
        assert status == 0, err
        assert out.startswith("# newswatch digest, last 7d \\(")
        # 7 days: the wire story, the oil story and the grain story; the port story is in DPRK troops only.
        assert "## Russia sanctions: 3 stories" in out and "## DPRK troops" not in out
        assert "North Korean troops seen at a port last month" not in out
        assert digest_json(project, "--since", "7d")["topics"][0]["topic"] == "Russia sanctions"
    finally:
        config.write_text(CONFIG, encoding="utf-8")


def test_dates_are_shown_as_elsewhere_and_stand_ins_are_marked(project: Path) -> None:
    data = digest_json(project)
    stories = {story["headline"]: story for section in data["topics"] for story in section["stories"]}
    undated = stories["Kremlin says grain exports will grow despite sanctions"]
    assert undated["first_seen_is_stand_in"] and undated["first_seen_shown"].startswith("~")
    status, tokyo, _ = digest(project, tz="Asia/Tokyo")
    assert status == 0
    wire = stories["North Korean troops deployed to Kursk"]
    # Local time, as the rest of the CLI shows it (TZ=Asia/Tokyo is UTC+9).
    first = datetime.fromisoformat(wire["first_seen"]).astimezone(UTC) + timedelta(hours=9)
    assert f"first seen {first:%Y-%m-%d %H:%M}, last seen " in tokyo
    assert "seen ~" in tokyo and "~ marks a stand-in date" in tokyo


def test_text_is_plain_and_html_is_self_contained_and_escaped(project: Path) -> None:
    status, text, _ = digest(project)
    assert status == 0
    assert "\x1b" not in text and "1. North Korean troops deployed to Kursk" in text
    assert HOSTILE_TITLE in text  # text is text: shown as written
    status, page, _ = digest(project, "--format", "html")
    assert status == 0 and page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower() and "<img" not in page.lower() and "<b>deploy" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Theta &lt;i&gt;Mag&lt;/i&gt;" in page
    # Nothing outside the page: the only URLs are the stories' own links, and the CSP forbids loading.
    assert "default-src 'none'" in page
    tags = page_tags(page)
    assert {tag for tag, _ in tags} <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p"} | {
        "ol",
        "li",
        "div",
        "a",
        "br",
    }
    assert all(
        name in {"lang", "charset", "http-equiv", "content", "name", "class", "dir", "href", "rel"}
        for _, attrs in tags
        for name, _ in attrs
    )
    links = [value for tag, attrs in tags if tag == "a" for name, value in attrs if name == "href"]
    assert len(links) == 5 and all(link.startswith("https://example.org/") for link in links)
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "url(" not in style and "@import" not in style
    status, markdown, _ = digest(project, "--format", "markdown")
    assert status == 0
    assert r"\<script\>alert\(1\)\</script\>" in markdown and r"\*\*y\*\*" in markdown
    assert "<script>" not in markdown and "[link](javascript" not in markdown


def test_hostile_text_from_another_writer_is_neutralised_in_every_format() -> None:
    """Stored text may predate the ingest sanitiser or come from another tool: every renderer cleans again."""
    evil = "Breaking\x1b[2J\x1b]0;pwned\x07 \u202eevil\u200b <script>x</script> [bold]b[/]\nnext"
    story = DigestStory(
        id=1,
        headline=evil,
        url="https://example.org/a?b=(c)&d=<e>",
        lead_outlet=evil,
        outlets=[evil, "مرحبا بالعالم"],
        outlet_count=2,
        size=2,
        first_seen="2024-11-05T14:05:00+00:00",
        last_seen="2024-11-06T14:05:00+00:00",
        first_origin=DATE_FROM_FEED,
        last_origin=DATE_FROM_FETCH,
        extract=evil,
        other_topics=[evil],
    )
    digest_data = Digest(
        datetime(2024, 11, 6, 15, tzinfo=UTC),
        datetime(2024, 11, 5, 15, tzinfo=UTC),
        None,
        "24h",
        [DigestSection(evil, [story], matching=1)],
    )
    for form in ("text", "markdown", "html", "json"):
        out = render(digest_data, form, utc=True)
        for bad in ("\x1b", "\x07", "\u202e", "\u200b", "pwned\x07"):
            assert bad not in out, (form, bad)
        assert "\nnext" not in out.replace("\n\n", "\n"), form  # a field never breaks a line
    page = render(digest_data, "html", utc=True)
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert 'href="https://example.org/a?b=(c)&amp;d=&lt;e&gt;"' in page
    assert '<div class="headline" dir="auto">' in page and "مرحبا بالعالم" in page
    markdown = render(digest_data, "markdown", utc=True)
    assert "(https://example.org/a?b=%28c%29&d=%3Ce%3E)" in markdown
    assert "last seen ~2024-11-06 14:05" in render(digest_data, "text", utc=True)


def test_markdown_escaping_keeps_text_text() -> None:
    assert md_escape("- a [x](y) **b** <s>") == r"\- a \[x\]\(y\) \*\*b\*\* \<s\>"
    assert md_escape("12. x") == r"12\. x" and md_escape("1999 was") == "1999 was"
    assert md_escape("# h") == r"\# h" and md_escape("a_b & c") == r"a\_b \& c"


def test_the_extract_skips_kickers_and_keeps_abbreviations() -> None:
    body = "NATO\nDec. 16 () –\nMr. Rutte met Gen. Smith in the U.S. on Monday. It was cold. A third one."
    assert lead_extract(body) == "Mr. Rutte met Gen. Smith in the U.S. on Monday. It was cold."
    assert lead_extract("Headline\nHeadline\nText one. Text two.", "Headline") == "Text one. Text two."
    long = "word " * 200
    cut = lead_extract(long)
    assert len(cut) <= 320 and cut.endswith("…")
    assert lead_extract("") == ""


def test_bad_input_gets_one_line_and_exit_2(project: Path, tmp_path: Path) -> None:
    status, out, err = digest(project, "--topic", "Nope")
    assert status == 2 and out == ""
    assert err.strip().count("\n") == 0 and "no topic named 'Nope'" in err
    status, _, err = digest(project, "--since", "yesterday")
    assert status == 2 and "--since" in err and err.strip().count("\n") == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(
        CONFIG + '\n[digest]\ntopics = ["Nope", 3]\nperiod = "soon"\nformat = "pdf"\nlimit = 0\ncolour = 1\n'
    )
    with pytest.raises(ConfigError) as raised:
        load_config(bad)
    problems = raised.value.problems
    assert all(problem.startswith(f"{bad}: digest.") and "\n" not in problem for problem in problems)
    text = "\n".join(problems)
    assert "digest.topics[0]: no topic named 'Nope' (known: DPRK troops, Russia sanctions, Football)" in text
    assert "digest.topics[1]: expected a topic name" in text
    assert "digest.period: expected a duration" in text
    assert "digest.format: expected one of text, markdown, html, json, got 'pdf'" in text
    assert "digest.limit: expected a positive number" in text
    assert "digest.colour: unknown key" in text
    run = run_newswatch("--config", str(bad), "--db", str(tmp_path / "x.db"), "digest")
    assert run.status == 2 and len(run.stderr.strip().splitlines()) == len(problems)
