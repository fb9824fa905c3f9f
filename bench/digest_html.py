"""The HTML digest in a real browser: headless Debian chromium renders the page to a PNG for a person to look at.

    apt-get install -y chromium
    python -m bench.digest_html [--out /tmp/newswatch-digest]     # writes digest.html, digest.png, dom.html

A temporary project (a .jsonl source with a three-outlet wire story, hostile headlines with <script>, markup
and escape sequences, a right-to-left headline, zero-width characters and an undated story) is ingested by
the real `newswatch ingest`, then `newswatch digest --format html` writes the page. Chromium runs with every
host name unresolvable, renders a screenshot, and dumps the DOM after load; the script checks that the DOM
holds no element the page did not write itself (no <script>, <img>, <iframe>) and prints what it found. The
screenshot is not checked in anywhere: open it and look.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from testkit.cli import newswatch_command
from testkit.sample_config import SAMPLE_TOPICS

CONFIG = (
    """
[[sources]]
name = "Wires"
path = "wires.jsonl"
"""
    + SAMPLE_TOPICS
    + """
[topics.World]
query = "world OR العالم"
"""
)

WIRE = (
    "North Korean troops have been deployed to the Kursk region, officials in Seoul said on Tuesday. "
    "The deployment of about 11,000 soldiers drew condemnation from Western capitals. "
    "The European Union said it would prepare new sanctions on Russia over the cooperation."
)


def _articles(now: datetime) -> list[dict[str, str]]:
    def at(hours: float) -> str:
        return (now - timedelta(hours=hours)).isoformat(timespec="seconds")

    items = [
        {
            "guid": f"wire-{o}",
            "title": "North Korean troops deployed to Kursk",
            "body": WIRE,
            "source": o,
            "url": f"https://example.org/wire/{o.split()[0].lower()}",
            "published": at(h),
        }
        for o, h in (("Alpha News", 5), ("Beta Daily", 4.5), ("Gamma Times", 4))
    ]
    items += [
        {
            "guid": "hostile",
            "title": "<script>alert('x')</script> [bold]World[/] **cup** \u001b[2J\u001b]0;pwned\u0007 & <img src=x onerror=alert(1)>",
            "body": "<iframe src=https://evil.example/></iframe> The world cup qualifier ended 2-1. \u202eReversed\u202c text "
            "and zw\u200bsp were in this feed. A second sentence.",
            "source": "Theta <i>Mag</i>",
            "url": "javascript:alert(1)",
            "published": at(2),
        },
        {
            "guid": "rtl",
            "title": "مرحبا بالعالم: افتتاح معرض الكتاب في القاهرة",
            "body": "افتتح معرض القاهرة الدولي للكتاب أبوابه اليوم. يشارك في المعرض ناشرون من العالم.",
            "source": "الأهرام",
            "url": "https://example.org/ar/1",
            "published": at(3),
        },
        {
            "guid": "oil",
            "title": "EU agrees sanctions on Russian oil tankers",
            "body": "European ministers agreed sanctions on a fleet of tankers carrying Russian oil. "
            "The measures take effect next month. Moscow called them illegal.",
            "source": "Epsilon Post",
            "url": "https://example.org/oil",
            "published": at(6),
        },
        {
            "guid": "grain",
            "title": "Kremlin says grain exports will grow despite sanctions",
            "body": "The Kremlin said wheat exports would grow next season despite Western sanctions, citing a "
            "record harvest in the Volga region.",
            "source": "Iota Journal",
            "url": "https://example.org/grain",
        },
    ]
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/newswatch-digest"))
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--height", type=int, default=1500)
    args = parser.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium not found: apt-get install -y chromium", file=sys.stderr)
        return 1
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "wires.jsonl").write_text(
        "\n".join(json.dumps(item, ensure_ascii=False) for item in _articles(datetime.now(UTC))) + "\n",
        encoding="utf-8",
    )
    config, db = out / "config.toml", out / "news.db"
    config.write_text(CONFIG, encoding="utf-8")
    subprocess.run(newswatch_command(config, db, "ingest", "--quiet"), check=True)
    page = subprocess.run(
        newswatch_command(config, db, "digest", "--format", "html"),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    html_path = out / "digest.html"
    html_path.write_text(page, encoding="utf-8")
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        # Nothing may be fetched: every host name fails to resolve, so an external asset would show as broken.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--window-size={args.width},{args.height}",
    ]
    png = out / "digest.png"
    subprocess.run([*common, f"--screenshot={png}", html_path.as_uri()], check=True, capture_output=True)
    dom = subprocess.run(
        [*common, "--dump-dom", html_path.as_uri()], check=True, capture_output=True, text=True
    ).stdout
    (out / "dom.html").write_text(dom, encoding="utf-8")
    tags = sorted(set(re.findall(r"<([a-z][a-z0-9]*)", dom)))
    foreign = [tag for tag in tags if tag in {"script", "img", "iframe", "object", "embed", "link", "b", "i"}]
    print(f"page: {html_path} ({len(page):,} bytes); screenshot: {png} ({png.stat().st_size:,} bytes)")
    print(f"elements in the DOM after load: {', '.join(tags)}")
    print(f"elements the feed text tried to add: {', '.join(foreign) or 'none'}")
    invisible = bool(re.search("[\x1b\x07\u202e\u200b]", page))
    print(f"escape, bidi-override or zero-width characters in the page: {invisible}")
    return 1 if foreign else 0


if __name__ == "__main__":
    sys.exit(main())
