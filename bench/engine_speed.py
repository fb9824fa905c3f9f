"""Story-engine cost without the rest of ingest: features per article, and placement per article as the
number of placed articles grows.

    python -m bench.engine_speed [--articles 15000] [--segment 20000] [--scale 10000,100000,1000000]

Articles come from bench._genfeeds (real prose, ~30% re-reports). Features are timed on one core. Placement
runs the engine in memory in chunks of newswatch.placement.CHUNK, in time order, as ingest does. For the scale
points, features of 20,000 articles are computed once and replayed with new ids and later dates (each replay
shifted past the story window, so replays are new events), so a million placements cost no feature work;
at each point the next chunk's placement is timed (per article, CPU seconds), with the process's peak RSS.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bench._genfeeds import articles
from newswatch.placement import CHUNK, SETTINGS
from stories.engine import PlaceInput, StoryEngine
from stories.features import extract_features


def _inputs(n: int) -> tuple[list[PlaceInput], float]:
    rows = list(articles(n))
    started = time.process_time()
    feats = [extract_features(r["title"], r["body"]) for r in rows]
    per_article = (time.process_time() - started) / n
    inputs = [
        PlaceInput(i + 1, datetime.fromisoformat(r["published"]).timestamp(), True, f)
        for i, (r, f) in enumerate(zip(rows, feats, strict=True))
    ]
    inputs.sort(key=lambda p: (p.published, p.article_id))
    return inputs, per_article


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=15000)
    ap.add_argument("--scale", default="", help="comma-separated stored sizes, e.g. 10000,100000,1000000")
    ap.add_argument(
        "--segment",
        type=int,
        default=0,
        help="also print the cost of each SEGMENT articles (as the window fills)",
    )
    args = ap.parse_args(argv)

    inputs, feature_cost = _inputs(args.articles)
    print(f"features: {feature_cost * 1e6:.0f} µs CPU per article ({1 / feature_cost:.0f}/s per core)")
    engine = StoryEngine(SETTINGS)
    started = time.process_time()
    stories: set[int] = set()
    marks = [started]
    for start in range(0, len(inputs), CHUNK):
        result = engine.place(inputs[start : start + CHUNK])
        stories.update(p.story_id for p in result.placements)
        if args.segment and (start + CHUNK) % args.segment == 0:
            marks.append(time.process_time())
    took = time.process_time() - started
    if len(marks) > 1:
        costs = [(b - a) / args.segment * 1e6 for a, b in itertools.pairwise(marks)]
        print(
            f"placement per {args.segment:,} articles placed, µs CPU each: "
            + ", ".join(f"{c:.0f}" for c in costs)
        )
    print(
        f"placement: {len(inputs)} articles in {took:.2f} s CPU = {len(inputs) / took:.0f} articles/s "
        f"({took / len(inputs) * 1e6:.0f} µs each), chunks of {CHUNK}; peak RSS {_rss_mib():.0f} MiB"
    )
    if not args.scale:
        return 0

    sizes = sorted(int(x) for x in args.scale.split(","))
    base, _ = _inputs(20000)
    span = base[-1].published - base[0].published + SETTINGS.max_story_span_seconds * 2
    engine = StoryEngine(SETTINGS)
    placed = 0
    next_id = 1

    def chunk_of(count: int) -> list[PlaceInput]:
        nonlocal next_id, placed
        out = []
        for _ in range(count):
            round_, k = divmod(placed, len(base))
            item = base[k]
            out.append(replace(item, article_id=next_id, published=item.published + round_ * span))
            next_id += 1
            placed += 1
        return out

    print("\n| stored | µs CPU per article placed | peak RSS MiB |\n|---|---|---|")
    for size in sizes:
        while placed < size:
            engine.place(chunk_of(min(CHUNK, size - placed)))
        probe = chunk_of(CHUNK)
        started = time.process_time()
        engine.place(probe)
        cost = (time.process_time() - started) / len(probe)
        print(f"| {size:,} | {cost * 1e6:.0f} | {_rss_mib():.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
