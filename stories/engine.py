"""The story engine: places articles into stories a chunk at a time, with batch quality inside the chunk.

Articles arrive in chunks, in a canonical order (publication time, then source and guid), and carry their
stateless features (`stories.features`). For one chunk:

1. Copies. MinHash band keys find earlier articles with near-identical text; the best one whose estimated
   Jaccard similarity is >= `duplicate_threshold` (and whose date is compatible) is the canonical copy. A
   copy joins its canonical's story and adds nothing to the index (50 wire reprints must not drown the
   document frequencies).
2. Vectors. TF-IDF over hashed terms with the document frequencies as they stand when the article is
   counted (each article counts itself first), pruned to `max_terms`, frozen at placement.
3. Candidates. Each new article looks up the recent articles posted under its heaviest terms (capped
   posting lists over the last `memory_articles` placed), the chunk's other articles included.
4. Group-average agglomeration. The chunk's new articles start as singletons and the recent stories they
   reach join as clusters; the pair with the largest margin over its bar merges first, and so on while
   any pair clears its bar. The similarity of two clusters is the mean similarity of their members,
   computed exactly from the clusters' summed unit vectors: (1 - embedding_weight) x lexical +
   embedding_weight x embedding. Inside one chunk this is batch average-link clustering: no article is
   decided before the others of its chunk are seen, and two stories that a later report shows to be one
   event merge.
5. Time. With certain dates two clusters may only merge when their dated spans are within `window` of
   each other and together span at most `max_story_span`; inside the window the bar rises with the gap
   (`time_margin`). When either side has no certain date, the bar is raised by `uncertain_margin` and what
   the leads say stands in: different months named rule the merge out, different weekdays raise the bar
   by `weekday_margin`.

Ids. A story keeps the id of its first article. When stories merge, the oldest id is kept and the others
point at it (`merged`); lookups follow the pointer. Nothing here depends on wall-clock time, hash order or
process: the same chunks in the same order give bit-identical stories, in one process or across many runs
that reload the state (the window is defined by placement sequence numbers, not by what a process holds).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from stories.background import background_embedding, background_shares
from stories.features import LSH_BANDS, NUM_PERM, TERM_BITS, ArticleFeatures, band_keys

_F32 = np.float32


@dataclass(frozen=True)
class EngineSettings:
    # --- copies
    duplicate_threshold: float = 0.6  # estimated Jaccard of word 3-shingles
    lsh_bucket_cap: int = 64
    # --- vectors and candidates
    max_terms: int = 64  # terms kept per article vector
    index_terms: int = 12  # heaviest terms an article is posted under
    query_terms: int = 12  # heaviest terms a new article looks up
    posting_cap: int = 64  # most recent articles kept per term
    # Candidate articles per new article, the best by shared query weight. 64 found nothing 32 misses on
    # ECB+, UCI or the seeds (bench/engine_quality.py --sweep) and cost ~15% more placement CPU.
    max_candidates: int = 32
    centroid_terms: int = 160  # terms kept in a story's summed vector
    memory_articles: int = 30_000  # how far back (in placed articles) candidates are looked for
    # A recent story this small, all of whose articles are in memory, is decided again with each chunk
    # that reaches it: its articles re-enter the clustering one by one. Two early reports that met before
    # the rest of their story arrived are not bound together for good.
    reopen_members: int = 8
    # ... and only while it is young: its first article among the last this many placed. An older small
    # story stays as decided (a new report can still join it whole); without this bound the work of
    # re-deciding grew with the window, as every small story in it was reopened by any chunk reaching it.
    reopen_placements: int = 4000
    # --- decision (group-average similarity against a bar)
    story_threshold: float = 0.12
    uncertain_margin: float = 0.1
    time_margin: float = 0.5
    weekday_margin: float = 0.1
    embedding_weight: float = 0.3
    # Between full texts the words say who, where and how many, and an embedding mostly says what kind of
    # event (two earthquakes embed alike): it weighs less there than between headlines and short summaries.
    long_embedding_weight: float = 0.1
    long_text_terms: int = 30  # an article with at least this many distinct terms is a full text
    centring_prior: int = 100  # articles' worth of "no centring" the embedding mean starts from
    # Articles' worth of general-English document frequencies (stories/background.py) the counts start
    # from, so a new database knows common words from names; it fades as the database grows. 0: none.
    background_articles: int = 1000
    window_seconds: float = 3 * 86400.0
    max_story_span_seconds: float = 14 * 86400.0


@dataclass(frozen=True, slots=True)
class PlaceInput:
    article_id: int
    published: float | None  # POSIX seconds
    date_certain: bool  # False when the date is a file mtime / fetch time stand-in
    features: ArticleFeatures


@dataclass(frozen=True, slots=True)
class Placement:
    article_id: int
    story_id: int
    duplicate_of: int | None


@dataclass(slots=True)
class PlacedArticle:
    """What the engine keeps of a placed canonical article (persisted as one blob)."""

    article_id: int
    seq: int
    story_id: int  # as placed; follow `Story.merged_into`
    published: float | None
    certain: bool
    months: int
    weekdays: int
    terms: np.ndarray  # int64 term ids
    weights: np.ndarray  # float32 (values exactly representable in float16)
    signature: np.ndarray  # uint16[NUM_PERM]
    embedding: np.ndarray  # float16 unit vector (centred), or shape (0,)


@dataclass(slots=True)
class Story:
    story_id: int
    size: int = 0  # articles, copies included
    members: int = 0  # distinct articles summed into the vectors
    first: float | None = None  # span of the members whose dates are certain
    last: float | None = None
    months: int = 0
    weekdays: int = 0
    terms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0, _F32))
    embedding: np.ndarray = field(default_factory=lambda: np.zeros(0, _F32))
    merged_into: int | None = None
    first_seq: int = 0  # placement sequence number of its first article: the older story is kept on a merge
    long_members: int = 0  # members with full text (see EngineSettings.long_text_terms)


@dataclass(slots=True)
class ChunkResult:
    placements: list[Placement]
    articles: list[PlacedArticle]  # the chunk's canonical articles, to persist
    copies: list[tuple[int, int, int]]  # (article_id, seq, story_id) of the chunk's copies
    stories: list[Story]  # stories created or changed (absorbed ones included, with merged_into set)
    merged: dict[int, list[int]]  # kept story id -> story ids it absorbed in this chunk
    moved: list[tuple[int, int]]  # (article id, story id) of earlier articles that changed story
    split: dict[int, int]  # new story id -> the story its articles came from (its alerts are theirs)
    df_delta: dict[int, int]  # term id -> documents added


class StateSource:
    """Where an engine finds what it does not hold in memory (nothing, for a fresh in-memory engine)."""

    def document_frequencies(self, terms: np.ndarray) -> np.ndarray:
        return np.zeros(len(terms), np.int64)

    def stories(self, story_ids: Iterable[int]) -> dict[int, Story]:
        return {}


def _f16(values: np.ndarray) -> np.ndarray:
    """Round to what a float16 blob holds, so memory and disk agree bit for bit."""
    return values.astype(np.float16).astype(_F32)


@dataclass(slots=True)
class _Node:
    terms: np.ndarray
    weights: np.ndarray
    embedding: np.ndarray
    n: int
    first: float | None
    last: float | None
    months: int
    weekdays: int
    story_ids: list[int]  # existing stories inside
    article_ids: list[int]  # new articles inside, in chunk order
    old_ids: list[int] = field(default_factory=list)  # articles of reopened stories inside
    long_n: int = 0  # members with full text (not a headline or a one-line summary)
    version: int = 0


class _NodeTable:
    """The clusters of one agglomeration, with their scalar attributes and embeddings as arrays, so one
    cluster is weighed against all its neighbours in a few array operations (not a Python loop per pair)."""

    def __init__(self, rows: int = 1024, dims: int = 0) -> None:
        """Room for `rows` clusters with `dims`-wide embeddings, grown as needed."""
        self.nodes: list[_Node] = []
        self._grow(rows, dims)

    def _grow(self, rows: int, dims: int) -> None:
        old = len(self.nodes)

        def resized(array: np.ndarray, fill: float | bool | int) -> np.ndarray:
            out = np.full((rows, *array.shape[1:]), fill, array.dtype)
            out[:old] = array[:old]
            return out

        if old == 0:
            self.first = np.full(rows, np.nan)
            self.last = np.full(rows, np.nan)
            self.months = np.zeros(rows, np.int64)
            self.weekdays = np.zeros(rows, np.int64)
            self.n = np.zeros(rows, np.float64)
            self.long = np.zeros(rows, bool)
            self.story = np.zeros(rows, bool)
            self.touched = np.zeros(rows, bool)
            self.has_embedding = np.zeros(rows, bool)
            self.embedding = np.zeros((rows, dims))
            return
        for name, fill in (("first", np.nan), ("last", np.nan), ("months", 0), ("weekdays", 0), ("n", 0)):
            setattr(self, name, resized(getattr(self, name), fill))
        for name in ("long", "story", "touched", "has_embedding"):
            setattr(self, name, resized(getattr(self, name), False))
        if dims != self.embedding.shape[1]:
            self.embedding = np.zeros((rows, dims))
            self.has_embedding[:] = False
            for i, node in enumerate(self.nodes):
                self._set_embedding(i, node)
        else:
            self.embedding = resized(self.embedding, 0.0)

    def _set_embedding(self, i: int, node: _Node) -> None:
        self.has_embedding[i] = bool(node.embedding.size)
        if node.embedding.size:
            self.embedding[i] = node.embedding

    def add(self, node: _Node) -> int:
        i = len(self.nodes)
        dims = node.embedding.size or self.embedding.shape[1]
        if i >= len(self.first) or dims != self.embedding.shape[1]:
            self._grow(max(len(self.first), 2 * i + 1), dims)
        self.nodes.append(node)
        self.set(i, node)
        return i

    def set(self, i: int, node: _Node) -> None:
        self.nodes[i] = node
        self.first[i] = np.nan if node.first is None else node.first
        self.last[i] = np.nan if node.last is None else node.last
        self.months[i] = node.months
        self.weekdays[i] = node.weekdays
        self.n[i] = node.n
        self.long[i] = 2 * node.long_n >= node.n
        self.story[i] = bool(node.story_ids)
        self.touched[i] = bool(node.article_ids or node.old_ids)
        self._set_embedding(i, node)


def _row_dots(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row i of x dotted with row i of y (or y's one row): products summed along each row, so a row's
    result does not depend on how many rows are computed together (a BLAS product may order its sums by
    batch)."""
    return (x * y).sum(axis=1)


# Articles whose candidates are looked for together (see StoryEngine._candidates).
_CANDIDATE_BLOCK = 32


class _BandIndex:
    """MinHash band key -> the newest `cap` canonical articles under it.

    What earlier chunks added lives in three numpy arrays sorted by (key, sequence number), ~24 bytes an
    entry (a dict of lists cost ~600 bytes a key, and nearly every key is new). A chunk's keys are looked
    up all at once (`begin`): nearly every key is new, so only the few (article, band) pairs that hit an
    earlier entry, stored or in the chunk, are walked one by one, as the chunk's articles are decided in
    order (`lookup`, `add`); `flush` merges the chunk's canonical articles in."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.keys = np.zeros(0, np.int64)
        self.seqs = np.zeros(0, np.int64)
        self.ids = np.zeros(0, np.int64)
        self._added: list[tuple[np.ndarray, int, int]] = []  # (keys, seq, article id) not merged yet
        # The chunk being placed: per row, the bands that hit (band, stored range, earlier rows).
        self._hits: dict[int, list[tuple[int, int, int, list[int]]]] = {}
        self._chunk_ids: dict[int, int] = {}  # chunk row -> article id, for the rows indexed so far

    def begin(self, keys: np.ndarray) -> None:
        """Look up a chunk's (rows, bands) keys against the stored entries and against each other."""
        self.flush()
        bands = keys.shape[1]
        flat = keys.ravel()
        order = np.argsort(flat, kind="stable")  # by key, then by row: earlier rows first
        ordered = flat[order]
        # Looked up in key order: each search starts near the last one, in cache (the index holds ~1M keys).
        lo, hi = np.empty(len(flat), np.intp), np.empty(len(flat), np.intp)
        lo[order] = np.searchsorted(self.keys, ordered, "left")
        hi[order] = np.searchsorted(self.keys, ordered, "right")
        repeat = np.zeros(len(flat), bool)
        repeat[1:] = ordered[1:] == ordered[:-1]
        # Position of the first entry of each entry's run of equal keys.
        run_start = np.maximum.accumulate(np.where(repeat, 0, np.arange(len(flat))))
        earlier: dict[int, list[int]] = {}
        for p in np.flatnonzero(repeat).tolist():
            earlier[int(order[p])] = [int(f) // bands for f in order[run_start[p] : p].tolist()]
        self._hits = {}
        self._chunk_ids = {}
        for f in sorted({*np.flatnonzero(hi > lo).tolist(), *earlier}):
            row, band = divmod(f, bands)
            self._hits.setdefault(row, []).append((band, int(lo[f]), int(hi[f]), earlier.get(f, [])))

    def lookup(self, row: int) -> set[int]:
        """Articles filed under any of chunk row `row`'s keys: stored ones and the chunk's earlier rows."""
        found: set[int] = set()
        cap = self.cap
        for _band, start, end, earlier in self._hits.get(row, ()):
            new = [self._chunk_ids[r] for r in earlier if r in self._chunk_ids and r != row]
            room = cap - len(new)
            if end > start and room > 0:
                found.update(self.ids[max(start, end - room) : end].tolist())
            found.update(new[-cap:])
        return found

    def add(self, keys: np.ndarray, seq: int, article_id: int, row: int | None = None) -> None:
        """File an article under its keys (`row`: its row in the chunk begun, so later rows find it)."""
        self._added.append((keys, seq, article_id))
        if row is not None:
            self._chunk_ids[row] = article_id

    def flush(self) -> None:
        self._hits, self._chunk_ids = {}, {}
        if not self._added:
            return
        added, self._added = self._added, []
        width = len(added[0][0])
        keys = np.concatenate([k for k, _, _ in added])
        seqs = np.repeat(np.array([s for _, s, _ in added], np.int64), width)
        ids = np.repeat(np.array([a for _, _, a in added], np.int64), width)
        order = np.lexsort((seqs, keys))
        keys, seqs, ids = keys[order], seqs[order], ids[order]
        if len(self.keys) and seqs.min() <= self.seqs.max():
            # Not all newer than what is stored (a reload adds in any order): sort the whole index.
            keys, seqs, ids = (
                np.concatenate(pair) for pair in ((self.keys, keys), (self.seqs, seqs), (self.ids, ids))
            )
            order = np.lexsort((seqs, keys))
            self.keys, self.seqs, self.ids = keys[order], seqs[order], ids[order]
            return
        # The new entries come after every stored one with the same key (they were placed later), so they
        # are inserted where they belong: a merge of two sorted runs, not a sort of the whole index.
        at = np.searchsorted(self.keys, keys, "right")
        self.keys, self.seqs, self.ids = (
            np.insert(self.keys, at, keys),
            np.insert(self.seqs, at, seqs),
            np.insert(self.ids, at, ids),
        )

    def forget(self, horizon: int) -> None:
        self.flush()
        keep = self.seqs > horizon
        self.keys, self.seqs, self.ids = self.keys[keep], self.seqs[keep], self.ids[keep]


class StoryEngine:
    def __init__(self, settings: EngineSettings | None = None, source: StateSource | None = None) -> None:
        self.settings = settings or EngineSettings()
        self.source = source or StateSource()
        self.n_docs = 0
        self.seq = 0  # sequence number of the last placed article
        self.embedding_sum = np.zeros(0)  # of the placed articles' embeddings, for centring
        self.embedding_count = 0
        self._df = np.zeros(1 << TERM_BITS, np.int32)
        self._df_known = np.zeros(1 << TERM_BITS, bool)
        self._scratch = np.zeros(1 << TERM_BITS, _F32)
        self._background: np.ndarray | None = None  # built on first use (stories/background.py)
        self._articles: dict[int, PlacedArticle] = {}  # canonical articles in memory, by id
        self._postings: dict[int, list[int]] = {}  # term id -> sequence numbers of recent articles
        # By sequence number: the article placed there, and its date when certain (NaN otherwise).
        self._seq_article = np.zeros(1024, np.int64)
        self._seq_time = np.full(1024, np.nan)
        # The window's article vectors as rows (slot = sequence number modulo the ring's size, which
        # exceeds the window and a chunk), so an article is compared with its candidates in a few array
        # operations rather than one small array per candidate.
        self._make_ring(self.settings.memory_articles + 4096)
        self._lsh = _BandIndex(self.settings.lsh_bucket_cap)
        self._stories: dict[int, Story] = {}
        self._members: dict[int, list[int]] = {}  # story id -> its articles in memory, in placement order
        self._copies: dict[int, list[int]] = {}  # canonical article id -> its copies' ids

    # ------------------------------------------------------------------ loading
    def load(
        self,
        n_docs: int,
        seq: int,
        recent: Sequence[PlacedArticle],
        copies: Sequence[tuple[int, int]] = (),
        embedding_sum: np.ndarray | None = None,
        embedding_count: int = 0,
    ) -> None:
        """Restore a persisted engine: counters, the placed articles of the window (oldest first) and the
        (copy, canonical) pairs among them."""
        self.n_docs, self.seq = n_docs, seq
        if embedding_sum is not None:
            self.embedding_sum, self.embedding_count = embedding_sum.astype(np.float64), embedding_count
        signed = [a for a in recent if a.signature.size]
        keys = band_keys(np.stack([a.signature for a in signed]).astype(np.uint32)) if signed else None
        key_of = {a.article_id: keys[i] for i, a in enumerate(signed)} if keys is not None else {}
        for article in recent:
            self._remember(article, key_of.get(article.article_id))
        self._lsh.flush()
        self._index_members(recent)
        for copy_id, canonical in copies:
            if canonical in self._articles:
                self._copies.setdefault(canonical, []).append(copy_id)

    def _index_members(self, articles: Sequence[PlacedArticle]) -> None:
        self._members = {}
        for article in articles:
            self._members.setdefault(self._resolve(article.story_id), []).append(article.article_id)

    def _remember(self, article: PlacedArticle, keys: np.ndarray | None = None) -> None:
        self._articles[article.article_id] = article
        self._index_vectors(article)
        self._index_signature(article, keys)

    def _index_vectors(self, article: PlacedArticle) -> None:
        """The article's row by sequence number, its ring row and its postings (its weights are final)."""
        seq = article.seq
        if seq >= len(self._seq_article):
            grow = max(2 * len(self._seq_article), seq + 1)
            self._seq_article = np.concatenate(
                [self._seq_article, np.zeros(grow - len(self._seq_article), np.int64)]
            )
            self._seq_time = np.concatenate([self._seq_time, np.full(grow - len(self._seq_time), np.nan)])
        self._seq_article[seq] = article.article_id
        self._seq_time[seq] = article.published if article.certain else np.nan
        self._fill_ring(article)
        self._post(article)

    def _post(self, article: PlacedArticle) -> None:
        """Add the article's sequence number to the posting lists of its heaviest terms."""
        s = self.settings
        seq = article.seq
        cap = s.posting_cap
        for term in article.terms[: s.index_terms].tolist():
            plist = self._postings.get(term)
            if plist is None:
                self._postings[term] = [seq]
            else:
                plist.append(seq)
                if len(plist) > 2 * cap:  # lookups read the newest `cap`; trim now and then
                    del plist[:-cap]

    def _make_ring(self, span: int) -> None:
        """Rows for at least `span` consecutive sequence numbers, filled from the articles in memory."""
        ring = 1 << max(12, span.bit_length())
        self._ring_terms = np.zeros((ring, self.settings.max_terms), np.int32)
        self._ring_weights = np.zeros((ring, self.settings.max_terms), _F32)
        self._ring_long = np.zeros(ring, bool)
        self._ring_embedding = np.zeros((ring, 0), np.float16)
        self._ring_has_embedding = np.zeros(ring, bool)
        for article in sorted(self._articles.values(), key=lambda a: a.seq):
            self._fill_ring(article)

    def _fill_ring(self, article: PlacedArticle) -> None:
        slot = article.seq % len(self._ring_terms)
        n = len(article.terms)
        self._ring_terms[slot, :n] = article.terms
        self._ring_terms[slot, n:] = 0
        self._ring_weights[slot, :n] = article.weights
        self._ring_weights[slot, n:] = 0.0
        self._ring_long[slot] = n >= self.settings.long_text_terms
        dims = article.embedding.size
        if dims and self._ring_embedding.shape[1] != dims:
            self._ring_embedding = np.zeros((len(self._ring_terms), dims), np.float16)
            self._ring_has_embedding[:] = False
        self._ring_has_embedding[slot] = bool(dims)
        if dims:
            self._ring_embedding[slot] = article.embedding

    def _index_signature(self, article: PlacedArticle, keys: np.ndarray | None = None) -> None:
        if article.signature.size:
            if keys is None:
                keys = band_keys(article.signature[None, :].astype(np.uint32))[0]
            self._lsh.add(keys, article.seq, article.article_id)

    def _forget_old(self) -> None:
        """Drop what fell out of the window once the memory holds half as much again as it must (amortised)."""
        s = self.settings
        if 2 * len(self._articles) <= 3 * s.memory_articles:
            return
        horizon = self.seq - s.memory_articles
        keep = [a for a in self._articles.values() if a.seq > horizon]
        keep.sort(key=lambda a: a.seq)
        self._articles, self._postings = {}, {}
        self._lsh.forget(horizon)
        for article in keep:  # their sequence-number rows and ring rows stand: only postings are rebuilt
            self._articles[article.article_id] = article
            self._post(article)
        self._index_members(keep)
        self._copies = {c: ids for c, ids in self._copies.items() if c in self._articles}
        live = {self._resolve(a.story_id) for a in keep}
        # Pointers left by merges stay: they are small, and an article placed under an absorbed id must
        # still find its story.
        self._stories = {
            sid: st for sid, st in self._stories.items() if sid in live or st.merged_into is not None
        }

    def _in_window(self, article_id: int, horizon: int) -> PlacedArticle | None:
        article = self._articles.get(article_id)
        return article if article is not None and article.seq > horizon else None

    # ------------------------------------------------------------------ stories
    def _known(self, story_id: int) -> Story | None:
        """A story from memory, else the store, else (not stored: one article, no copies) built from its
        article when that is in memory; remembered once found."""
        story = self._stories.get(story_id)
        if story is None:
            story = self.source.stories([story_id]).get(story_id)
            if story is None and story_id in self._articles:
                story = self._singleton(self._articles[story_id])
            if story is not None:
                self._stories[story_id] = story
        return story

    def _story(self, story_id: int) -> Story:
        story = self._known(story_id)
        if story is None:
            raise KeyError(f"story {story_id} is neither stored nor in memory")
        return story

    def _singleton(self, article: PlacedArticle) -> Story:
        return self._story_of_node(self._node_of_article(article), article.article_id, 1, article.seq)

    @staticmethod
    def _story_of_node(node: _Node, story_id: int, size: int, first_seq: int) -> Story:
        return Story(
            story_id=story_id,
            size=size,
            members=node.n,
            first=node.first,
            last=node.last,
            months=node.months,
            weekdays=node.weekdays,
            terms=node.terms,
            weights=node.weights,
            embedding=node.embedding,
            first_seq=first_seq,
            long_members=node.long_n,
        )

    def _resolve(self, story_id: int) -> int:
        seen = 0
        while True:
            story = self._known(story_id)
            if story is None or story.merged_into is None or seen > 1000:
                return story_id
            story_id = story.merged_into
            seen += 1

    def story_of(self, recorded: int) -> int:
        """The story a story id recorded earlier is now (later merges followed)."""
        return self._resolve(recorded)

    def story_from_members(self, story_id: int, members: Sequence[PlacedArticle], size: int) -> Story:
        """A story's sums rebuilt from its canonical members, folded in placement order: what is left of a
        story when one of its articles leaves it to be placed again (its text changed). Deterministic, as
        placing is; not bit-identical to the sums the agglomeration built in its own merge order."""
        ordered = sorted(members, key=lambda a: a.seq)
        node = self._node_of_article(ordered[0])
        for article in ordered[1:]:
            node = self._merge_nodes(node, self._node_of_article(article))
        return self._story_of_node(node, story_id, size, ordered[0].seq)

    # ------------------------------------------------------------------ placing
    def place(self, chunk: Sequence[PlaceInput]) -> ChunkResult:
        """Place one chunk of new articles (already in canonical order)."""
        s = self.settings
        horizon = self.seq - s.memory_articles
        if s.memory_articles + len(chunk) + 1 > len(self._ring_terms):
            self._make_ring(s.memory_articles + len(chunk) + 1)
        self.load_frequencies(chunk)
        placements: dict[int, Placement] = {}
        copies: list[tuple[PlaceInput, int, int]] = []  # (input, seq, canonical id)
        new: list[PlacedArticle] = []
        df_delta: dict[int, int] = {}
        sigs16 = np.stack([c.features.signature for c in chunk]).astype(np.uint16) if chunk else None
        keys = band_keys(sigs16.astype(np.uint32)) if sigs16 is not None else None
        pending: list[tuple[PlaceInput, PlacedArticle]] = []
        if keys is not None:
            self._lsh.begin(keys)
        for i, item in enumerate(chunk):
            self.seq += 1
            has_text = item.features.has_text
            canonical = self._find_copy(item, sigs16[i], i, horizon) if has_text else None
            if canonical is not None:
                copies.append((item, self.seq, canonical))
                continue
            article = self._unweighted(item, sigs16[i] if has_text else np.zeros(0, np.uint16))
            self._articles[article.article_id] = article
            if article.signature.size:  # a later copy in this chunk finds it
                self._lsh.add(keys[i], article.seq, article.article_id, row=i)
            pending.append((item, article))
        # The chunk's articles are counted before any is weighed: inside a chunk, IDF does not depend on
        # the order its articles came in. (An article's term ids are distinct.)
        if pending:
            counted, counts = np.unique(
                np.concatenate([item.features.terms for item, _ in pending]).astype(np.int64),
                return_counts=True,
            )
            self._df[counted] += counts.astype(np.int32)
            df_delta = dict(zip(counted.tolist(), counts.tolist(), strict=True))
            self.n_docs += len(pending)
        for _, article in pending:
            if article.embedding.size:
                if self.embedding_sum.size != article.embedding.size:
                    self.embedding_sum = np.zeros(article.embedding.size)
                self.embedding_sum += article.embedding
                self.embedding_count += 1
        for (_, article), (terms, weights) in zip(
            pending, self._weigh([item for item, _ in pending]), strict=True
        ):
            article.terms, article.weights = terms, weights
            article.embedding = self._centred(article.embedding)
            self._index_vectors(article)
            new.append(article)
        groups = self._agglomerate(new, horizon)
        touched: dict[int, Story] = {}
        merged: dict[int, list[int]] = {}
        moved: list[tuple[int, int]] = []
        split: dict[int, int] = {}
        for node in sorted(
            groups, key=lambda n: min(self._articles[i].seq for i in n.old_ids + n.article_ids)
        ):
            keep = self._commit_node(node, touched, merged, split)
            for aid in node.article_ids:
                self._articles[aid].story_id = keep
                placements[aid] = Placement(aid, keep, None)
            for aid in node.old_ids:
                article = self._articles[aid]
                if article.story_id != keep:
                    article.story_id = keep
                    moved.append((aid, keep))
                    moved.extend((copy_id, keep) for copy_id in self._copies.get(aid, ()))
        copy_rows = []
        for item, seq, canonical in copies:
            sid = self._resolve(self._articles[canonical].story_id)
            story = self._story(sid)
            story.size += 1
            if item.date_certain and item.published is not None:
                self._extend(story, item.published)
            touched[sid] = story
            self._copies.setdefault(canonical, []).append(item.article_id)
            placements[item.article_id] = Placement(item.article_id, sid, canonical)
            copy_rows.append((item.article_id, seq, sid))
        self._lsh.flush()
        self._forget_old()
        return ChunkResult(
            placements=[placements[c.article_id] for c in chunk],
            articles=new,
            copies=copy_rows,
            stories=list(touched.values()),
            merged=merged,
            moved=sorted(moved),
            split=split,
            df_delta=df_delta,
        )

    def load_frequencies(self, chunk: Sequence[PlaceInput]) -> None:
        """Read the document frequencies of the chunk's terms the engine does not hold yet (`place` does
        this itself; a caller may do it earlier)."""
        if not chunk:
            return
        terms = np.unique(np.concatenate([c.features.terms for c in chunk]).astype(np.int64))
        unknown = terms[~self._df_known[terms]]
        if len(unknown):
            self._df[unknown] = self.source.document_frequencies(unknown)
            self._df_known[unknown] = True

    # --- copies
    def _find_copy(self, item: PlaceInput, sig: np.ndarray, row: int, horizon: int) -> int | None:
        found = self._lsh.lookup(row)
        best: tuple[float, int] | None = None
        win = self.settings.window_seconds
        certain = item.date_certain and item.published is not None
        for aid in sorted(found):
            other = self._in_window(aid, horizon)
            if other is None or not other.signature.size:
                continue
            j = float(np.count_nonzero(other.signature == sig)) / NUM_PERM
            if j < self.settings.duplicate_threshold:
                continue
            if (
                certain
                and other.certain
                and other.published is not None
                and abs(item.published - other.published) > win  # type: ignore[operator]
            ):
                continue
            if best is None or j > best[0]:
                best = (j, aid)
        return best[1] if best else None

    # --- vectors
    def _unweighted(self, item: PlaceInput, sig16: np.ndarray) -> PlacedArticle:
        f = item.features
        months = f.months
        certain = bool(item.date_certain and item.published is not None)
        if certain:
            months |= 1 << (datetime.fromtimestamp(item.published, UTC).month - 1)  # type: ignore[arg-type]
        empty = np.zeros(0, np.int64)
        return PlacedArticle(
            article_id=item.article_id,
            seq=self.seq,
            story_id=item.article_id,
            published=item.published,
            certain=certain,
            months=months,
            weekdays=f.weekdays,
            terms=empty,
            weights=empty.astype(_F32),
            signature=sig16,
            embedding=f.embedding,
        )

    def _centred(self, embedding: np.ndarray) -> np.ndarray:
        """The embedding minus the mean of every article's so far, unit length again.

        A static embedding puts any two news texts close (a cosine of ~0.6 between unrelated reports):
        centred on what this database has seen, unrelated reports come near 0, and the embedding's share
        of a similarity is evidence rather than a constant. Like document frequencies, the mean is read
        as it stands when the article is placed, and the result frozen."""
        if not embedding.size or self.embedding_sum.size != embedding.size:
            return embedding
        # Shrunk towards no centring while few articles are known: the mean of three reports is mostly
        # those reports, and centring on it would set them against each other.
        prior = self.settings.centring_prior
        background = background_embedding() if prior else None
        if background is not None and background.size == embedding.size:
            mean = (self.embedding_sum + prior * background) / (self.embedding_count + prior)
        else:
            mean = self.embedding_sum / (self.embedding_count + prior)
        centred = embedding - mean
        norm = float(np.sqrt(centred @ centred))
        # Kept as float16, as stored: half the memory of the window's largest part.
        return (centred / norm).astype(np.float16) if norm > 1e-6 else np.zeros(0, np.float16)

    def _weigh(self, items: Sequence[PlaceInput]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per article, TF-IDF of its terms with the frequencies as they stand, pruned to the heaviest (ties
        by term id), unit length, frozen. All the chunk's terms are weighed and ordered at once."""
        s = self.settings
        lengths = [len(item.features.terms) for item in items]
        if not items or not sum(lengths):
            return [(np.zeros(0, np.int64), np.zeros(0, _F32)) for _ in items]
        terms = np.concatenate([item.features.terms for item in items]).astype(np.int64)
        prior = s.background_articles
        df = self._df[terms] + self._background_df()[terms] if prior else self._df[terms]
        idf = np.log((1.0 + self.n_docs + prior) / (1.0 + df)) + 1.0
        w = np.concatenate([item.features.weights for item in items]).astype(np.float64) * idf
        owner = np.repeat(np.arange(len(items)), lengths)
        order = np.lexsort((terms, -w, owner))  # by article, heaviest first, ties by term id
        firsts = np.cumsum(lengths) - lengths
        kept = order[np.arange(len(order)) - np.repeat(firsts, lengths) < s.max_terms]
        terms, w = terms[kept], w[kept]
        bounds = np.searchsorted(owner[kept], np.arange(len(items) + 1)).tolist()
        out = []
        for start, end in itertools.pairwise(bounds):
            part = w[start:end]
            norm = math.sqrt(float(np.dot(part, part))) if end > start else 1.0
            out.append((terms[start:end], _f16(part / norm)))
        return out

    def _background_df(self) -> np.ndarray:
        """`background_articles` x the background share of each term id, dense (one lookup per article)."""
        if self._background is None:
            ids, shares = background_shares()
            self._background = np.zeros(1 << TERM_BITS, _F32)
            self._background[ids] = self.settings.background_articles * shares
        return self._background

    # --- candidates and clusters
    def _candidates(self, articles: Sequence[PlacedArticle], horizon: int) -> list[np.ndarray]:
        """Per article, the sequence numbers of the recent articles sharing its heaviest terms, best first
        (by shared query weight, then the most recent), that its date does not rule out.

        A block of articles at a time: a handful of array operations over every (article, posting) pair,
        not a dozen small ones per article, on arrays small enough to sort in cache."""
        out: list[np.ndarray] = []
        for start in range(0, len(articles), _CANDIDATE_BLOCK):
            out += self._block_candidates(articles[start : start + _CANDIDATE_BLOCK], horizon)
        return out

    def _block_candidates(self, articles: Sequence[PlacedArticle], horizon: int) -> list[np.ndarray]:
        s = self.settings
        lists: list[list[int]] = []
        weights: list[float] = []
        owners: list[int] = []  # per posting list taken, the article's index in `articles`
        for index, article in enumerate(articles):
            for term, weight in zip(
                article.terms[: s.query_terms].tolist(),
                article.weights[: s.query_terms].tolist(),
                strict=True,
            ):
                plist = self._postings.get(term)
                if plist:
                    lists.append(plist[-s.posting_cap :])
                    weights.append(weight)
                    owners.append(index)
        out = [np.zeros(0, np.int64)] * len(articles)
        if not lists:
            return out
        lengths = [len(p) for p in lists]
        seqs = np.fromiter(itertools.chain.from_iterable(lists), np.int64)
        shared = np.repeat(np.array(weights), lengths)
        owner = np.repeat(np.array(owners, np.int64), lengths)
        own_seq = np.array([a.seq for a in articles], np.int64)
        # Nothing dated further away than the longest story span can share a story with a dated article
        # (NaN, an undated one on either side, rules nothing out).
        own_time = np.array([a.published if a.certain else np.nan for a in articles], np.float64)
        gap = np.abs(self._seq_time[seqs] - own_time[owner])
        keep = (seqs > horizon) & (seqs != own_seq[owner]) & ~(gap > s.max_story_span_seconds)
        seqs, shared, owner = seqs[keep], shared[keep], owner[keep]
        if not len(seqs):
            return out
        # One key per (article, candidate): weights add up per pair in the order they came, as before.
        pair, inverse = np.unique(owner << 40 | seqs, return_inverse=True)
        score = np.bincount(inverse, weights=shared)
        pair_owner, pair_seq = pair >> 40, pair & ((1 << 40) - 1)
        order = np.lexsort((-pair_seq, -score, pair_owner))
        pair_owner, pair_seq = pair_owner[order], pair_seq[order]
        # Each article's best `max_candidates`: the rank of a pair within its article's run.
        first = np.searchsorted(pair_owner, pair_owner, "left")
        best = np.arange(len(pair_owner)) - first < s.max_candidates
        pair_owner, pair_seq = pair_owner[best], pair_seq[best]
        bounds = np.searchsorted(pair_owner, np.arange(len(articles) + 1), "left").tolist()
        for index in range(len(articles)):
            if bounds[index + 1] > bounds[index]:
                out[index] = pair_seq[bounds[index] : bounds[index + 1]]
        return out

    def _node_of_story(self, story: Story) -> _Node:
        return _Node(
            terms=story.terms,
            weights=story.weights,
            embedding=story.embedding,
            n=story.members,
            first=story.first,
            last=story.last,
            months=story.months,
            weekdays=story.weekdays,
            story_ids=[story.story_id],
            long_n=story.long_members,
            article_ids=[],
        )

    def _is_long(self, article: PlacedArticle) -> int:
        return int(len(article.terms) >= self.settings.long_text_terms)

    def _node_of_article(self, article: PlacedArticle) -> _Node:
        ts = article.published if article.certain else None
        return _Node(
            terms=article.terms,
            weights=article.weights,
            embedding=article.embedding,
            n=1,
            first=ts,
            last=ts,
            months=article.months,
            weekdays=article.weekdays,
            story_ids=[],
            article_ids=[article.article_id],
            long_n=self._is_long(article),
        )

    def _ring_similarities(self, a: PlacedArticle, seqs: np.ndarray) -> np.ndarray:
        """`_similarities` of one article with window articles (as single clusters, by sequence number),
        from the ring's rows."""
        slots = seqs % len(self._ring_terms)
        scratch = self._scratch
        scratch[a.terms] = a.weights
        lexical = (scratch[self._ring_terms[slots]] * self._ring_weights[slots]).sum(axis=1)
        scratch[a.terms] = 0.0
        s = self.settings
        if not a.embedding.size or self._ring_embedding.shape[1] != a.embedding.size:
            return lexical
        embedded = self._ring_embedding[slots].astype(_F32) @ a.embedding
        w = np.where(self._ring_long[slots] & self._is_long(a), s.long_embedding_weight, s.embedding_weight)
        w = np.where(self._ring_has_embedding[slots], w, 0.0)
        return (1.0 - w) * lexical + w * embedded

    def _similarities(self, table: _NodeTable, a: int, others: np.ndarray) -> np.ndarray:
        """Group-average similarity of cluster `a` with each of `others`: the mean over member pairs, exact
        from the clusters' sums; (1 - w) x lexical + w x embedding, w by whether both sides are full texts."""
        nodes = table.nodes
        scratch = self._scratch
        mine = nodes[a]
        scratch[mine.terms] = mine.weights
        other_terms = [nodes[b].terms for b in others.tolist()]
        segment = np.repeat(np.arange(len(other_terms)), [len(t) for t in other_terms])
        products = scratch[np.concatenate(other_terms)] * np.concatenate(
            [nodes[b].weights for b in others.tolist()]
        )
        lexical = np.bincount(segment, weights=products, minlength=len(other_terms))
        scratch[mine.terms] = 0.0
        sizes = table.n[a] * table.n[others]
        sims = lexical / sizes
        s = self.settings
        if (s.embedding_weight or s.long_embedding_weight) and table.has_embedding[a]:
            has = np.flatnonzero(table.has_embedding[others])
            if len(has):
                dense = _row_dots(table.embedding[others[has]], table.embedding[a][None, :])
                w = np.where(
                    table.long[a] & table.long[others[has]], s.long_embedding_weight, s.embedding_weight
                )
                sims[has] = (1.0 - w) * sims[has] + w * dense / sizes[has]
        return sims

    def _bars(self, table: _NodeTable, a: np.ndarray | int, b: np.ndarray) -> np.ndarray:
        """The similarity each pair of clusters (a[i] or a, b[i]) needs to merge; NaN where their dates or
        leads rule the merge out."""
        s = self.settings
        a = np.broadcast_to(a, b.shape)
        fa, la, fb, lb = table.first[a], table.last[a], table.first[b], table.last[b]
        bars = np.full(len(b), np.nan)
        dated = ~np.isnan(fa) & ~np.isnan(fb)
        if dated.any():
            fa_, la_, fb_, lb_ = fa[dated], la[dated], fb[dated], lb[dated]
            span = np.maximum(la_, lb_) - np.minimum(fa_, fb_)
            gap = np.maximum(0.0, np.maximum(fb_ - la_, fa_ - lb_))
            bar = s.story_threshold + s.time_margin * gap / s.window_seconds
            bar[(span > s.max_story_span_seconds) | (gap > s.window_seconds)] = np.nan
            bars[dated] = bar
        undated = ~dated
        if undated.any():
            # Time unknown, but texts that talk about different months are about different events.
            ma, mb = table.months[a[undated]], table.months[b[undated]]
            wa, wb = table.weekdays[a[undated]], table.weekdays[b[undated]]
            base = s.story_threshold + s.uncertain_margin
            bar = np.where((wa != 0) & (wb != 0) & ((wa & wb) == 0), base + s.weekday_margin, base)
            bar[(ma != 0) & (mb != 0) & ((ma & mb) == 0)] = np.nan
            bars[undated] = bar
        return bars

    def _first_pairs(
        self, table: _NodeTable, lo: np.ndarray, hi: np.ndarray
    ) -> list[tuple[float, int, int, int, int]]:
        """The agglomeration's first queue: of the linked pairs (lo[i] < hi[i], sorted by lo), those that
        clear their bar, by margin. The same arithmetic as `_similarities` weighing one cluster against
        its neighbours, done for all clusters at once (a cluster at a time cost ~60 µs of numpy calls)."""
        settled = table.story[lo] & ~table.touched[lo] & table.story[hi] & ~table.touched[hi]
        bars = self._bars(table, lo, hi)
        keep = ~settled & ~np.isnan(bars)
        lo, hi, bars = lo[keep], hi[keep], bars[keep]
        if not len(lo):
            return []
        nodes = table.nodes
        lengths = np.array([len(node.terms) for node in nodes], np.int64)
        starts = np.cumsum(lengths) - lengths
        flat_terms = np.concatenate([node.terms for node in nodes])
        flat_weights = np.concatenate([node.weights for node in nodes]).astype(_F32)
        # Term ids numbered 0..T-1 among these clusters, so a block of clusters' weights fits in a dense
        # (clusters x T) matrix: one gather weighs every pair whose lower cluster is in the block.
        # (The scratch row, all zeros between uses, marks the terms and then holds their numbers.)
        scratch = self._scratch
        scratch[flat_terms] = 1.0
        present = np.flatnonzero(scratch)
        scratch[present] = np.arange(len(present), dtype=_F32)  # exact: fewer than 2**24 terms
        local = scratch[flat_terms].astype(np.int64)
        scratch[present] = 0.0
        lexical = np.zeros(len(lo))
        block = max(1, min(64, (1 << 20) // max(1, len(present))))  # at most 4 MB of float32
        dense = np.zeros((block, len(present)), _F32)
        bounds = np.searchsorted(lo, np.arange(0, len(nodes) + block, block))
        for number in range(len(bounds) - 1):
            p0, p1 = bounds[number], bounds[number + 1]
            if p0 == p1:
                continue
            first = number * block
            last = min(first + block, len(nodes))
            rows = np.repeat(np.arange(last - first), lengths[first:last])
            cols = local[starts[first] : starts[last - 1] + lengths[last - 1]]
            dense[rows, cols] = flat_weights[starts[first] : starts[last - 1] + lengths[last - 1]]
            # Per pair, the higher cluster's terms in its own order (the order its products are summed in).
            counts = lengths[hi[p0:p1]]
            pair = np.repeat(np.arange(p1 - p0), counts)
            at = np.arange(int(counts.sum())) - np.repeat(
                np.cumsum(counts) - counts - starts[hi[p0:p1]], counts
            )
            products = dense[lo[p0 + pair] - first, local[at]] * flat_weights[at]
            lexical[p0:p1] = np.bincount(pair, weights=products, minlength=p1 - p0)
            dense[rows, cols] = 0.0
        sizes = table.n[lo] * table.n[hi]
        sims = lexical / sizes
        s = self.settings
        if s.embedding_weight or s.long_embedding_weight:
            has = np.flatnonzero(table.has_embedding[lo] & table.has_embedding[hi])
            for start in range(0, len(has), 4096):  # row products of 4096 pairs: 8 MB at 256 dimensions
                part = has[start : start + 4096]
                dots = _row_dots(table.embedding[lo[part]], table.embedding[hi[part]])
                w = np.where(
                    table.long[lo[part]] & table.long[hi[part]], s.long_embedding_weight, s.embedding_weight
                )
                sims[part] = (1.0 - w) * sims[part] + w * dots / sizes[part]
        clear = sims >= bars
        margins = (bars[clear] - sims[clear]).tolist()
        return [
            (m, a, b, 0, 0) for m, a, b in zip(margins, lo[clear].tolist(), hi[clear].tolist(), strict=True)
        ]

    def _reopenable(self, story: Story, horizon: int) -> list[int] | None:
        """The articles of a small recent story, all in memory, to be clustered again; else None."""
        s = self.settings
        if story.members > s.reopen_members or story.first_seq <= self.seq - s.reopen_placements:
            return None
        members = [aid for aid in self._members.get(story.story_id, ()) if self._in_window(aid, horizon)]
        return members if len(members) == story.members else None

    def _agglomerate(self, new: list[PlacedArticle], horizon: int) -> list[_Node]:
        """Group-average clustering of the chunk's articles together with the recent stories they reach.

        Returns the final clusters holding new or reopened articles."""
        # Sized for the chunk and about as many stories it reaches: growing copies every array.
        dims = next((a.embedding.size for a in new if a.embedding.size), 0)
        table = _NodeTable(max(1024, 2 * len(new)), dims)
        nodes = table.nodes
        node_of_article: dict[int, int] = {}
        node_of_story: dict[int, int] = {}
        adjacency: list[set[int]] = []

        def add(node: _Node) -> int:
            adjacency.append(set())
            return table.add(node)

        # The same pairs as `adjacency`, as lo << 32 | hi, for the first queue: reading them back out of
        # the sets cost more than keeping this list (the sets are what merges update).
        links: list[int] = []

        def link(a: int, b: int) -> None:
            if a != b:
                adjacency[a].add(b)
                adjacency[b].add(a)
                links.append(a << 32 | b if a < b else b << 32 | a)

        start_of: dict[int, int] = {}  # stored article -> its story's cluster, once looked up

        def node_of(aid: int) -> int:
            """The cluster a stored article starts in: its own, if its story is reopened, else its story's."""
            found = node_of_article.get(aid)
            if found is None:
                found = start_of.get(aid)
            if found is not None:
                return found
            sid = self._resolve(self._articles[aid].story_id)
            found = node_of_story.get(sid)
            if found is not None:
                start_of[aid] = found
                return found
            story = self._story(sid)
            members = self._reopenable(story, horizon)
            if members is None:
                found = node_of_story[sid] = start_of[aid] = add(self._node_of_story(story))
                return found
            for member in members:
                node = self._node_of_article(self._articles[member])
                node.article_ids, node.old_ids = [], [member]
                node_of_article[member] = add(node)
            for i, first in enumerate(members):  # its articles were judged alike: let them be again
                for second in members[i + 1 :]:
                    link(node_of_article[first], node_of_article[second])
            return node_of_article[aid]

        for article in new:
            node_of_article[article.article_id] = add(self._node_of_article(article))
        # Only links that could ever clear a bar: the group average of two clusters is a weighted mean of
        # their parts' averages, so clusters whose every pair is below the lowest bar never merge.
        floor = self.settings.story_threshold
        for article, seqs in zip(new, self._candidates(new, horizon), strict=True):
            if not len(seqs):
                continue
            me = node_of_article[article.article_id]
            close = self._ring_similarities(article, seqs) >= floor
            for aid in self._seq_article[seqs[close]].tolist():
                link(me, node_of(aid))

        def push_all(a: int, others: list[int]) -> None:
            if not others:
                return
            candidates = np.array(others, np.int64)
            # Two stories untouched by this chunk were already judged apart.
            settled = (
                table.story[a] & ~table.touched[a] & table.story[candidates] & ~table.touched[candidates]
            )
            bars = self._bars(table, a, candidates)
            keep = ~settled & ~np.isnan(bars)
            if not keep.any():
                return
            candidates, bars = candidates[keep], bars[keep]
            sims = self._similarities(table, a, candidates)
            clear = sims >= bars
            for b, bar, sim in zip(
                candidates[clear].tolist(), bars[clear].tolist(), sims[clear].tolist(), strict=True
            ):
                lo, hi = (a, b) if a < b else (b, a)
                heapq.heappush(heap, (bar - sim, lo, hi, nodes[lo].version, nodes[hi].version))

        pairs = np.unique(np.array(links, np.int64))
        heap = self._first_pairs(table, pairs >> 32, pairs & 0xFFFFFFFF) if len(pairs) else []
        heapq.heapify(heap)
        alive = [True] * len(nodes)
        while heap:
            _, a, b, va, vb = heapq.heappop(heap)
            if not (alive[a] and alive[b]) or nodes[a].version != va or nodes[b].version != vb:
                continue
            merged = self._merge_nodes(nodes[a], nodes[b])
            merged.version = max(va, vb) + 1
            table.set(a, merged)
            alive[b] = False
            neighbours = (adjacency[a] | adjacency[b]) - {a, b}
            for n in neighbours:
                adjacency[n].discard(b)
                adjacency[n].add(a)
            adjacency[a] = neighbours
            adjacency[b] = set()
            push_all(a, sorted(n for n in neighbours if alive[n]))
        final = [node for i, node in enumerate(nodes) if alive[i] and (node.article_ids or node.old_ids)]
        return final

    def _merge_nodes(self, a: _Node, b: _Node) -> _Node:
        terms, weights = self._sum_vectors(a.terms, a.weights, b.terms, b.weights)
        if a.embedding.size and b.embedding.size:
            embedding = _f16(a.embedding.astype(_F32) + b.embedding)
        else:
            embedding = a.embedding if a.embedding.size else b.embedding
        firsts = [t for t in (a.first, b.first) if t is not None]
        lasts = [t for t in (a.last, b.last) if t is not None]
        return _Node(
            terms=terms,
            weights=weights,
            embedding=embedding,
            n=a.n + b.n,
            first=min(firsts) if firsts else None,
            last=max(lasts) if lasts else None,
            months=a.months | b.months,
            weekdays=a.weekdays | b.weekdays,
            story_ids=sorted(a.story_ids + b.story_ids),
            article_ids=a.article_ids + b.article_ids,
            old_ids=a.old_ids + b.old_ids,
            long_n=a.long_n + b.long_n,
        )

    def _sum_vectors(
        self, ta: np.ndarray, wa: np.ndarray, tb: np.ndarray, wb: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sum of two sparse vectors, pruned to the heaviest `centroid_terms` (ties by term id)."""
        terms, inverse = np.unique(np.concatenate([ta, tb]), return_inverse=True)
        weights = np.bincount(inverse, weights=np.concatenate([wa, wb]).astype(np.float64))
        if len(terms) > self.settings.centroid_terms:
            order = np.lexsort((terms, -weights))[: self.settings.centroid_terms]
            order.sort()
            terms, weights = terms[order], weights[order]
        return terms, _f16(weights)

    def _commit_node(
        self,
        node: _Node,
        touched: dict[int, Story],
        merged: dict[int, list[int]],
        split: dict[int, int],
    ) -> int:
        """Turn a final cluster into a story and say which id it keeps.

        A story's id is the id of its first article, so the cluster holding a story's first article (or
        the whole story, kept intact) carries that story on; when it carries several, the one placed first
        keeps its id and the others point to it. A cluster that carries none is a new story named after its
        first article; when its articles came from a reopened story, that story's alerts are its too."""
        was = {aid: self._resolve(self._articles[aid].story_id) for aid in node.old_ids}
        claimants = list(node.story_ids) + [sid for aid, sid in was.items() if aid == sid]
        members = [m for sid in node.story_ids for m in self._members.get(sid, ())]
        members += node.old_ids + node.article_ids
        members.sort(key=lambda aid: self._articles[aid].seq)
        size = sum(self._story(sid).size for sid in node.story_ids)
        size += sum(1 + len(self._copies.get(aid, ())) for aid in node.old_ids) + len(node.article_ids)
        if claimants:
            ordered = sorted(set(claimants), key=lambda sid: (self._story(sid).first_seq, sid))
            keep = ordered[0]
            first_seq = self._story(keep).first_seq
            for sid in ordered[1:]:
                self._stories[sid] = Story(story_id=sid, merged_into=keep)
                self._members.pop(sid, None)
                touched[sid] = self._stories[sid]
                merged.setdefault(keep, []).append(sid)
        else:
            keep = members[0]
            first_seq = self._articles[keep].seq
            if was:
                sources = sorted(set(was.values()), key=lambda sid: (-list(was.values()).count(sid), sid))
                split[keep] = sources[0]
        story = self._story_of_node(node, keep, size, first_seq)
        self._stories[keep] = story
        self._members[keep] = members
        touched[keep] = story
        return keep

    @staticmethod
    def _extend(story: Story, ts: float) -> None:
        story.first = ts if story.first is None else min(story.first, ts)
        story.last = ts if story.last is None else max(story.last, ts)


__all__ = [
    "LSH_BANDS",
    "ChunkResult",
    "EngineSettings",
    "PlaceInput",
    "PlacedArticle",
    "Placement",
    "StateSource",
    "Story",
    "StoryEngine",
]
