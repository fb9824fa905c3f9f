"""Story features are pinned: the same text gives the same blob, byte for byte, in any process.

Features are stored (`article_features`) and placed later, possibly by a newer version, so a change to
`extract_features` that alters any term, weight, signature bit, month, weekday or embedding value moves
placements silently. These digests were computed with the features code as it was when issue 11 began; a
change meant to alter features must update them on purpose and show its effect with bench.engine_quality.
`python -m bench.features_identity` checks a much larger corpus against another revision.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stories import embedding, features
from stories.features import extract_features
from stories.tokens import _OPENING_RE, normalize, opening_words
from testkit.story_eval import load_seeds

pytestmark = pytest.mark.skipif(
    not embedding.DATA_PATH.is_file(), reason="stories/data/static_embedding.npz is not installed"
)

# (title, body, first 16 hex digits of the sha256 of ArticleFeatures.to_bytes())
PINNED: list[tuple[str, str, str]] = [
    ("", "", "8f14520da69d0bfc"),
    (
        "Magnitude 7.1 earthquake strikes off Chile, dozens killed",
        "A powerful quake shook the coast on Monday. Rescuers in Valparaíso said 36 people died and 1,874 were hurt. President Gabriel Boric flew to the region on November 6, 2024.",
        "753b873494889b53",
    ),
    (
        "U.S. officials: Russia's war enters 3rd year",
        "WASHINGTON (AP) - U.S.-backed forces and NATO's 5G networks. The U.S.A. and the US said on Friday that 11,000-12,000 troops, 1.5x more, were sent. Officials said the Mayor met the mayor.",
        "c7eb29d008e2a2fa",
    ),
    (
        "Allies condemn the DPRK’s deployment of troops to Russia",
        "NATO Secretary General Mark Rutte called the deployment “a significant escalation” — “another breach”.\n- Advertisement -\nThe G7 countries on 5 Nov. 2024 and Dec. 16 expressed “grave concern”.",
        "c05b66318c2ed10c",
    ),
    (
        "Pelé scores",
        "PELÉ SCORES. Pelé, pelé. Ça va? Über Straße STRASSE. São Paulo, Zürich; Kraków.",
        "943434b45927d02c",
    ),
    (
        "北京市 新闻",
        "北京市政府今天宣布。東京とうきょう、서울특별시 발표. 中国 China 2024-11-05",
        "bed2f1a7164053e3",
    ),
    (
        "שלום",
        "مرحبا بالعالم. \u200f RTL \u202eevil\u202c text. ١٢٣ ٤٥٦ ह\u093fन\u094dद\u0940 सम\u093eच\u093eर। e\u0301te\u0301",
        "a7c7ce34b212cf52",
    ),
    (
        "Emoji 🚀",
        "Launch 🚀🚀 today 👨\u200d👩\u200d👧 family 🇺🇸 flag. ﬁnance ＡＢＣ１２３ x² ① Ⅻ ℃",
        "07929193d3bd7727",
    ),
    ("ΟΔΟΣ", "ΟΔΟΣ ΑΣ'Α Α:Σ ΑΣ.Α Σ ΣΑ. İstanbul İSTANBUL DİYARBAKIR ı. Μάρτιος 5", "e09a829facca8736"),
    (
        "Long words",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa SupercalifragilisticSupercalifragilisticSupercalifragilisticSupercalifragilisticSupercalifragilisticSupercalifragilisticSupercalifragilisticSupercalifragilisticSupercalifragilisticSupercalifragilistic word 999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999 x_y __init__",
        "2610fdfaa2ad4753",
    ),
    (
        "Lone \ud800 surrogate",
        "text \ud800 with \udfff lone surrogates \x1b[2J and \x00 controls \u2028 too",
        "db1f17d1e7845bf0",
    ),
    (
        "Bullets",
        '- First point\n* Second Point\n> Quoted Start\n"Quote" Opens. Then: More; Yes! Why? May 5',
        "8accb8eae7f55102",
    ),
]

# seed file (first three characters of its name) -> digest
SEEDS = {
    "000": "7e20bb1dd06bc173",
    "001": "0ec0c2845b36ef65",
    "002": "13d9e93dfc698d23",
    "003": "e39ff2a1f3e24a9d",
    "004": "a4795e50fa3fb454",
}


def digest(title: str, body: str) -> str:
    return hashlib.sha256(extract_features(title, body).to_bytes()).hexdigest()[:16]


@pytest.mark.parametrize(("title", "body", "expected"), PINNED)
def test_pinned_texts(title: str, body: str, expected: str) -> None:
    assert digest(title, body) == expected


def test_pinned_seeds() -> None:
    assert {a.outlet[:3]: digest(a.title, a.body) for a in load_seeds()} == SEEDS


def test_same_blobs_in_a_fresh_process_and_with_warm_caches() -> None:
    # Caches of per-word work must never change a result: everything again, in reverse order, then cold
    # in another process.
    expected = [h for _, _, h in PINNED]
    assert [digest(t, b) for t, b, _ in reversed(PINNED)] == expected[::-1]
    code = (
        "from tests.test_feature_identity import PINNED, digest; "
        "print(' '.join(digest(t, b) for t, b, _ in PINNED))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == expected


def _fuzz(n: int, seed: int) -> list[str]:
    # Short texts from the characters the tokenizer and the sentence-opening rule decide on.
    rng = random.Random(seed)
    alphabet = [*"aAz1_ \n\t.!?:;\"'-,éΣİ", "\u2028", "\x1c", "U.S.", "\n\n", ". ", '." ', "5G", "1990s"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def test_fast_sentence_openings_match_the_pattern() -> None:
    for text in [*_fuzz(20000, seed=1), *(b for _, b, _ in PINNED)]:
        text = normalize(text)
        assert opening_words(text) == _OPENING_RE.findall(text), text


def test_same_blobs_when_the_vocabulary_is_replaced_mid_run(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [(t, b) for t, b, _ in PINNED] + [
        (a, b) for a, b in zip(_fuzz(200, 2), _fuzz(200, 3), strict=True)
    ]
    expected = [extract_features(t, b).to_bytes() for t, b in texts]
    monkeypatch.setattr(features, "_VOCABULARY_LIMIT", 16)
    monkeypatch.setattr(features, "_vocabulary", features._Vocabulary())
    assert [extract_features(t, b).to_bytes() for t, b in texts] == expected


def test_same_blobs_from_concurrent_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [(a, b) for a, b in zip(_fuzz(300, 4), _fuzz(300, 5), strict=True)]
    expected = [extract_features(t, b).to_bytes() for t, b in texts]
    monkeypatch.setattr(features, "_vocabulary", features._Vocabulary())  # every thread learns words at once
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: [extract_features(t, b).to_bytes() for t, b in texts], range(4)))
    assert all(run == expected for run in runs)


NOW = datetime(2024, 11, 5, tzinfo=UTC)


def test_a_long_body_makes_the_features_of_its_opening(tmp_path: Path) -> None:
    """Features read a body's first FEATURE_BODY_CHARS characters, and placement reads no more of it from the
    store: the same blob, whether computed from the whole text or from what placement reads."""
    from feeds.records import ArticleRecord
    from store.articles import FEATURES_AT_PLACEMENT, upsert_articles
    from store.db import open_db, write_batch
    from store.grouping_state import features_of
    from store.sources import SourceSpec, sync_sources

    opening = "Rescuers searched the rubble in Valparaíso on Monday. " * 400  # ~21,600 characters
    tail = "An unrelated later section names Lisbon, Oslo and grain exports. " * 3000
    body = opening + tail
    assert len(opening) > features.FEATURE_BODY_CHARS
    whole = extract_features("Quake", body).to_bytes()
    assert whole == extract_features("Quake", body[: features.FEATURE_BODY_CHARS]).to_bytes()
    assert whole != extract_features("Quake", tail).to_bytes()

    db = open_db(tmp_path / "long.db")
    with write_batch(db):
        sync_sources(db, [SourceSpec("S", "path", str(tmp_path))], now=NOW)
        [article_id] = upsert_articles(
            db,
            1,
            [ArticleRecord(guid="long", title="Quake", body=body)],
            now=NOW,
            features=lambda records: [FEATURES_AT_PLACEMENT] * len(records),
        ).new_ids
    *_, title, read = features_of(db, [article_id])[article_id]
    assert (title, read) == ("Quake", body[: features.FEATURE_BODY_CHARS])
    assert extract_features(title, read).to_bytes() == whole
