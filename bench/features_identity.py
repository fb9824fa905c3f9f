"""Story features byte for byte against another revision: the same text must give the same blob.

    python -m bench.features_identity [--ref main] [--articles 3000] [--fuzz 3000]

Features are stored as blobs and placed later, so a faster `extract_features` must give exactly what the
reference revision gives, or stored and new articles would be placed against different evidence. The
reference's `stories/` and `feeds/` are taken from git (`git archive REF`) and run in a fresh process; this
checkout's run here, twice (cold caches in file order, then warm caches in a shuffled order), so a result
that depends on what a cache saw before shows up too.

The corpus: bench._genfeeds articles (real prose, ~97% ASCII), the seeds, the ECB+ documents and UCI
headlines when the eval data is there, hand-written hostile texts, and seeded fuzz built from fragments that
stress tokenizing (accents, CJK, RTL, emoji, combining marks, NFKC-changing characters, Greek capital sigma,
dotted capital I, digits of other scripts, numbers glued to words, very long words, lone surrogates).
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HOSTILE: list[tuple[str, str]] = [
    ("", ""),
    (" ", "\n\n\t "),
    ("...", "!!! ??? ;;; ::: \"\" ''"),
    ("_", "___ _a_ a_b __init__ snake_case_word"),
    ("Pelé scores", "PELÉ SCORES. Pelé, pelé, PeLé. Ça va? Über Straße STRASSE. São Paulo, Zürich; Kraków."),
    ("北京市 新闻", "北京市政府今天宣布。東京とうきょう、서울특별시 발표. 中国 China 2024年11月5日"),
    ("שלום עולם", "مرحبا بالعالم. السلام عليكم \u200f RTL \u202eevil\u202c text \u200e. ١٢٣ ٤٥٦ 7"),
    ("Emoji 🚀", "Launch 🚀🚀 today 👨\u200d👩\u200d👧 family 🇺🇸 flag 🏳️\u200d🌈 x\ufe0f y. ❤ love"),
    ("ﬁnance ＡＢＣ", "ﬁnance ﬂow ＡＢＣ１２３ x² H₂O ① Ⅻ ℃ ㎏ ｶﾀｶﾅ ﬀ ǅ ǆ Ǆ ﬆ ẛ \u212b Å"),
    ("ΟΔΟΣ", "ΟΔΟΣ ΑΣ'Α Α:Σ ΑΣ.Α Σ ΣΑ ΑΣ ὈΔΥΣΣΕΎΣ. Μάρτιος; σ ς ΣΣ Σ'Σ A.Σ a.Σ'b ΑΣ\u0301 ΑΣ\u00adΑ"),
    ("İstanbul", "İstanbul İSTANBUL İzmir DİYARBAKIR ı I i. İ. İİ. aİb 5İ"),
    ("Devanagari हिन्दी", "हिन्दी समाचार। ภาษาไทย ข่าว. e\u0301te\u0301 cafe\u0301 a\u0308b n\u0303"),
    (
        "5G and 3rd",
        "5G networks, the 3rd time, 10am, 1,874.50 troops, 1.5x faster, 2024abc, 12th-century, $5bn.",
    ),
    (
        "U.S. officials",
        "U.S. officials said U.S.-backed forces and the U.S.A. US and us, the USA. N.A.T.O. e.g. i.e.",
    ),
    ("Russia's war", "Russia's war. Russia’s war. Russia's. 's 'tis rock'n'roll O'Neil don't won't. ''"),
    ("Long", "a" * 150 + " " + "Supercalifragilistic" * 10 + " " + "x" * 5000 + " " + "9" * 300),
    ("Lone \ud800 surrogate", "text \ud800 with \udfff lone \ud83d surrogates \udc00 in it"),
    (
        "Control \x1b[31m",
        "ESC \x1b[2J clear \x07 bell \x00 nul \x1c\x1d\x1e\x1f seps \x85 nel \u2028 ls \u2029 ps",
    ),
    (
        "Dates",
        "On November 6, 2024 and 5 Nov. 2024, Dec. 16, 16 December, May 5, March on Washington, "
        "may go, 2024-11-05, 1999-12-31, Sept. 3, Monday, on Friday, TUESDAY, Sunday's game.",
    ),
    (
        "Bullets",
        '- First point\n* Second Point\n> Quoted Start\n"Quote" Opens. Then: More; Yes! Why? '
        "\n   Indented Line\n1. Numbered Item\n(Parenthesised) Start",
    ),
    ("Sentences", 'The Mayor met the mayor. Mayor Smith said. "Mayor" said. Smith, the Mayor. MAYOR.'),
]

_FRAGMENTS = [
    "the",
    "The",
    "THE",
    "said",
    "Said",
    "Kursk",
    "NATO",
    "N.A.T.O",
    "U.S.",
    "U.S.-backed",
    "US",
    "us",
    "Russia's",
    "Russia’s",
    "don't",
    "O'Neil",
    "1,874",
    "1,874.50",
    "12",
    "3.5",
    "5G",
    "3rd",
    "20th",
    "10am",
    "2024-11-05",
    "November",
    "Nov.",
    "May",
    "may",
    "March",
    "Dec.",
    "Sept",
    "Monday",
    "Friday",
    "Sunday's",
    "Pelé",
    "PELÉ",
    "café",
    "cafe\u0301",
    "Straße",
    "İstanbul",
    "İ",
    "ı",
    "ΟΔΟΣ",
    "Σ",
    "ΑΣ",
    "ς",
    "σ",
    "Μάρτιος",
    "北京市",
    "東京",
    "서울",
    "حرب",
    "שלום",
    "हिन्दी",
    "ภาษาไทย",
    "٣٤٥",
    "१२",
    "🚀",
    "👨\u200d👩\u200d👧",
    "🇺🇸",
    "ﬁnance",
    "ＡＢＣ",
    "１２３",
    "x²",
    "①",
    "Ⅻ",
    "℃",
    "ǅ",
    "\u212b",
    "\u00ad",
    "\u200b",
    "\u200d",
    "\u200f",
    "\u202e",
    "\ufeff",
    "\ud800",
    "a_b",
    "_",
    "__x__",
    "x" * 120,
    "Abcdefghij" * 12,
    "ies",
    "studies",
    "running",
    "walked",
    "agreed",
    "boss",
    "virus",
    "news",
    "s",
    "'s",
    "''",
    '"',
    "“",
    "”",
    "—",
    "–",
    "−",
    "\u00a0",
    "e.g.",
    "i.e.",
    "a.b.c",
    "1.2.3",
    "1,2",
    ",5",
    "5,",
    "5.",
    ".5",
    "$5bn",
    "€10",
    "£",
    "%",
]
_SEPARATORS = [" ", " ", " ", " ", "", "\n", "\n\n", ". ", ", ", "; ", ": ", "! ", "? ", "\t", "-", "'", ".",
               "\u2028", "\x85", "\u3000", " - ", " * ", '"', "(", ")"]  # fmt: skip


def fuzz(n: int, seed: int = 11) -> list[tuple[str, str]]:
    rng = random.Random(seed)

    def text(k: int) -> str:
        return "".join(rng.choice(_FRAGMENTS) + rng.choice(_SEPARATORS) for _ in range(k))

    return [(text(rng.randint(0, 12)), text(rng.randint(0, 400))) for _ in range(n)]


def corpus(n_articles: int, n_fuzz: int) -> list[tuple[str, str]]:
    from bench._genfeeds import articles
    from testkit.story_eval import load_seeds

    texts = [(r["title"], r["body"]) for r in articles(n_articles)]
    texts += [(a.title, a.body) for a in load_seeds()]
    texts += [("", a.title + "\n" + a.body) for a in load_seeds()]
    try:
        from testkit.story_eval import load_ecbplus, load_uci

        texts += [(a.title, a.body) for a, _, _ in load_ecbplus()]
        texts += [(a.title, a.body) for a, _ in load_uci()[:3000]]
    except OSError as exc:  # the eval data is not in every checkout
        print(f"(no eval data: {exc})", file=sys.stderr)
    texts += HOSTILE
    texts += [(b, t) for t, b in HOSTILE]  # hostile headlines, too
    texts += fuzz(n_fuzz)
    texts += [(t.upper(), b.upper()) for t, b in texts[:500]]
    texts += [(t.lower(), b.lower()) for t, b in texts[:500]]
    return texts


_REFERENCE = """
import pickle, sys
sys.path.insert(0, sys.argv[1])
import stories.features as f
assert f.__file__.startswith(sys.argv[1]), f.__file__
texts = pickle.load(open(sys.argv[2], "rb"))
pickle.dump([f.extract_features(t, b).to_bytes() for t, b in texts], open(sys.argv[3], "wb"))
"""


def reference_blobs(ref: str, texts: Sequence[tuple[str, str]]) -> list[bytes]:
    """Blobs from revision `ref`'s code, computed in a fresh process that imports only that code."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "stories", "feeds"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        (Path(tmp) / "in.pickle").write_bytes(pickle.dumps(list(texts)))
        subprocess.run(
            [sys.executable, "-c", _REFERENCE, str(src), f"{tmp}/in.pickle", f"{tmp}/out.pickle"],
            check=True,
            cwd=tmp,
        )
        return pickle.loads((Path(tmp) / "out.pickle").read_bytes())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", default="main", help="git revision to compare with (default: main)")
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--fuzz", type=int, default=3000)
    args = ap.parse_args(argv)

    from stories.features import extract_features

    texts = corpus(args.articles, args.fuzz)
    started = time.monotonic()
    expected = reference_blobs(args.ref, texts)
    print(f"{len(texts)} texts; reference ({args.ref}) computed in {time.monotonic() - started:.1f} s")

    cold = [extract_features(t, b).to_bytes() for t, b in texts]
    order = list(range(len(texts)))
    random.Random(5).shuffle(order)
    warm = [b""] * len(texts)
    for i in order:
        warm[i] = extract_features(*texts[i]).to_bytes()

    bad = [i for i in range(len(texts)) if not (cold[i] == warm[i] == expected[i])]
    digest = hashlib.sha256(b"".join(expected)).hexdigest()[:16]
    for i in bad[:10]:
        title, body = texts[i]
        which = "cold" if cold[i] != expected[i] else "warm"
        print(f"DIFFERS ({which}) #{i}: title={title[:60]!r} body={body[:100]!r}")
    print(
        f"{len(texts) - len(bad)} of {len(texts)} blobs byte-identical to {args.ref} "
        f"(cold and warm caches; reference digest {digest})"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
