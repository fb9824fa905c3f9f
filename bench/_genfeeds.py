"""Seeded article streams with real prose and real story structure, for the ingest benchmarks.

    python -m bench._genfeeds OUT.jsonl N [--seed 42] [--days 30]

The same recipe as ../shared/tools/genfeeds.py, written as one .jsonl file (guid, title, body, url, source,
published in ISO 8601) that `newswatch ingest` reads as a path source: bodies are real sentences (ECB+ articles),
titles real headlines (UCI News Aggregator). About 30% of the articles report one of the ECB+ articles again (a
copy, or a rewrite keeping ~70% of its sentences), dated within 12 hours of that article's own date, so copies
and multi-outlet stories exist; the rest are one-off articles of 6-15 random sentences under a random headline.
Streamed line by line, so a million articles need no more memory than a thousand. As in genfeeds.py, the
one-offs draw from one pool (~14k sentences, ~6.4k headlines), so unrelated one-offs share sentences: at 100k
articles each sentence recurs in ~50 of them, at 1M in ~500.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("NEWSWATCH_EVAL", ROOT.parent / "shared" / "eval"))
ECB_DOCS = EVAL / "stories" / "ecbplus" / "ecbplus_docs.jsonl"
UCI_HEADS = EVAL / "stories" / "uci-news-aggregator" / "uci-news-aggregator.head.csv"

REREPORT_SHARE = 0.3
OUTLETS = 300


def _detokenize(sentence: str) -> str:
    """ECB+ text is tokenized ("word , word `` quote ''"); put the punctuation back where prose has it."""
    s = sentence.replace("`` ", '"').replace(" ''", '"').replace("``", '"').replace("''", '"')
    s = re.sub(r" ([.,;:!?%)\]}])", r"\1", s)
    s = re.sub(r"([(\[{$]) ", r"\1", s)
    return re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", s)


def load_sources(ecb: Path = ECB_DOCS, uci: Path = UCI_HEADS) -> tuple[list[list[str]], list[str], list[str]]:
    """(ECB+ articles as lists of sentences, all their sentences, UCI headlines)."""
    docs: list[list[str]] = []
    with ecb.open(encoding="utf-8") as fh:
        for line in fh:
            lines = json.loads(line)["text"].split("\n")
            # Drop the URL line and short metadata lines (dates, bylines): keep sentences.
            sentences = [_detokenize(x) for x in lines if len(x) > 40 and not x.startswith(("http", "www"))]
            if len(sentences) >= 3:
                docs.append(sentences)
    with uci.open(encoding="utf-8", newline="") as fh:
        heads = [row["TITLE"] for row in list(csv.DictReader(fh))[:-1] if row.get("TITLE")]
    return docs, [s for d in docs for s in d], heads


def articles(n: int, *, seed: int = 42, days: int = 30) -> Iterator[dict[str, str]]:
    """`n` article dicts, in arrival order (the order of generation, not of date, as in a real crawl)."""
    docs, pool, heads = load_sources()
    rng = random.Random(seed)
    start = datetime(2024, 10, 1, tzinfo=UTC)
    event_time = [start + timedelta(days=rng.randrange(days), hours=rng.randrange(24)) for _ in docs]
    for i in range(n):
        outlet = rng.randrange(OUTLETS)
        if rng.random() < REREPORT_SHARE:
            k = rng.randrange(len(docs))
            if rng.random() < 0.4:
                sentences = docs[k]  # a copy (syndicated wire text)
            else:
                sentences = [s for s in docs[k] if rng.random() < 0.7] or docs[k][:3]  # a rewrite
            title = sentences[0][:110]
            when = event_time[k] + timedelta(minutes=rng.randrange(-720, 720))
        else:
            sentences = rng.sample(pool, rng.randint(6, 15))
            title = rng.choice(heads)
            when = start + timedelta(days=rng.randrange(days), minutes=rng.randrange(1440))
        yield {
            "guid": f"a{i}",
            "title": title,
            "body": "\n\n".join(sentences),
            "url": f"https://outlet{outlet}.example/news/{i}",
            "source": f"Outlet {outlet}",
            "published": when.isoformat(),
        }


def write_jsonl(path: Path, n: int, *, seed: int = 42, days: int = 30) -> int:
    """Write `n` articles to `path`, one JSON object a line; returns the bytes written."""
    written = 0
    with open(path, "w", encoding="utf-8") as fh:
        for article in articles(n, seed=seed, days=days):
            line = json.dumps(article, ensure_ascii=False) + "\n"
            fh.write(line)
            written += len(line.encode("utf-8"))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    size = write_jsonl(args.out, args.n, seed=args.seed, days=args.days)
    print(f"{args.out}: {args.n:,} articles, {size / 1e6:,.1f} MB")


if __name__ == "__main__":
    main()
