"""Incremental story grouping: copies → `duplicate_of`, write-ups of one event → `story_id`.

How one article is placed (each step reads a bounded amount of state, so the cost per article
does not grow with the collection):

1. Copies. Word 3-shingles → MinHash signature → LSH band keys. Articles sharing a band key are
   candidates; the best one whose estimated Jaccard similarity is >= `duplicate_threshold` (and
   whose date is compatible) becomes the canonical copy. A copy joins its canonical's story and
   adds nothing to the story index (so 50 wire reprints don't drown the document frequencies).
2. Stories. A sparse TF-IDF vector (sublinear tf; words in the title and name-like tokens —
   capitalized mid-sentence, acronyms, numbers — weighted up, because two events of one kind
   differ mostly in who, where and how many). Candidates are the recent articles posted under
   the new article's heaviest terms (posting lists are capped); the stories they belong to are
   scored by a mix of cosine to the story centroid and the best cosine to a single member.
3. Time. With certain dates an article can only join a story whose dated span it is within
   `window` of, and a story never spans more than `max_story_span`; inside the window the content
   bar rises with the gap (`time_margin`), as in on-line event detection's time-decayed
   similarity: a rewrite hours later needs little, a loose follow-up days later needs more.
   When the article's date or all of the story's dates are uncertain (a file mtime, a fetch
   time), time says nothing, so the content bar is raised by `uncertain_margin` instead, and what
   the leads say about time stands in: different months named rule a story out, different
   weekdays raise the bar by `weekday_margin`.
4. Merges. Single-pass placement decides once, so two early reports of one event that share few
   words become two stories. When a later article clears the bar of both, and their centroids are
   alike too (`merge_threshold`), the stories merge under the older id (dated stories only, within
   the window and the longest span). Members keep naming the story they joined; the absorbed story's
   record points at the one that took it in, and lookups follow the pointer.

Document frequencies are read as they stand when an article is placed and the article's vector
is frozen then, so replaying the same articles in the same order rebuilds exactly the same state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from stories.minhash import MinHasher
from stories.state import ArticleRecord, GroupingState, InMemoryState, StoryRecord
from stories.text import count_terms, dated_months, mentioned_months, mentioned_weekdays, shingles, tokenize


@dataclass(frozen=True)
class GroupInput:
    article_id: int
    title: str
    body: str
    outlet: str
    published: datetime | None  # tz-aware UTC
    date_certain: bool  # False when the date is a file mtime / fetch time stand-in


@dataclass(frozen=True)
class Placement:
    article_id: int
    story_id: int  # article_id of the story's first article
    duplicate_of: int | None  # article_id of the canonical copy, or None
    merged: tuple[int, ...] = ()  # stories this article showed to be this one: their members move here


@dataclass(frozen=True)
class GroupingSettings:
    # --- copies
    shingle_size: int = 3
    num_perm: int = 128
    lsh_bands: int = 32  # 32 bands x 4 rows: ~87% recall at Jaccard 0.5, ~99% at 0.6
    duplicate_threshold: float = 0.6  # estimated Jaccard of word 3-shingles
    lsh_bucket_cap: int = 64
    # --- story vectors
    title_boost: float = 1.0
    entity_boost: float = 3.0
    max_terms: int = 80  # terms kept per article vector
    index_terms: int = 12  # heaviest terms an article is posted under
    query_terms: int = 12  # heaviest terms a new article looks up
    posting_cap: int = 64  # most recent articles kept per term
    max_candidates: int = 128  # candidate articles whose vectors are compared
    centroid_terms: int = 300
    # --- decision
    story_threshold: float = 0.12
    uncertain_margin: float = 0.16
    link_weight: float = 0.25  # score = (1-w) * cos(centroid) + w * max cos(member)
    # With certain dates, the bar rises with the gap to the story's dated span, by this much at `window`:
    # rewrites of one event cluster within hours, and a same-subject report days later is usually news.
    time_margin: float = 0.6
    # Undated article and story whose leads name different weekdays ("died on Friday" / "on Tuesday"):
    # a softer version of the month rule, since follow-ups name other days too.
    weekday_margin: float = 0.15
    lead_chars: int = 250  # where a dateline / lead's month mention counts
    dated_lead_chars: int = 400  # where a date with a day ("November 6") counts
    # An article that qualifies for two dated stories is evidence they are one event told twice (single-pass
    # placement split it early): the stories merge when their centroids are also this alike.
    merge_threshold: float = 0.25
    window: timedelta = timedelta(days=3)
    max_story_span: timedelta = timedelta(days=14)


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    # The shared terms come from a C-level key intersection (most of an 80-term vector is not in
    # the other); its order follows string hashes, which change per process, so the products are
    # summed with fsum, whose correctly rounded result does not depend on order: a regroup in
    # another process must compute bit-identical scores.
    return math.fsum([a[t] * b[t] for t in a.keys() & b.keys()])


def _disagree(mine: Sequence[int], theirs: Sequence[int]) -> bool:
    """Both sides name some months (or weekdays), and none in common."""
    return bool(mine) and bool(theirs) and not set(mine) & set(theirs)


def _top(weights: dict[str, float], n: int) -> list[tuple[str, float]]:
    # Ties broken by term so truncation never depends on hash order.
    return sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


class StoryGrouper:
    def __init__(self, settings: GroupingSettings | None = None, state: GroupingState | None = None) -> None:
        self.settings = settings or GroupingSettings()
        self.state: GroupingState = state if state is not None else InMemoryState()
        self._hasher = MinHasher(self.settings.num_perm, self.settings.lsh_bands)

    # ------------------------------------------------------------------ public
    def place(self, article: GroupInput) -> Placement:
        """Place one article; placing an article id that is already placed returns its placement."""
        st = self.state
        known = st.get_articles([article.article_id]).get(article.article_id)
        if known is not None:
            return Placement(
                known.article_id, self._resolve([known.story_id])[known.story_id], known.duplicate_of
            )

        ts = article.published.timestamp() if article.published is not None else None
        certain = bool(article.date_certain and ts is not None)

        text = f"{article.title}\n{article.body}"
        sh = shingles(text, self.settings.shingle_size)
        sig = self._hasher.signature(sh)
        keys = self._hasher.band_keys(sig) if sh else []

        canonical = self._find_copy(sig, keys, ts, certain) if keys else None
        if canonical is not None:
            story_id = self._resolve([canonical.story_id])[canonical.story_id]
            story = st.get_stories([story_id])[story_id]
            st.put_story(self._extend_span(replace(story, size=story.size + 1), ts, certain))
            st.put_article(ArticleRecord(article.article_id, story_id, canonical.article_id, ts, certain))
            return Placement(article.article_id, story_id, canonical.article_id)

        s = self.settings
        vector = self._vectorize(article)
        # Only the dateline/lead: later months are usually background ("since August"), but a date with a
        # day a little further on ("on November 6", in the third paragraph) still says when it happened.
        lead = f"{article.title}\n{article.body[: s.lead_chars]}"
        months = sorted({*mentioned_months(lead), *dated_months(article.body[: s.dated_lead_chars])})
        weekdays = mentioned_weekdays(lead)
        if certain and article.published is not None:
            months = sorted({*months, article.published.month})
        qualifying = self._qualifying_stories(vector, months, weekdays, ts, certain)
        if not qualifying:
            story = StoryRecord(story_id=article.article_id)
        else:
            story = st.get_stories([qualifying[0]])[qualifying[0]]
        story = self._add_member(story, vector, months, weekdays, ts, certain)
        story, merged = self._merge_bridged(story, qualifying[1:])
        st.put_story(story)
        story_id = story.story_id

        st.put_vector(article.article_id, vector)
        st.add_postings(article.article_id, list(vector)[: s.index_terms], s.posting_cap)
        if keys:
            st.put_signature(article.article_id, self._hasher.to_bytes(sig))
            st.lsh_add(article.article_id, keys, s.lsh_bucket_cap)
        st.put_article(ArticleRecord(article.article_id, story_id, None, ts, certain))
        return Placement(article.article_id, story_id, None, merged)

    def stories_of(self, article_ids: Sequence[int]) -> dict[int, int]:
        """Placed article id -> the story it belongs to now (later merges included)."""
        records = self.state.get_articles(article_ids)
        story_of = self._resolve([rec.story_id for rec in records.values()])
        return {aid: story_of[rec.story_id] for aid, rec in records.items()}

    # ------------------------------------------------------------------ copies
    def _dates_compatible(self, ts: float | None, certain: bool, other: ArticleRecord) -> bool:
        if not (certain and other.date_certain) or ts is None or other.published is None:
            return True  # a near-verbatim copy is evidence enough without a trustworthy date
        return abs(ts - other.published) <= self.settings.window.total_seconds()

    def _find_copy(self, sig, keys: list[int], ts: float | None, certain: bool) -> ArticleRecord | None:
        st = self.state
        ids = st.lsh_lookup(keys)
        if not ids:
            return None
        sigs = st.get_signatures(ids)
        records = st.get_articles(ids)
        best: tuple[float, int] | None = None
        for aid in ids:
            other = sigs.get(aid)
            rec = records.get(aid)
            if other is None or rec is None:
                continue
            j = self._hasher.jaccard(sig, self._hasher.from_bytes(other))
            if j < self.settings.duplicate_threshold or not self._dates_compatible(ts, certain, rec):
                continue
            if best is None or j > best[0] or (j == best[0] and aid < best[1]):
                best = (j, aid)
        return records[best[1]] if best else None

    # ------------------------------------------------------------------ vectors
    def _vectorize(self, article: GroupInput) -> dict[str, float]:
        s = self.settings
        # Headline capitals, numbers and acronyms are too inconsistent ("Apple Releases…", "$1.8B",
        # "1.8 bn") to mark names; the body's mid-sentence capitals are reliable.
        title_toks = tokenize(article.title, entities=False)
        body_toks = tokenize(article.body)
        counts, entities = count_terms(title_toks + body_toks)
        in_title = {t.term for t in title_toks}
        terms = list(counts)
        # The article counts itself before its weights are computed, so IDF is the same whether it
        # is placed incrementally or in a rebuild, and a term seen only here gets the top IDF.
        self.state.add_document(terms)
        n_docs = self.state.doc_count()
        df = self.state.document_frequencies(terms)
        weights: dict[str, float] = {}
        for t in terms:
            w = (1.0 + math.log(counts[t])) * (math.log((1 + n_docs) / (1 + df[t])) + 1.0)
            if t in entities:
                w *= s.entity_boost
            if t in in_title:
                w *= s.title_boost
            weights[t] = w
        top = _top(weights, s.max_terms)
        norm = math.sqrt(sum(w * w for _, w in top))
        return {t: w / norm for t, w in top}

    # ------------------------------------------------------------------ stories
    def _time_ok(self, story: StoryRecord, ts: float | None, certain: bool) -> bool:
        """False only when certain dates rule the story out."""
        if not certain or story.first_certain is None or story.last_certain is None or ts is None:
            return True
        s = self.settings
        win = s.window.total_seconds()
        if ts < story.first_certain - win or ts > story.last_certain + win:
            return False
        return max(ts, story.last_certain) - min(ts, story.first_certain) <= s.max_story_span.total_seconds()

    def _threshold(self, story: StoryRecord, ts: float | None, certain: bool) -> float:
        s = self.settings
        if certain and ts is not None and story.first_certain is not None and story.last_certain is not None:
            gap = max(0.0, story.first_certain - ts, ts - story.last_certain)
            return s.story_threshold + s.time_margin * min(1.0, gap / s.window.total_seconds())
        return s.story_threshold + s.uncertain_margin

    def _candidates(self, vector: dict[str, float], ts: float | None, certain: bool) -> list[int]:
        s = self.settings
        st = self.state
        query = list(vector)[: s.query_terms]
        hits: dict[int, float] = {}
        get = hits.get  # the hottest loop of placement: up to query_terms x posting_cap entries
        for term, plist in st.postings(query).items():
            w = vector[term]
            for aid in plist:
                hits[aid] = get(aid, 0.0) + w
        if not hits:
            return []
        ids = sorted(hits)
        if certain and ts is not None:
            # A member dated further away than the longest story span can't share an eligible story.
            span = s.max_story_span.total_seconds()
            recs = st.get_articles(ids)
            ids = [
                i
                for i in ids
                if not (recs[i].date_certain and recs[i].published is not None)
                or abs(recs[i].published - ts) <= span
            ]
            # Then whole stories the dates rule out, before the cap: a busy term's recent postings
            # are mostly other stories of the last two weeks, and a candidate slot (and a cosine)
            # spent on one of those is a slot an eligible story did not get.
            story_of = self._resolve([recs[i].story_id for i in ids])
            story_ids = sorted(set(story_of.values()))
            stories = st.get_stories(story_ids)
            ok = {sid for sid in story_ids if sid in stories and self._time_ok(stories[sid], ts, certain)}
            ids = [i for i in ids if story_of[recs[i].story_id] in ok]
        # Shared weight of the query terms is a cheap upper-bound proxy for the cosine; the most
        # recent article wins ties.
        ids.sort(key=lambda i: (-hits[i], -i))
        return ids[: s.max_candidates]

    def _qualifying_stories(
        self,
        vector: dict[str, float],
        months: list[int],
        weekdays: list[int],
        ts: float | None,
        certain: bool,
    ) -> list[int]:
        """Ids of the stories whose bar the article clears, best score first (ties: oldest story)."""
        if not vector:
            return []
        s = self.settings
        st = self.state
        cand = self._candidates(vector, ts, certain)
        if not cand:
            return []
        vectors = st.get_vectors(cand)
        records = st.get_articles(cand)
        story_of = self._resolve([rec.story_id for rec in records.values()])
        best_link: dict[int, float] = {}
        for aid in cand:
            v = vectors.get(aid)
            rec = records.get(aid)
            if v is None or rec is None:
                continue
            sid = story_of[rec.story_id]
            sim = _dot(vector, v)
            if sim > best_link.get(sid, -1.0):
                best_link[sid] = sim
        story_ids = sorted(best_link)
        stories = st.get_stories(story_ids)
        scored: list[tuple[float, int]] = []
        for sid in story_ids:  # candidates are already limited to stories the dates allow
            story = stories[sid]
            cnorm = story.centroid_norm
            csim = _dot(vector, story.centroid) / cnorm if cnorm else 0.0
            score = (1.0 - s.link_weight) * csim + s.link_weight * best_link[sid]
            uncertain = not (certain and story.first_certain is not None)
            if uncertain and _disagree(months, story.months):
                # Time unknown, but the texts talk about different months: different events.
                continue
            bar = self._threshold(story, ts, certain)
            if uncertain and _disagree(weekdays, story.weekdays):
                bar += s.weekday_margin
            if score >= bar:
                # By score, not margin: a dated story and an undated one compete on content.
                scored.append((score, sid))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [sid for _, sid in scored]

    def _resolve(self, story_ids: Sequence[int]) -> dict[int, int]:
        """Story id as recorded -> the story it is now (following merges)."""
        resolved = {sid: sid for sid in story_ids}
        pending = sorted(set(story_ids))
        while pending:
            stories = self.state.get_stories(pending)
            pending = []
            for sid, current in resolved.items():
                story = stories.get(current)
                if story is not None and story.merged_into is not None:
                    resolved[sid] = story.merged_into
                    pending.append(story.merged_into)
            pending = sorted(set(pending))
        return resolved

    def _merge_bridged(
        self, story: StoryRecord, others: Sequence[int]
    ) -> tuple[StoryRecord, tuple[int, ...]]:
        """Merge into `story` the other qualifying stories that are the same dated event (see merge_threshold).

        Only stories with certain dates on both sides: without them nothing bounds how far a chain of
        merges could drift. The merged story keeps the oldest id, so ids stay stable."""
        if story.first_certain is None or not others:
            return story, ()
        s = self.settings
        merged: list[int] = []
        candidates = self.state.get_stories(list(others))
        for sid in others:
            other = candidates.get(sid)
            if other is None or other.first_certain is None or other.last_certain is None:
                continue
            first = min(story.first_certain, other.first_certain)
            last = max(story.last_certain, other.last_certain)
            if last - first > s.max_story_span.total_seconds():
                continue
            gap = max(other.first_certain - story.last_certain, story.first_certain - other.last_certain)
            if gap > s.window.total_seconds() or _disagree(story.months, other.months):
                continue
            norms = story.centroid_norm * other.centroid_norm
            if not norms or _dot(story.centroid, other.centroid) / norms < s.merge_threshold:
                continue
            keep, gone = (story, other) if story.story_id < other.story_id else (other, story)
            story = self._combine(keep, gone)
            self.state.put_story(StoryRecord(story_id=gone.story_id, merged_into=keep.story_id))
            merged.append(gone.story_id)
        return story, tuple(merged)

    def _combine(self, keep: StoryRecord, gone: StoryRecord) -> StoryRecord:
        centroid = self._summed_centroid(keep.centroid, gone.centroid)
        story = replace(
            keep,
            size=keep.size + gone.size,
            members=keep.members + gone.members,
            centroid=centroid,
            centroid_norm=math.sqrt(sum(w * w for w in centroid.values())),
            months=tuple(sorted({*keep.months, *gone.months})),
            weekdays=tuple(sorted({*keep.weekdays, *gone.weekdays})),
        )
        story = self._extend_span(story, gone.first_certain, gone.first_certain is not None)
        return self._extend_span(story, gone.last_certain, gone.last_certain is not None)

    def _summed_centroid(self, centroid: dict[str, float], added: dict[str, float]) -> dict[str, float]:
        """Sum of two term-weight maps, pruned to the heaviest `centroid_terms`."""
        summed = dict(centroid)
        for t, w in added.items():
            summed[t] = summed.get(t, 0.0) + w
        if len(summed) > self.settings.centroid_terms:
            summed = dict(_top(summed, self.settings.centroid_terms))
        return summed

    def _extend_span(self, story: StoryRecord, ts: float | None, certain: bool) -> StoryRecord:
        if not certain or ts is None:
            return story
        first = ts if story.first_certain is None else min(story.first_certain, ts)
        last = ts if story.last_certain is None else max(story.last_certain, ts)
        return replace(story, first_certain=first, last_certain=last)

    def _add_member(
        self,
        story: StoryRecord,
        vector: dict[str, float],
        months: list[int],
        weekdays: list[int],
        ts: float | None,
        certain: bool,
    ) -> StoryRecord:
        centroid = self._summed_centroid(story.centroid, vector)
        story = replace(
            story,
            size=story.size + 1,
            members=story.members + 1,
            centroid=centroid,
            centroid_norm=math.sqrt(sum(w * w for w in centroid.values())),
            months=tuple(sorted({*story.months, *months})),
            weekdays=tuple(sorted({*story.weekdays, *weekdays})),
        )
        return self._extend_span(story, ts, certain)
