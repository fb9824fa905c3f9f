"""Story grouping on real data (seeds, ECB+, UCI headlines) and synthetic scale.

    python -m bench.stories_eval            # quality table + 100k throughput + 10k/100k placement cost
    python -m bench.stories_eval --sweep    # also the threshold sensitivity sweep
    python -m bench.stories_eval --cheap --scale 10000 100000 1000000   # cost up to 1M stored

The eval data is read in place from ../shared/eval (or $NEWSWATCH_EVAL); what is absent is skipped.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import random
import re
import resource
import sys
import time
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from feeds.files import read_path
from feeds.records import UNCERTAIN_DATE_ORIGINS
from stories import GroupingSettings, GroupInput, StoryGrouper
from stories.text import tokenize

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("NEWSWATCH_EVAL", ROOT.parent / "shared" / "eval"))
ECB_PATH = EVAL / "stories" / "ecbplus" / "ecbplus_docs.jsonl"
UCI_PATH = EVAL / "stories" / "uci-news-aggregator" / "uci-news-aggregator.head.csv"
SEEDS_DIR = ROOT / "seeds"

# ---------------------------------------------------------------------------------------------- data


def load_seeds(seeds_dir: Path = SEEDS_DIR) -> list[GroupInput]:
    """The bundled seed articles as the real file reader gives them (titles, bodies, dates and whether
    those dates are certain), numbered in file-name order like an ingest of the folder."""
    out = []
    for i, path in enumerate(sorted(seeds_dir.glob("*.txt")), start=1):
        result = read_path(path, default_outlet=path.stem)
        if not result.records:
            raise RuntimeError(result.error or f"{path}: no article")
        record = result.records[0]
        certain = record.date_origin not in UNCERTAIN_DATE_ORIGINS
        out.append(GroupInput(i, record.title, record.body, path.stem, record.published, certain))
    return out


def seeds_as_stated(story_of: dict[int, int]) -> bool:
    """Seed article id (1-5, file order) -> story id: 000-003 one story, 004 another."""
    return story_of[1] == story_of[2] == story_of[3] == story_of[4] != story_of[5]


def seed_orders_failing(settings: GroupingSettings | None = None) -> int:
    """Of the 120 orders the five seeds could arrive in, how many do not give {000-003}, {004}."""
    failing = 0
    for order in itertools.permutations(load_seeds()):
        grouper = StoryGrouper(settings)
        for a in order:
            grouper.place(a)
        failing += not seeds_as_stated(grouper.stories_of([a.article_id for a in order]))
    return failing


_MONTH_RE = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\b\d{4}\s*-\s*\d{1,2}\s*-\s*\d{1,2}\b",
    re.I,
)


def detokenize(text: str) -> str:
    text = text.replace("``", '"').replace("''", '"')
    text = re.sub(r" ([,.;:!?%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{$]) ", r"\1", text)
    text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)
    text = re.sub(r'" (.*?) "', r'"\1"', text)
    return text


def _is_url_line(line: str) -> bool:
    return line.startswith("http") or line.startswith("www .")


def _is_date_line(line: str) -> bool:
    # Metadata lines ("Published : November 28 , 2005", "Thu Nov 10 , 2011 3 : 00pm EST"): short,
    # a month and a number, and not a sentence.
    return (
        len(line.split()) <= 16
        and bool(_MONTH_RE.search(line))
        and bool(re.search(r"\d", line))
        and not line.rstrip().endswith(".")
    )


def ecb_article(text: str) -> tuple[str, str]:
    lines = [line for line in text.split("\n") if line.strip()]
    if lines and _is_url_line(lines[0]):
        lines = lines[1:]
        head = [line for line in lines[:4] if not _is_date_line(line)]
        lines = head + lines[4:]
    lines = [detokenize(line) for line in lines]
    return (lines[0] if lines else ""), "\n".join(lines[1:])


def load_ecbplus(
    path: Path = ECB_PATH, stand_in: datetime | None = None
) -> list[tuple[GroupInput, str, int]]:
    """(article, gold story cluster, gold topic) in file order; every date uncertain and equal."""
    stand_in = stand_in or datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            d = json.loads(line)
            title, body = ecb_article(d["text"])
            out.append(
                (GroupInput(i + 1, title, body, d["doc_id"], stand_in, False), d["cluster_id"], d["topic"])
            )
    return out


def load_uci(path: Path = UCI_PATH) -> list[tuple[GroupInput, str]]:
    """(headline, gold STORY) in timestamp order (ties by ID), the cut-off last row dropped."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = [r for r in rows[:-1] if r.get("TIMESTAMP") and r.get("STORY")]
    rows.sort(key=lambda r: (int(r["TIMESTAMP"]), int(r["ID"])))
    out = []
    for r in rows:
        ts = datetime.fromtimestamp(int(r["TIMESTAMP"]) / 1000, tz=UTC)
        out.append((GroupInput(int(r["ID"]), r["TITLE"], "", r["PUBLISHER"], ts, True), r["STORY"]))
    return out


# ------------------------------------------------------------------------------------------ metrics


def bcubed(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> tuple[float, float, float]:
    """BCubed precision, recall, F1 (Bagga & Baldwin), averaged over items."""
    joint = Counter(zip(pred, gold, strict=True))
    psize = Counter(pred)
    gsize = Counter(gold)
    p = sum(n * n / psize[pc] for (pc, _), n in joint.items()) / len(pred)
    r = sum(n * n / gsize[gc] for (_, gc), n in joint.items()) / len(gold)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def group(articles: Sequence[GroupInput], settings: GroupingSettings | None = None) -> list[int]:
    """Each article's story once all are placed (a later article can merge two stories)."""
    grouper = StoryGrouper(settings)
    for a in articles:
        grouper.place(a)
    story_of = grouper.stories_of([a.article_id for a in articles])
    return [story_of[a.article_id] for a in articles]


# -------------------------------------------------------------------------------------- baselines


def _tfidf_matrix(texts: Sequence[str]) -> np.ndarray:
    """Plain TF-IDF (lowercased stemmed words, stopwords out, smooth IDF, L2 rows), batch."""
    docs = [Counter(t.term for t in tokenize(text, entities=False)) for text in texts]
    vocab = {t: i for i, t in enumerate(sorted({t for d in docs for t in d}))}
    m = np.zeros((len(docs), len(vocab)))
    for r, d in enumerate(docs):
        for t, c in d.items():
            m[r, vocab[t]] = c
    df = (m > 0).sum(axis=0)
    m *= np.log((1 + len(docs)) / (1 + df)) + 1
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return m / norms


def baseline_average_link(texts: Sequence[str], gold: Sequence[Hashable]) -> tuple[float, tuple]:
    """Batch TF-IDF cosine + average-link at one threshold; best threshold (an oracle for it)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    m = _tfidf_matrix(texts)
    z = linkage(pdist(m, "cosine"), method="average")
    best = (0.0, (0, 0, 0))
    for sim in np.arange(0.05, 0.6, 0.025):
        labels = fcluster(z, t=1 - sim, criterion="distance")
        res = bcubed(list(labels), gold)
        if res[2] > best[1][2]:
            best = (float(sim), res)
    return best


def baseline_single_pass(texts: Sequence[str], gold: Sequence[Hashable]) -> tuple[float, tuple]:
    """Single-pass TF-IDF centroid clustering (each item to the best centroid if cos >= t)."""
    m = _tfidf_matrix(texts)
    nz = [np.flatnonzero(row) for row in m]
    best = (0.0, (0, 0, 0))
    for sim in np.arange(0.05, 0.75, 0.05):
        # Dense centroids, but each headline only touches its own few columns.
        cent = np.zeros_like(m)
        norms = np.zeros(len(m))
        k = 0
        labels = []
        for row, cols in zip(m, nz, strict=True):
            j = -1
            if k and len(cols):
                cos = cent[:k][:, cols] @ row[cols] / norms[:k]
                j = int(np.argmax(cos))
                if cos[j] < sim:
                    j = -1
            if j < 0:
                j = k
                k += 1
            sq = norms[j] ** 2 + 2 * cent[j, cols] @ row[cols] + row[cols] @ row[cols]
            cent[j, cols] += row[cols]
            norms[j] = math.sqrt(sq) or 1.0
            labels.append(j)
        res = bcubed(labels, gold)
        if res[2] > best[1][2]:
            best = (float(sim), res)
    return best


# -------------------------------------------------------------------------------------- synthetic


class Synthetic:
    """Seeded synthetic news stream: stories of 1-30 articles over a few days, ~10% near-copies.

    `body_words` sets the cost: ~120 for realistic articles, ~30 for the cheap million-article fill.
    """

    def __init__(self, seed: int = 7, body_words: int = 120, per_day: int = 2000) -> None:
        self.rng = np.random.default_rng(seed)
        self.body_words = body_words
        self.per_day = per_day
        vocab = 40_000
        self.words = np.array([f"w{np.base_repr(i, 36).lower()}x" for i in range(vocab)])
        ranks = np.arange(1, vocab + 1)
        self.p = 1 / ranks**1.05
        self.p /= self.p.sum()
        self.next_id = 1
        self.start = datetime(2024, 1, 1, tzinfo=UTC)
        self.live: list[dict] = []
        self.history: list[GroupInput] = []

    def _story(self, t: float) -> dict:
        rng = self.rng
        names = [f"N{rng.integers(10**6):x}{rng.integers(10**6):x}" for _ in range(6)]
        topic = list(rng.choice(self.words[200:5000], size=15, replace=False))
        return {"names": names, "topic": topic, "t": t, "left": int(rng.integers(1, 30))}

    def _text(self, story: dict, n: int) -> list[str]:
        rng = self.rng
        k = int(n * 0.35)
        bg = list(self.words[rng.choice(len(self.words), size=n - k, p=self.p)])
        own = list(rng.choice(story["names"] + story["topic"], size=k))
        out = bg + own
        rng.shuffle(out)
        return out

    def __iter__(self):
        return self

    def __next__(self) -> GroupInput:
        rng = self.rng
        aid = self.next_id
        self.next_id += 1
        t = aid / self.per_day * 86400.0
        self.live = [s for s in self.live if s["left"] > 0 and t - s["t"] < 3 * 86400][-300:]
        if not self.live or rng.random() < 0.12:
            self.live.append(self._story(t))
        story = self.live[int(rng.integers(len(self.live)))]
        story["left"] -= 1
        when = self.start + timedelta(seconds=t)
        if story.get("last") is not None and rng.random() < 0.1:
            # A near-copy: the story's last article with a few words swapped.
            prev: GroupInput = story["last"]
            words = prev.body.split()
            for i in rng.choice(len(words), size=min(3, len(words)), replace=False):
                words[i] = str(self.words[int(rng.integers(len(self.words)))])
            art = GroupInput(aid, prev.title, " ".join(words), f"outlet{aid % 97}", when, True)
        else:
            title = " ".join(self._text(story, 9))
            sentences = self._text(story, self.body_words)
            body = ". ".join(" ".join(sentences[i : i + 12]) for i in range(0, len(sentences), 12)) + "."
            art = GroupInput(aid, title, body, f"outlet{aid % 97}", when, True)
        story["last"] = art
        return art


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale_run(sizes: Sequence[int], batch: int = 1000, cheap: bool = False) -> tuple[dict, list[dict]]:
    """One growing in-memory state: at each size, time placing `batch` new articles (per-article cost
    after N stored); the whole run gives the throughput. RSS, not tracemalloc (which slows it ~3x)."""
    gen = Synthetic(seed=5, body_words=30 if cheap else 120)
    grouper = StoryGrouper()
    rss0 = _rss_mib()
    stored = 0
    busy = 0.0
    points = []
    for size in sorted(sizes):
        fill = [next(gen) for _ in range(size - stored)]
        t0 = time.perf_counter()
        for a in fill:
            grouper.place(a)
        busy += time.perf_counter() - t0
        new = [next(gen) for _ in range(batch)]
        t0 = time.perf_counter()
        for a in new:
            grouper.place(a)
        dt = time.perf_counter() - t0
        busy += dt
        stored = size + batch
        points.append({"stored": size, "ms_per_article": dt / batch * 1000, "rss_mib": _rss_mib()})
    total = {"n": stored, "seconds": busy, "rate": stored / busy, "rss_growth_mib": _rss_mib() - rss0}
    return total, points


# ---------------------------------------------------------------------------------------- report


def _fmt(res: Sequence[float]) -> str:
    return "  ".join(f"{x:.3f}" for x in res)


def seeds_check(settings: GroupingSettings | None = None) -> tuple[bool, list]:
    grouper = StoryGrouper(settings)
    arts = load_seeds()
    placed = [grouper.place(a) for a in arts]
    ok = seeds_as_stated(grouper.stories_of([a.article_id for a in arts]))
    return ok, list(zip([a.outlet[:3] for a in arts], placed, strict=True))


def eval_ecb(settings: GroupingSettings | None = None, order_seed: int | None = None) -> dict:
    data = load_ecbplus()
    if order_seed is not None:
        random.Random(order_seed).shuffle(data)
    labels = group([a for a, _, _ in data], settings)
    return {
        "story": bcubed(labels, [c for _, c, _ in data]),
        "topic": bcubed(labels, [t for _, _, t in data]),
    }


def eval_uci(settings: GroupingSettings | None = None) -> tuple[float, float, float]:
    data = load_uci()
    return bcubed(group([a for a, _ in data], settings), [c for _, c in data])


SWEEP: list[tuple[str, tuple[float | int, ...]]] = [
    ("story_threshold", (0.09, 0.12, 0.15)),
    ("uncertain_margin", (0.13, 0.16, 0.19)),
    ("time_margin", (0.0, 0.3, 0.6, 0.9)),
    ("weekday_margin", (0.0, 0.15, 0.3)),
    ("link_weight", (0.15, 0.25, 0.35)),
    ("entity_boost", (2.0, 3.0, 4.0)),
    ("posting_cap", (32, 64, 256)),
    ("merge_threshold", (0.15, 0.25, 0.35, 1.0)),  # 1.0: never merge
    ("dated_lead_chars", (250, 400, 600)),
]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sweep", action="store_true", help="sensitivity of the two thresholds")
    ap.add_argument("--scale", type=int, nargs="*", default=[10_000, 100_000], help="stored sizes to time")
    ap.add_argument("--cheap", action="store_true", help="30-word synthetic bodies (for a 1M --scale run)")
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args(argv)
    settings = GroupingSettings()
    print(f"settings: {settings}\n")

    ok, placed = seeds_check(settings)
    print(f"seeds (000-003 one story, 004 another), file order: {'PASS' if ok else 'FAIL'}")
    print(f"  other arrival orders that split them otherwise: {seed_orders_failing(settings)} of 120")
    for name, p in placed:
        print(f"  {name}: story={p.story_id} duplicate_of={p.duplicate_of}")

    print("\n| data set | method | BCubed P | R | F1 |\n|---|---|---|---|---|")
    if ECB_PATH.exists():
        t0 = time.perf_counter()
        r = eval_ecb(settings)
        dt = time.perf_counter() - t0
        print(
            f"| ECB+ story (file order) | StoryGrouper incremental ({dt:.1f}s) | {_fmt(r['story'])} |".replace(
                "  ", " | "
            )
        )
        print(
            f"| ECB+ topic (file order) | StoryGrouper incremental | {_fmt(r['topic'])} |".replace(
                "  ", " | "
            )
        )
        for seed in (1, 2, 3):
            r2 = eval_ecb(settings, order_seed=seed)
            print(
                f"| ECB+ story (shuffle {seed}) | StoryGrouper incremental | {_fmt(r2['story'])} |".replace(
                    "  ", " | "
                )
            )
        if not args.no_baselines:
            data = load_ecbplus()
            texts = [f"{a.title}\n{a.body}" for a, _, _ in data]
            thr, res = baseline_average_link(texts, [c for _, c, _ in data])
            print(
                f"| ECB+ story | baseline batch TF-IDF average-link, best t={thr:.3f} | {_fmt(res)} |".replace(
                    "  ", " | "
                )
            )
            thr, res = baseline_average_link(texts, [t for _, _, t in data])
            print(
                f"| ECB+ topic | baseline batch TF-IDF average-link, best t={thr:.3f} | {_fmt(res)} |".replace(
                    "  ", " | "
                )
            )
    else:
        print(f"| ECB+ | skipped: {ECB_PATH} absent | | | |")
    if UCI_PATH.exists():
        t0 = time.perf_counter()
        r = eval_uci(settings)
        dt = time.perf_counter() - t0
        print(f"| UCI headlines | StoryGrouper incremental ({dt:.1f}s) | {_fmt(r)} |".replace("  ", " | "))
        if not args.no_baselines:
            data = load_uci()
            thr, res = baseline_single_pass([a.title for a, _ in data], [c for _, c in data])
            print(
                f"| UCI headlines | baseline single-pass TF-IDF centroid, best t={thr:.2f} | {_fmt(res)} |".replace(
                    "  ", " | "
                )
            )
    else:
        print(f"| UCI | skipped: {UCI_PATH} absent | | | |")

    if args.sweep and ECB_PATH.exists() and UCI_PATH.exists():
        print(
            "\nsensitivity: one setting moved at a time from the chosen ones (UCI has certain dates, so it meets"
            " story_threshold and time_margin; ECB+ is undated, so it meets story_threshold + uncertain_margin)"
        )
        print(
            "| setting | value | seeds (orders failing of 120) | ECB+ story F1 | ECB+ topic F1 | UCI F1 |"
            "\n|---|---|---|---|---|---|"
        )
        for name, values in SWEEP:
            for value in values:
                s = replace(settings, **{name: value})
                ok_s, _ = seeds_check(s)
                e = eval_ecb(s)
                u = eval_uci(s)
                chosen = " (chosen)" if getattr(settings, name) == value else ""
                print(
                    f"| {name} | {value}{chosen} | {'ok' if ok_s else 'FAIL'} ({seed_orders_failing(s)}) |"
                    f" {e['story'][2]:.3f} | {e['topic'][2]:.3f} | {u[2]:.3f} |"
                )

    if args.scale:
        total, points = scale_run(args.scale, cheap=args.cheap)
        gen = "cheap generator, 30-word bodies" if args.cheap else "120-word bodies"
        print(
            f"\nthroughput ({gen}): {total['n']:,} synthetic articles in {total['seconds']:.0f}s = "
            f"{total['rate']:,.0f} articles/s; max RSS grew by {total['rss_growth_mib']:,.0f} MiB (in-memory state)"
        )
        print("\n| stored articles | ms per new article (mean over 1,000) | max RSS MiB |\n|---|---|---|")
        for r in points:
            print(f"| {r['stored']:,} | {r['ms_per_article']:.2f} | {r['rss_mib']:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
