"""Shared texts and helpers for the story tests (tests/test_stories.py, tests/test_story_ingest.py)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from stories.engine import ChunkResult, EngineSettings, PlaceInput, StoryEngine
from stories.features import extract_features

T0 = datetime(2024, 11, 5, 12, tzinfo=UTC)

QUAKE = (
    "A magnitude 6.1 earthquake struck off the coast of West Papua province in Indonesia on Sunday, "
    "the U.S. Geological Survey said. The quake hit at 7:48 a.m. local time about 75 kilometers from "
    "Manokwari at a depth of 35 kilometers. Residents of Manokwari ran out of their houses and the "
    "regional disaster agency said two hotels were damaged. No tsunami warning was issued by the "
    "Indonesian meteorology agency, and officials in Jayapura reported no casualties so far."
)
QUAKE_REWRITE = (
    "Residents fled buildings in Manokwari after a strong 6.1 magnitude quake hit Indonesia's West Papua "
    "on Sunday morning. The Geological Survey put the epicentre 75 kilometers away, 35 kilometers deep. "
    "Two hotels in Manokwari were damaged, the disaster agency said, and no tsunami warning followed."
)
OTHER_QUAKE = (
    "A magnitude 5.4 earthquake shook the island of Crete in Greece on Thursday, the seismological "
    "institute in Athens said. The quake struck near Heraklion at a depth of 10 kilometers. Residents "
    "of Heraklion ran into the streets and a church in Chania was damaged. Greek officials said no "
    "tsunami warning was issued and there were no casualties."
)
FOLLOW_UP = (
    "Aid workers reached Manokwari on Monday, a day after the 6.1 magnitude earthquake in West Papua. "
    "The regional disaster agency said 40 families slept in tents and the two damaged hotels were closed. "
    "Schools in Manokwari will stay shut until engineers check them, officials said."
)
# Looser follow-ups of QUAKE (no weekday in them). LOOSE_FOLLOW_UP joins QUAKE up to story_threshold ~0.3
# (shipped settings otherwise, no gap in time, when written). Tests that
# need a text just above or below a bar calibrate the bar with `join_threshold`, so re-tuning the
# settings does not silently turn them into tests of nothing.
LOOSE_FOLLOW_UP = (
    "Tents for Manokwari families",
    "Aid workers handed out tents and blankets in Manokwari, where families whose homes cracked slept "
    "outdoors for a second night. The regional disaster agency said schools would stay closed this week.",
)
# Three reports of one quake: the first two share no content word, the third tells both halves.
QUAKE_FACTS = (
    "Earthquake of magnitude 6.1 strikes West Papua province of Indonesia, the Geological Survey said. "
    "The quake was 35 kilometers deep and no tsunami warning was issued."
)
QUAKE_DAMAGE = (
    "Residents of Manokwari fled their homes and slept in the streets overnight. The regional disaster agency "
    "said two hotels and a mosque were damaged and families moved into tents."
)
QUAKE_BOTH = (
    "Earthquake of magnitude 6.1 strikes West Papua: residents of Manokwari fled their homes, two hotels and a "
    "mosque were damaged, the regional disaster agency said. No tsunami warning was issued."
)

# A wire item of about 100 words, for reprints.
WIRE = (
    "The central bank of Norway raised its main interest rate by a quarter point to 4.5 percent on "
    "Thursday, its highest level since 2008, and said borrowing costs would likely stay there for some "
    "time as inflation remained well above the target. Governor Ida Wolden Bache told reporters in Oslo "
    "that the weak krone had pushed up the price of imported goods and that wage growth was stronger "
    "than expected this year. Economists polled by Reuters had been split between a hike and a pause. "
    "The krone strengthened against the euro after the announcement, while shares of Norwegian lenders "
    "rose in early trading on the Oslo exchange."
)


def change_words(text: str, n: int, seed: int = 0, replacement: str | None = "changed") -> str:
    """`text` with `n` words replaced (by `replacement`, or by a different made-up word each when None)."""
    words = text.split()
    rng = random.Random(seed)
    for i in rng.sample(range(len(words)), n):
        words[i] = replacement or "".join(
            rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3)
        )
    return " ".join(words)


def item(
    aid: int, body: str, title: str = "", when: datetime | None = T0, certain: bool = True
) -> PlaceInput:
    return PlaceInput(
        aid, when.timestamp() if when else None, certain and when is not None, extract_features(title, body)
    )


def place_chunks(engine: StoryEngine, chunks: Sequence[Sequence[PlaceInput]]) -> list[ChunkResult]:
    return [engine.place(list(chunk)) for chunk in chunks]


def place_each(engine: StoryEngine, items: Sequence[PlaceInput]) -> list[ChunkResult]:
    """One article per chunk: the hardest case (nothing is seen together)."""
    return place_chunks(engine, [[x] for x in items])


def split(items: Sequence[PlaceInput], size: int) -> list[list[PlaceInput]]:
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def current_stories(engine: StoryEngine, results: Sequence[ChunkResult]) -> dict[int, int]:
    """article id -> story now (merges followed, and earlier articles that a later chunk moved)."""
    recorded: dict[int, int] = {}
    for result in results:
        recorded.update((p.article_id, p.story_id) for p in result.placements)
        recorded.update(result.moved)
    return {aid: engine.story_of(sid) for aid, sid in recorded.items()}


def join_threshold(
    first: Sequence[PlaceInput], second: PlaceInput, settings: EngineSettings | None = None
) -> float | None:
    """The largest story_threshold (other settings as given) at which `second`, placed after `first` (one
    per chunk), joins the story of `first[0]`: its similarity less the rest of its bar. None: never joins."""

    def joins(threshold: float) -> bool:
        engine = StoryEngine(replace(settings or EngineSettings(), story_threshold=threshold))
        place_each(engine, first)
        return engine.place([second]).placements[0].story_id == first[0].article_id

    lo, hi = -1.0, 2.0
    if not joins(lo):
        return None
    for _ in range(18):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if joins(mid) else (lo, mid)
    return lo


# --------------------------------------------------------------------------------- synthetic streams

_CONSONANTS = "bcdfgklmnprstvz"
_VOWELS = "aeiou"


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 4)))


def synthetic_stream(n: int = 300, seed: int = 11, events: int = 40) -> list[PlaceInput]:
    """`n` articles about `events` events over ~6 weeks, in time order (ids in that order).

    Each event has a name, two halves of facts (which share no word) and a date; an article tells one half,
    the other, or both (a bridge, which can merge the halves' stories when they were placed apart), or is
    a near copy of an earlier article. One in six dates is uncertain (a far stand-in). Filler words are
    drawn from a shared pool, so document frequencies matter."""
    rng = random.Random(seed)
    common = [_word(rng) for _ in range(120)]
    plan = []
    for _ in range(events):
        name = _word(rng).capitalize()
        halves = ([_word(rng) for _ in range(14)], [_word(rng) for _ in range(14)])
        plan.append((name, halves, T0 + timedelta(hours=rng.randrange(0, 24 * 42))))
    drafts: list[tuple[float, str, str]] = []
    for i in range(n):
        name, (a, b), when = plan[rng.randrange(events)]
        kind = rng.random()
        if drafts and kind < 0.12:
            _, title, body = drafts[rng.randrange(len(drafts))]
            body = change_words(body, rng.randint(0, 3), seed=i, replacement=None)
            stamp = drafts[-1][0] if rng.random() < 0.5 else when.timestamp() + rng.uniform(0, 36) * 3600
        else:
            facts = a if kind < 0.45 else b if kind < 0.8 else rng.sample(a, 7) + rng.sample(b, 7)
            words = rng.sample(facts, min(len(facts), 10)) + rng.sample(common, 12)
            rng.shuffle(words)
            title = f"{name} {' '.join(words[:4])}"
            body = f"{name} {' '.join(words)}. {name} {' '.join(rng.sample(facts, 5))} {_word(rng)}."
            stamp = when.timestamp() + rng.uniform(0, 36) * 3600
        drafts.append((stamp, title, body))
    drafts.sort(key=lambda d: d[0])
    out = []
    for aid, (stamp, title, body) in enumerate(drafts, start=1):
        certain = rng.random() > 1 / 6
        when = datetime.fromtimestamp(stamp, UTC) if certain else T0 + timedelta(weeks=30)
        out.append(item(aid, body, title, when, certain))
    return out
