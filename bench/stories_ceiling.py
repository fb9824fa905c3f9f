"""How far the grouper's own similarity can go: its vectors clustered in batch, with an oracle threshold.

    python -m bench.stories_ceiling                          # ~2 min, ~1 GB for the UCI matrix
    python -m bench.stories_ceiling --embeddings MODEL_DIR   # also a sentence-embedding model (see below)

The incremental grouper decides each article once, in arrival order. A batch clusterer sees every pair
before it decides anything, and here it is also given the best threshold, picked with the gold labels:
an oracle that no real run has. When that oracle does not reach a target, no threshold on this
similarity does, incremental or not: the shortfall is in what the similarity says, not in the order
the articles are placed.

Rows, each BCubed P / R / F1 at the best of a sweep of thresholds:
- the grouper's own TF-IDF vectors (`StoryGrouper._vectorize`, built in file order as placement builds
  them), average-link;
- UCI also with the grouper's time rule as a penalty on each pair (time_margin x gap / window, capped);
- `--embeddings DIR`: a sentence-transformers model read from DIR (for example all-MiniLM-L6-v2), alone
  and averaged with the TF-IDF cosine. sentence-transformers and torch are not project dependencies:
  install them into the environment to run this part; without them it is skipped, saying so.
The incremental figure with the shipped settings is printed beside them for reference.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import csr_matrix
from scipy.spatial.distance import squareform

from bench.stories_eval import ECB_PATH, UCI_PATH, _fmt, bcubed, eval_ecb, eval_uci, load_ecbplus, load_uci
from stories import GroupingSettings, GroupInput, StoryGrouper

# Similarity at which two clusters still merge; below zero only matters once a time penalty is subtracted.
THRESHOLDS = np.round(np.arange(-0.3, 0.92, 0.02), 2)


def grouper_similarity(articles: Sequence[GroupInput], settings: GroupingSettings) -> np.ndarray:
    """Pairwise cosine of the vectors the grouper builds (IDF as it stands when each article arrives)."""
    grouper = StoryGrouper(settings)
    vectors = [grouper._vectorize(a) for a in articles]
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for r, vector in enumerate(vectors):
        for term, weight in vector.items():
            rows.append(r)
            cols.append(vocab.setdefault(term, len(vocab)))
            vals.append(weight)
    m = csr_matrix((vals, (rows, cols)), shape=(len(vectors), len(vocab)), dtype=np.float32)
    return (m @ m.T).toarray()


def time_penalty(articles: Sequence[GroupInput], settings: GroupingSettings) -> np.ndarray:
    """The grouper's rising bar as a pairwise penalty: time_margin at a gap of `window`, no more after."""
    ts = np.array([a.published.timestamp() if a.published else 0.0 for a in articles])
    gap = np.abs(ts[:, None] - ts[None, :]) / settings.window.total_seconds()
    return (settings.time_margin * np.minimum(1.0, gap)).astype(np.float32)


def best_average_link(similarity: np.ndarray, gold: Sequence[Hashable]) -> tuple[float, tuple]:
    """(threshold, (P, R, F1)) of average-link at the oracle's threshold."""
    distance = 1.0 - similarity.astype(np.float64)
    np.fill_diagonal(distance, 0.0)
    distance = np.clip((distance + distance.T) / 2, 0.0, None)
    tree = linkage(squareform(distance, checks=False), method="average")
    best = (0.0, (0.0, 0.0, 0.0))
    for threshold in THRESHOLDS:
        scores = bcubed(list(fcluster(tree, t=1.0 - threshold, criterion="distance")), gold)
        if scores[2] > best[1][2]:
            best = (float(threshold), scores)
    return best


def embedding_similarity(texts: Sequence[str], model_dir: Path) -> np.ndarray | str:
    """Cosine of a sentence-transformers model's embeddings, or why it could not be computed."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return "sentence-transformers is not installed"
    if not model_dir.is_dir():
        return f"{model_dir}: no such model directory"
    model = SentenceTransformer(str(model_dir), device="cpu")
    emb = model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    return (emb @ emb.T).astype(np.float32)


def _row(corpus: str, method: str, threshold: float | None, scores: tuple) -> None:
    at = f"{threshold:.2f}" if threshold is not None else "–"
    print(f"| {corpus} | {method} | {at} | {_fmt(scores).replace('  ', ' | ')} |", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embeddings", type=Path, help="a sentence-transformers model directory to compare")
    args = ap.parse_args(argv)
    settings = GroupingSettings()
    print("| corpus | similarity, clustering | threshold | BCubed P | R | F1 |\n|---|---|---|---|---|---|")

    corpora: list[tuple[str, list[GroupInput], list[Hashable], list[str], bool]] = []
    if ECB_PATH.exists():
        ecb = load_ecbplus()
        _row("ECB+ stories", "shipped incremental grouper (file order)", None, eval_ecb(settings)["story"])
        texts = [f"{a.title}\n{a.body}" for a, _, _ in ecb]
        corpora.append(("ECB+ stories", [a for a, _, _ in ecb], [c for _, c, _ in ecb], texts, False))
    else:
        print(f"| ECB+ | skipped: {ECB_PATH} absent | | | | |")
    if UCI_PATH.exists():
        uci = load_uci()
        _row("UCI headlines", "shipped incremental grouper", None, eval_uci(settings))
        corpora.append(
            ("UCI headlines", [a for a, _ in uci], [c for _, c in uci], [a.title for a, _ in uci], True)
        )
    else:
        print(f"| UCI | skipped: {UCI_PATH} absent | | | | |")

    for name, articles, gold, texts, dated in corpora:
        lexical = grouper_similarity(articles, settings)
        _row(
            name, "grouper's TF-IDF, batch average-link, oracle threshold", *best_average_link(lexical, gold)
        )
        penalty = time_penalty(articles, settings) if dated else None
        if penalty is not None:
            _row(
                name, "the same minus the grouper's time penalty", *best_average_link(lexical - penalty, gold)
            )
        if args.embeddings is None:
            continue
        dense = embedding_similarity(texts, args.embeddings)
        if isinstance(dense, str):
            print(f"| {name} | embeddings skipped: {dense} | | | | |")
            continue
        model = f"{args.embeddings.parent.name}/{args.embeddings.name}"
        _row(name, f"{model} embeddings, average-link", *best_average_link(dense, gold))
        mixed = (lexical + dense) / 2
        _row(name, "mean of TF-IDF and embedding cosine", *best_average_link(mixed, gold))
        if penalty is not None:
            _row(name, "that mean minus the time penalty", *best_average_link(mixed - penalty, gold))
        del dense, mixed
    return 0


if __name__ == "__main__":
    sys.exit(main())
