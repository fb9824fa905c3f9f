"""Evaluation data and metrics for the story benches: the seeds, ECB+, UCI, BCubed, batch baselines, and a
seeded synthetic news stream. Read in place from ../shared/eval (or $NEWSWATCH_EVAL); absent data is skipped
by the callers with a note.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import random
import re
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from feeds.files import read_path
from feeds.records import UNCERTAIN_DATE_ORIGINS
from stories.engine import EngineSettings, PlaceInput, StoryEngine
from stories.features import extract_features
from stories.tokens import normalize, term_counts

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("NEWSWATCH_EVAL", ROOT.parent / "shared" / "eval"))
ECB_PATH = EVAL / "stories" / "ecbplus" / "ecbplus_docs.jsonl"
UCI_PATH = EVAL / "stories" / "uci-news-aggregator" / "uci-news-aggregator.head.csv"
SEEDS_DIR = ROOT / "seeds"


@dataclass(frozen=True)
class EvalArticle:
    article_id: int
    title: str
    body: str
    outlet: str
    published: datetime | None  # tz-aware UTC
    date_certain: bool  # False when the date is a stand-in (file time)


# ---------------------------------------------------------------------------------------------- data


def load_seeds(seeds_dir: Path = SEEDS_DIR) -> list[EvalArticle]:
    """The bundled seed articles as the real file reader gives them (titles, bodies, dates and whether
    those dates are certain), numbered in file-name order like an ingest of the folder."""
    out = []
    for i, path in enumerate(sorted(seeds_dir.glob("*.txt")), start=1):
        result = read_path(path, default_outlet=path.stem)
        if not result.records:
            raise RuntimeError(result.error or f"{path}: no article")
        record = result.records[0]
        certain = record.date_origin not in UNCERTAIN_DATE_ORIGINS
        out.append(EvalArticle(i, record.title, record.body, path.stem, record.published, certain))
    return out


def seeds_as_stated(story_of: dict[int, int]) -> bool:
    """Seed article id (1-5, file order) -> story id: 000-003 one story, 004 another."""
    return story_of[1] == story_of[2] == story_of[3] == story_of[4] != story_of[5]


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
) -> list[tuple[EvalArticle, str, int]]:
    """(article, gold story cluster, gold topic) in file order; every date uncertain and equal."""
    stand_in = stand_in or datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            d = json.loads(line)
            title, body = ecb_article(d["text"])
            out.append(
                (EvalArticle(i + 1, title, body, d["doc_id"], stand_in, False), d["cluster_id"], d["topic"])
            )
    return out


def load_uci(path: Path = UCI_PATH) -> list[tuple[EvalArticle, str]]:
    """(headline, gold STORY) in timestamp order (ties by ID), the cut-off last row dropped."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = [r for r in rows[:-1] if r.get("TIMESTAMP") and r.get("STORY")]
    rows.sort(key=lambda r: (int(r["TIMESTAMP"]), int(r["ID"])))
    out = []
    for r in rows:
        ts = datetime.fromtimestamp(int(r["TIMESTAMP"]) / 1000, tz=UTC)
        out.append((EvalArticle(int(r["ID"]), r["TITLE"], "", r["PUBLISHER"], ts, True), r["STORY"]))
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


# -------------------------------------------------------------------------------------- baselines


def _tfidf_matrix(texts: Sequence[str]) -> np.ndarray:
    """Plain TF-IDF (lowercased stemmed words, stopwords out, smooth IDF, L2 rows), batch."""
    docs = [term_counts(normalize(text), entities=False)[0] for text in texts]
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
        self.history: list[EvalArticle] = []

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

    def __next__(self) -> EvalArticle:
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
            prev: EvalArticle = story["last"]
            words = prev.body.split()
            for i in rng.choice(len(words), size=min(3, len(words)), replace=False):
                words[i] = str(self.words[int(rng.integers(len(self.words)))])
            art = EvalArticle(aid, prev.title, " ".join(words), f"outlet{aid % 97}", when, True)
        else:
            title = " ".join(self._text(story, 9))
            sentences = self._text(story, self.body_words)
            body = ". ".join(" ".join(sentences[i : i + 12]) for i in range(0, len(sentences), 12)) + "."
            art = EvalArticle(aid, title, body, f"outlet{aid % 97}", when, True)
        story["last"] = art
        return art


# --- placing eval articles with the engine alone (bench/engine_quality.py, tests/test_stories.py) ---

JITTER = timedelta(hours=12)
JITTER_SEED = 12


def to_inputs(articles: Sequence[EvalArticle]) -> list[PlaceInput]:
    return [
        PlaceInput(
            a.article_id,
            a.published.timestamp() if a.published else None,
            a.date_certain,
            extract_features(a.title, a.body),
        )
        for a in articles
    ]


def canonical(inputs: Sequence[PlaceInput], keys: dict[int, str]) -> list[PlaceInput]:
    return sorted(inputs, key=lambda p: (p.published or 0.0, keys[p.article_id]))


def run(inputs: Sequence[PlaceInput], settings: EngineSettings, chunk: int) -> dict[int, int]:
    engine = StoryEngine(settings)
    recorded: dict[int, int] = {}
    for start in range(0, len(inputs), chunk):
        result = engine.place(inputs[start : start + chunk])
        for p in result.placements:
            recorded[p.article_id] = p.story_id
        recorded.update(result.moved)  # earlier articles of reopened stories that changed story
    return {aid: engine.story_of(sid) for aid, sid in recorded.items()}


def seeds_failing(settings: EngineSettings) -> int:
    seeds = to_inputs(load_seeds())
    failing = 0
    for order in itertools.permutations(seeds):
        story = run(list(order), settings, 1)
        failing += not (story[1] == story[2] == story[3] == story[4] != story[5])
    return failing


def jittered(articles: list[EvalArticle]) -> list[EvalArticle]:
    rng = random.Random(JITTER_SEED)
    span = JITTER.total_seconds()
    return [replace(a, published=a.published + timedelta(seconds=rng.uniform(-span, span))) for a in articles]


def small_database(
    ecb: Sequence[tuple[EvalArticle, str, int]], inputs: Sequence[PlaceInput], settings: EngineSettings
) -> tuple[float, float, float]:
    """Mean BCubed (P, R, F1) over ECB+'s topics, each placed alone in a fresh engine: a new user's first
    few dozen articles, where the database's own document frequencies say little (stories/background.py).
    Each topic holds two events of one kind (two earthquakes, two arrests), so both merging and splitting
    are possible."""
    feature_of = {p.article_id: p for p in inputs}
    topics: dict[int, list[tuple[EvalArticle, str]]] = {}
    for article, cluster, topic in ecb:
        topics.setdefault(topic, []).append((article, cluster))
    scores = []
    for members in topics.values():
        placed = canonical(
            [feature_of[a.article_id] for a, _ in members],
            {a.article_id: str(a.article_id) for a, _ in members},
        )
        story = run(placed, settings, len(placed))
        scores.append(bcubed([story[a.article_id] for a, _ in members], [c for _, c in members]))
    return tuple(sum(s[k] for s in scores) / len(scores) for k in range(3))  # type: ignore[return-value]
