"""How common each term is in English text in general: the document frequencies a new database starts from.

A database of a few dozen articles cannot tell common words from rare ones: every term is about equally
rare in it, so "government" or "said" weighs as much as "Kursk", and two reports of one event (which share
a few names among many ordinary words) look barely more alike than two reports of different events.
Measured on ECB+ with each topic placed alone in a fresh engine (`python -m bench.engine_quality`'s
small-database line), same-event recall was 0.70 against 0.93 on the whole corpus.

The prior comes from the static embedding's WordPiece vocabulary, which is in rough frequency order (BERT's
vocabulary was built from Wikipedia and books; model2vec's weighting relies on the same fact). The whole
word at rank r gets the share of articles that hold it under Zipf's law, 1 - exp(-WORDS_PER_ARTICLE x p(r))
with p(r) = 1 / (r x H), H the vocabulary's harmonic number. A word outside the vocabulary (most names) is
treated as rare. The engine counts these shares as `EngineSettings.background_articles` articles' worth of
evidence beside its own counts, so the prior fades as the database grows.

Built from the vocabulary at first use (~22k words, a few tens of ms) with the same stemming and term ids
as the features, so it cannot drift from them.
"""

from __future__ import annotations

import functools
import itertools
import math
import random

import numpy as np

from feeds.dates import MONTH_NUMBERS, WEEKDAYS
from stories import embedding
from stories.features import term_id
from stories.tokens import STOPWORDS, stem

# The share of news articles naming a given weekday or month (roughly: one dateline in seven names the day).
CALENDAR_SHARE = 0.15

# Words in a news article, headline and body: how many draws from Zipf's distribution one article makes.
WORDS_PER_ARTICLE = 300.0


@functools.cache
def background_shares() -> tuple[np.ndarray, np.ndarray]:
    """(term ids, ascending; share of articles holding each) for the vocabulary's whole words; empty
    arrays when no vocabulary is installed."""
    words = embedding.vocabulary()
    whole = [w for w in words if len(w) >= 2 and w.isalnum()]  # "##" pieces and punctuation are not words
    if not whole:
        return np.zeros(0, np.int64), np.zeros(0)
    harmonic = math.log(len(whole)) + 0.5772
    share: dict[int, float] = {}
    for rank, word in enumerate(whole, 1):
        if word in STOPWORDS:
            continue
        term = term_id(word if word[0].isdigit() else stem(word))
        q = -math.expm1(-WORDS_PER_ARTICLE / (rank * harmonic))
        if q > share.get(term, 0.0):  # two words with one stem or id: the more common one counts
            share[term] = q
    # Calendar words: books rarely name a weekday or a month, news does in most datelines and leads. Left
    # at their book rank they would be "rare", and two unrelated reports of one Tuesday would share a
    # heavy term. A dated article's day is the date's business, an undated one's the weekday/month cues'.
    for word in (*WEEKDAYS, *MONTH_NUMBERS):
        share[term_id(stem(word))] = max(share.get(term_id(stem(word)), 0.0), CALENDAR_SHARE)
    ids = np.array(sorted(share), np.int64)
    return ids, np.array([share[t] for t in ids.tolist()])


# Pseudo-articles drawn from Zipf's law over the vocabulary, and the words in each: their mean embedding
# stands for "any news text" before the database has seen enough of its own.
PSEUDO_ARTICLES = 400
PSEUDO_WORDS = 60  # about a headline and lead, what an article's embedding is made of


@functools.cache
def background_embedding() -> np.ndarray:
    """The mean embedding of text drawn word by word from the vocabulary's Zipf distribution (float64;
    empty without a model). Seeded with Python's own generator, whose stream does not change between
    versions, so placements do not either."""
    words = embedding.vocabulary()
    whole = [w for w in words if len(w) >= 2 and w.isalnum()]
    if not whole:
        return np.zeros(0)
    rng = random.Random(0)
    cumulative = list(itertools.accumulate(1.0 / rank for rank in range(1, len(whole) + 1)))
    vectors = [
        embedding.embed_text(" ".join(rng.choices(whole, cum_weights=cumulative, k=PSEUDO_WORDS)))
        for _ in range(PSEUDO_ARTICLES)
    ]
    vectors = [v.astype(np.float64) for v in vectors if v.size]
    return np.mean(vectors, axis=0) if vectors else np.zeros(0)
