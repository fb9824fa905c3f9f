"""Story grouping on real data (seeds, ECB+, UCI headlines) and synthetic scale.

    python -m bench.stories_eval            # quality table + 100k throughput + 10k/100k placement cost
    python -m bench.stories_eval --sweep    # also the threshold sensitivity sweep
    python -m bench.stories_eval --scale 10000 100000 1000000   # placement cost at these sizes

The eval data is read in place from ../shared/eval (or $NEWSWATCH_EVAL); what is absent is skipped.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections import Counter
from collections.abc import Hashable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from stories import GroupingSettings, GroupInput, StoryGrouper
from stories.text import tokenize

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("NEWSWATCH_EVAL", ROOT.parent / "shared" / "eval"))
ECB_PATH = EVAL / "stories" / "ecbplus" / "ecbplus_docs.jsonl"
UCI_PATH = EVAL / "stories" / "uci-news-aggregator" / "uci-news-aggregator.head.csv"
SEEDS_DIR = ROOT / "seeds"

# ---------------------------------------------------------------------------------------------- data


def load_seeds(seeds_dir: Path = SEEDS_DIR, stand_in: datetime | None = None) -> list[GroupInput]:
    """The bundled seed articles with the dates the real ingest would give them."""
    stand_in = stand_in or datetime.now(UTC)
    certain = {"002": datetime(2024, 11, 7, tzinfo=UTC), "003": datetime(2024, 11, 5, tzinfo=UTC)}
    out = []
    for i, path in enumerate(sorted(seeds_dir.glob("*.txt"))):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        first = next(n for n, line in enumerate(lines) if line.strip())
        title = lines[first].strip()
        body = "\n".join(lines[first + 1 :])
        body = body.split("Subscribe to our newsletter")[0]  # what the real extractor keeps of 000
        prefix = path.name[:3]
        published = certain.get(prefix, stand_in)
        out.append(GroupInput(i + 1, title, body, path.stem, published, prefix in certain))
    return out


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
    grouper = StoryGrouper(settings)
    return [grouper.place(a).story_id for a in articles]


# -------------------------------------------------------------------------------------- baselines


def _tfidf_matrix(texts: Sequence[str]) -> np.ndarray:
    """Plain TF-IDF (lowercased stemmed words, stopwords out, smooth IDF, L2 rows), batch."""
    docs = [Counter(t.term for t in tokenize(text, caps_are_entities=False)) for text in texts]
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
