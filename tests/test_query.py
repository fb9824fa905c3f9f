"""The query language: parsing, errors, FTS5 compilation, and agreement between FTS5 and the Python matcher."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topics.query import (
    CompiledQuery,
    QueryError,
    TermListError,
    _leaf_queries,
    compile_query,
    validate_term_lists,
)
from topics.terms import FTS5_TOKENIZE, tokenize, word_forms

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
DPRK = {"dprk": ["DPRK", "North Korea*", "North Korean*", "Pyongyang", "KPA"]}
CREATE_FTS = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, outlet, content='articles', "
    f"content_rowid='id', tokenize='{FTS5_TOKENIZE}')"
)


def make_db(docs: list[tuple[str, str, str]]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE articles(id INTEGER PRIMARY KEY, title TEXT, body TEXT, outlet TEXT)")
    conn.execute(CREATE_FTS)
    conn.executemany(
        "INSERT INTO articles(id, title, body, outlet) VALUES (?, ?, ?, ?)",
        [(i, *doc) for i, doc in enumerate(docs)],
    )
    conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
    return conn


def fts_ids(conn: sqlite3.Connection, fts: str) -> list[int]:
    rows = conn.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid", (fts,))
    return [r[0] for r in rows]


def load_seeds() -> list[tuple[str, str, str]]:
    docs = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        if path.name.startswith("000_"):
            # Production strips 000's sidebar of other headlines; the sanctions test depends on that.
            text = text.split("Subscribe to our newsletter")[0]
        lines = text.strip().split("\n", 1)
        docs.append((lines[0].strip(), lines[1] if len(lines) > 1 else "", ""))
    assert len(docs) == 5
    return docs


@pytest.fixture(scope="module")
def seeds() -> list[tuple[str, str, str]]:
    return load_seeds()


class _PgDocs:
    """Documents in a real PostgreSQL store's articles table, indexed as the store indexes them; answers the
    same `SELECT rowid FROM articles_fts ... MATCH ?` as the SQLite table (the store translates it)."""

    def __init__(self, db) -> None:
        self.db = db

    def load(self, docs: list[tuple[str, str, str]]) -> _PgDocs:
        from store.backends.postgres import article_vector

        raw = self.db.conn.raw
        raw.execute("TRUNCATE article_rows CASCADE")
        raw.cursor().executemany(
            """INSERT INTO article_rows (id, source_id, guid, title, body, outlet, date_origin, sort_time,
                   content_hash, body_chars, first_seen, changed_at, fts)
               VALUES (%s, 1, %s, %s, %s, %s, 'feed', '', '', 0, '', '', %s::tsvector)""",
            [(i, str(i), *doc, article_vector(*doc)) for i, doc in enumerate(docs)],
        )
        return self

    def execute(self, sql: str, params=()):
        return self.db.execute(sql, list(params))

    def close(self) -> None:
        pass  # the module's database outlives each example


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def make_index(request: pytest.FixtureRequest) -> Iterator[object]:
    """make_db on either store: the same query tests run against SQLite FTS5 and PostgreSQL tsvector."""
    if request.param == "sqlite":
        yield make_db
        return
    from store.db import open_db

    db = open_db(request.getfixturevalue("pg_cluster").new_database())
    db.execute("INSERT INTO sources (id, name, kind, location, created_at) VALUES (1, 's', 'path', '', '')")
    docs = _PgDocs(db)
    yield docs.load
    db.close()


@pytest.fixture
def seed_db(seeds: list[tuple[str, str, str]], make_index) -> Iterator[sqlite3.Connection]:
    conn = make_index(seeds)
    yield conn
    conn.close()


def run(conn: sqlite3.Connection, docs: list[tuple[str, str, str]], q: CompiledQuery) -> list[int]:
    """FTS5's answer, after checking that the Python matcher gives the same one."""
    got = fts_ids(conn, q.fts)
    assert got == [i for i, doc in enumerate(docs) if q.matches(*doc)], q.fts
    return got


# --- parsing and compilation ------------------------------------------------------------------------------


def shape(text: str, lists: dict[str, list[str]] | None = None) -> str:
    """The query tree as a compact string of display terms, for precedence tests."""
    q = compile_query(text, lists)

    def walk(node: object) -> str:
        name = type(node).__name__
        if name == "_Term":
            return node.display  # type: ignore[attr-defined]
        if name == "_Not":
            return "-" + walk(node.child)  # type: ignore[attr-defined]
        sep = " & " if name == "_And" else " | "
        return "(" + sep.join(walk(c) for c in node.children) + ")"  # type: ignore[attr-defined]

    return walk(q._tree)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a", "a"),
        ("a b", "(a & b)"),
        ("a AND b", "(a & b)"),
        ("a OR b", "(a | b)"),
        ("a OR b c", "(a | (b & c))"),
        ("a b OR c", "((a & b) | c)"),
        ("a OR b AND c OR d", "(a | (b & c) | d)"),
        ("NOT a b", "(-a & b)"),
        ("b NOT a", "(b & -a)"),
        ("b -a", "(b & -a)"),
        ("b NOT NOT a", "(b & a)"),
        ("b NOT a OR c", "((b & -a) | c)"),
        ("b (NOT a)", "(b & -a)"),
        ("(a OR b) c", "((a | b) & c)"),
        ("a (b OR (c d))", "(a & (b | (c & d)))"),
        ('"grave concern" x', '("grave concern" & x)'),
        ('"North Korea"* x', '("North Korea"* & x)'),
        ("title:a b", "(title:a & b)"),
        ("title:(a OR b) c", "((title:a | title:b) & c)"),
        ('source:"RT News" -title:x', '(source:"RT News" & -title:x)'),
        ("@dprk", "(DPRK | North Korea* | North Korean* | Pyongyang | KPA)"),
        (
            "title:@dprk",
            "(title:DPRK | title:North Korea* | title:North Korean* | title:Pyongyang | title:KPA)",
        ),
        ("a and b or not c", "(a & and & b & or & not & c)"),
        ("Indo-Pacific", "Indo-Pacific"),
    ],
)
def test_precedence_and_structure(query: str, expected: str) -> None:
    assert shape(query, DPRK) == expected


def test_compiled_text_quotes_every_word() -> None:
    q = compile_query('troop* title:"grave concern" -source:AP', DPRK)
    assert q.fts == (
        '(({title body} : "troop" * AND title : ("grave concern" OR "grave concerned" OR '
        '"grave concerning" OR "grave concerns")) NOT outlet : "ap")'
    )
    assert q.terms == ("troop*", 'title:"grave concern"')
    assert q.text == 'troop* title:"grave concern" -source:AP'


def test_terms_are_positive_leaves_in_order_without_duplicates() -> None:
    q = compile_query("@dprk AND (troop* OR soldier* OR deploy*) NOT drill* troop*", DPRK)
    assert q.terms == (
        "DPRK",
        "North Korea*",
        "North Korean*",
        "Pyongyang",
        "KPA",
        "troop*",
        "soldier*",
        "deploy*",
    )


def test_phrase_prefix_spellings_are_equivalent() -> None:
    a = compile_query('"North Korea*"')
    b = compile_query('"North Korea"*')
    c = compile_query("@x", {"x": ["North Korea*"]})
    assert a.fts == b.fts == c.fts == '{title body} : "north korea" *'


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "empty query", 0),
        ("   ", "empty query", 0),
        ("(a OR b) AND c)", "unexpected ')' at column 15", 14),
        ("@dprk AND troop*)", "unexpected ')' at column 17", 16),
        ("a)", "unexpected ')' at column 2", 1),
        ("()", "unexpected ')' at column 2", 1),
        ("(a", "unclosed '(' at column 1", 0),
        ("x (a OR (b)", "unclosed '(' at column 3", 2),
        ('ab"cd', "unclosed quote at column 3", 2),
        ('"abc', "unclosed quote at column 1", 0),
        ('""', "empty phrase at column 1", 0),
        ('" "*', "empty phrase at column 1", 0),
        ("a AND", "missing term after AND at column 3", 2),
        ("a OR", "missing term after OR at column 3", 2),
        ("a NOT", "missing term after NOT at column 3", 2),
        ("a AND OR b", "unexpected OR at column 7", 6),
        ("AND a", "unexpected AND at column 1", 0),
        ("OR a", "unexpected OR at column 1", 0),
        ("a OR (AND b)", "unexpected AND at column 7", 6),
        ("NOT a", "NOT at column 1 has nothing to exclude from", 0),
        ("-a", "NOT at column 1 has nothing to exclude from", 0),
        ("NOT a NOT b", "NOT at column 1 has nothing to exclude from", 0),
        ("a OR NOT b", "NOT at column 6 has nothing to exclude from", 5),
        ("- a", "'-' at column 1 must be directly followed by the term it excludes", 0),
        ("a -", "'-' at column 3 must be directly followed by the term it excludes", 2),
        ("@dprkk", "unknown term list @dprkk (known: dprk)", 0),
        ("x @", "missing term list name after '@' at column 3", 2),
        ("titel:x", "unknown field 'titel:' at column 1 (known: title, body, source)", 0),
        ("a https://example.com", "unknown field 'https:' at column 3", 2),
        ("title:source:x", "field 'source:' at column 7 is inside another field scope", 6),
        ("title:(a source:b)", "field 'source:' at column 10 is inside another field scope", 9),
        ("title:", "missing term after 'title:' at column 1", 0),
        ("title: OR", "missing term after 'title:' at column 1", 0),
        ("*", "misplaced '*' at column 1", 0),
        ("a*b", "misplaced '*' at column 2", 1),
        ("**", "misplaced '*' at column 1", 0),
        ('"a * b"', "misplaced '*' at column 4", 3),
        ('"ab*"*', "misplaced '*' at column 6", 5),
        ("x a*", "prefix 'a*' at column 3 is too short", 2),
        ("&&", "nothing to search for in word '&&' at column 1", 0),
        ('"!!"', "nothing to search for in phrase '!!' at column 1", 0),
    ],
)
def test_errors_point_at_the_problem(query: str, message: str, position: int) -> None:
    with pytest.raises(QueryError) as info:
        compile_query(query, DPRK)
    err = info.value
    assert str(err).startswith(message)
    assert str(err).isprintable()
    assert err.message == str(err)
    assert err.position == position
    assert isinstance(err, ValueError)


def test_unknown_list_without_any_lists() -> None:
    with pytest.raises(QueryError, match=r"unknown term list @dprk \(known: none defined\)"):
        compile_query("@dprk")


def test_caret_line() -> None:
    query = "@dprk AND troop*)"
    with pytest.raises(QueryError) as info:
        compile_query(query, DPRK)
    assert info.value.caret_line(query) == "@dprk AND troop*)\n                ^"
    # Wide characters take two cells; control characters are blanked so they cannot reach the terminal.
    query = "朝鮮 \x1b[2J)"
    with pytest.raises(QueryError) as info:
        compile_query(query)
    assert info.value.caret_line(query) == "朝鮮  [2J)\n         ^"


# --- term lists -------------------------------------------------------------------------------------------


def test_validate_term_lists_accepts_the_config_example() -> None:
    ru = {"ru": ['"Kremlin"', "Moscow", "Russia*"], "a_b-1": ["x"]}
    assert validate_term_lists(DPRK) is None
    assert validate_term_lists(ru) is None
    # Accepted means usable: each list compiles to exactly its items.
    assert compile_query("@dprk", DPRK).terms == tuple(DPRK["dprk"])
    assert compile_query("@ru OR @a_b-1", ru).terms == ('"Kremlin"', "Moscow", "Russia*", "x")


@pytest.mark.parametrize(
    ("lists", "message", "item"),
    [
        ({"dprk": []}, "term list @dprk is empty", None),
        ({"dprk": "DPRK"}, "term list @dprk must be a list of strings", None),
        ({"dprk": ["DPRK", 3]}, "term list @dprk item 2 must be a string, not int", 1),
        ({"dprk": ["DPRK", "North *Korea"]}, "term list @dprk item 2 'North *Korea': '*' is only allowed", 1),
        ({"dprk": ["DPRK", " - "]}, "term list @dprk item 2 ' - ' has no letters or digits", 1),
        ({"dprk": ["*"]}, "term list @dprk item 1 '*' has no letters or digits", 0),
        ({"dprk": ["K*"]}, "term list @dprk item 1 'K*': prefix is too short", 0),
        ({"my list": ["x"]}, "term list name 'my list' must be letters, digits", None),
    ],
)
def test_validate_term_lists_names_the_bad_item(lists: dict, message: str, item: int | None) -> None:
    with pytest.raises(TermListError) as info:
        validate_term_lists(lists)
    assert str(info.value).startswith(message)
    assert info.value.item == item
    assert isinstance(info.value, QueryError)


def test_bad_list_used_in_query_points_at_the_reference() -> None:
    with pytest.raises(TermListError) as info:
        compile_query("troops @ru", {"ru": ["Russia", "**"]})
    assert info.value.position == 7
    assert info.value.list_name == "ru"


# --- behaviour on the seed articles -----------------------------------------------------------------------


def test_dprk_troops_topic_matches_all_five(seed_db: sqlite3.Connection, seeds: list) -> None:
    q = compile_query("@dprk AND (troop* OR soldier* OR deploy*)", DPRK)
    assert run(seed_db, seeds, q) == [0, 1, 2, 3, 4]
    assert q.matched_terms(*seeds[4]) == [
        "North Korea*",
        "North Korean*",
        "Pyongyang",
        "troop*",
        "soldier*",
        "deploy*",
    ]


def test_russia_sanctions_matches_only_004_once_the_sidebar_is_cut(
    seed_db: sqlite3.Connection, seeds: list
) -> None:
    q = compile_query("(Russia OR Russian OR Moscow OR Kremlin) AND sanction*")
    assert run(seed_db, seeds, q) == [4]
    assert q.matched_terms(*seeds[4]) == ["Russia", "Russian", "Moscow", "sanction*"]
    # With the sidebar left in, 000 matches through its list of other headlines.
    full = (SEEDS / "000_164508cfa754af43.txt").read_text(encoding="utf-8")
    assert q.matches("", full)


def test_title_sanctions_matches_none(seed_db: sqlite3.Connection, seeds: list) -> None:
    assert run(seed_db, seeds, compile_query("title:sanctions")) == []
    assert run(seed_db, seeds, compile_query("sanctions")) == [4]


def test_phrase_matches_words_in_order_and_inflects_its_last_word(
    seed_db: sqlite3.Connection, seeds: list
) -> None:
    # 000 and 001 say "grave concern"; 003 only "grave concerns".
    assert run(seed_db, seeds, compile_query('"grave concern"')) == [0, 1, 3]
    assert run(seed_db, seeds, compile_query('"concern grave"')) == []
    # Only the last word inflects: "graves concern" is not "grave concern".
    assert run(seed_db, seeds, compile_query('"graves concern"')) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("troop", [0, 1, 2, 3, 4]),  # the seeds only ever say "troops"
        ("troops", [0, 1, 2, 3, 4]),
        ("sanction", [4]),
        ("sanctioned", [4]),  # "sanctions" in 004: a bare word matches its inflections, as porter would
        ("deploy*", [0, 1, 2, 3, 4]),  # deployment, deployed: a prefix is a literal prefix
        ("deploy", [0, 1, 2, 3, 4]),  # deployed
        ("deployment", [0, 1, 2, 3]),  # 004 says only "deployed"
        ("deployments", [0, 1, 2, 3]),
        ('"North Korea*"', [0, 1, 2, 4]),  # 003 only says DPRK
        ('"North Korea"', [1, 2, 4]),
        ("soldier", [0, 2, 3, 4]),
        ("title:DPRK", [0, 3]),
        ("dprk", [0, 1, 2, 3]),
        ("condemn* -deploy*", []),
        ("Kursk NOT title:troops", [2, 4]),
        ("pentagon OR Rutte", [0, 1, 2]),
        ("U.S.", [0, 2]),
        ("US", [1]),  # "the US"; "U.S." is two tokens, and US never matches "use"/"used"
        ("us", [1]),  # matching ignores case
        ("and", [0, 1, 2, 3, 4]),  # lower-case operators are words
        ("Indo-Pacific", [0, 1, 2, 3, 4]),
        ('"indo pacific"', [0, 1, 2, 3, 4]),
        ("Indo*Pacific", None),
    ],
)
def test_seed_queries(
    seed_db: sqlite3.Connection, seeds: list, query: str, expected: list[int] | None
) -> None:
    if expected is None:
        with pytest.raises(QueryError):
            compile_query(query)
        return
    assert run(seed_db, seeds, compile_query(query, DPRK)) == expected


def test_acronyms_only_take_a_plural() -> None:
    docs = [("", "the US said", ""), ("", "it used them", ""), ("", "two UNSCRs", "")]
    conn = make_db(docs)
    assert run(conn, docs, compile_query("US")) == [0]
    assert run(conn, docs, compile_query("us")) == [0]  # too short to inflect anyway
    assert run(conn, docs, compile_query("UNSCR")) == [2]


def test_source_scope_searches_the_outlet_only() -> None:
    docs = [("Troops", "text", "Korea Herald"), ("Korea", "troops", "Reuters"), ("x", "y", "RT News")]
    conn = make_db(docs)
    assert run(conn, docs, compile_query("source:korea")) == [0]
    assert run(conn, docs, compile_query("korea")) == [1]  # unscoped terms do not look at the outlet
    assert run(conn, docs, compile_query('source:"RT News"')) == [2]
    assert run(conn, docs, compile_query("body:troops")) == [1]
    assert run(conn, docs, compile_query("troops -source:reuters")) == [0]


def test_matching_ignores_case_and_latin_accents() -> None:
    docs = [("Café talks", "Zürich and SÃO PAULO", ""), ("cafe", "zurich", ""), ("Москва", "Ελλάδα", "")]
    conn = make_db(docs)
    assert run(conn, docs, compile_query("CAFÉ")) == [0, 1]
    assert run(conn, docs, compile_query("zurich sao")) == [0]
    assert run(conn, docs, compile_query("москва")) == [2]
    assert run(conn, docs, compile_query("ελλαδα")) == []  # SQLite keeps Greek accents; so do we


def test_highlight_spans(seeds: list) -> None:
    q = compile_query("@dprk AND (troop* OR deploy*) -drill", DPRK)
    title = seeds[0][0]
    spans = q.highlight_spans(title)
    assert [title[a:b] for a, b in spans] == ["DPRK", "deployment", "troops"]
    text = "North Korean troops; the north koreans. NORTH KOREA, drill"
    assert [text[a:b] for a, b in q.highlight_spans(text)] == [
        "North Korean",
        "troops",
        "north koreans",
        "NORTH KOREA",
    ]
    scoped = compile_query("title:troops source:ap Korea")
    # Unscoped terms search the title too.
    assert [text[a:b] for a, b in scoped.highlight_spans(text, field="title")] == ["troops", "KOREA"]
    assert [text[a:b] for a, b in scoped.highlight_spans(text, field="body")] == ["KOREA"]
    assert scoped.highlight_spans("AP", field="source") == [(0, 2)]


def test_overlapping_spans_are_merged() -> None:
    q = compile_query('"north korea" korea*')
    assert q.highlight_spans("North Korea") == [(0, 11)]
    assert q.highlight_spans("North Korean") == [(6, 12)]  # the phrase inflects to Koreas, not Korean


# --- inflection rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "surface", "includes", "excludes"),
    [
        ("troop", None, {"troops"}, {"trooper"}),
        ("troops", None, {"troop"}, set()),
        ("sanctioned", None, {"sanction", "sanctions", "sanctioning"}, set()),
        ("policy", None, {"policies"}, {"police"}),
        ("agree", None, {"agreed", "agrees", "agreeing"}, set()),
        ("use", None, {"used", "using", "uses"}, set()),
        ("plan", None, {"planned", "planning", "plans"}, set()),
        ("box", None, {"boxes", "boxed"}, set()),
        ("news", None, set(), {"new"}),
        ("new", None, set(), {"news"}),
        ("shed", None, set(), {"she"}),
        ("being", None, set(), {"bee", "be"}),
        ("us", "US", set(), {"used", "uses"}),
        ("dprk", "DPRK", {"dprks"}, {"dprked"}),
        ("unscrs", "UNSCRs", {"unscr"}, set()),
        ("relation", None, {"relations"}, {"relate", "relative"}),
        ("2024", None, set(), {"2024s"}),
        ("москва", None, set(), {"москвас"}),
    ],
)
def test_word_forms(word: str, surface: str | None, includes: set[str], excludes: set[str]) -> None:
    forms = word_forms(word, surface)
    assert forms[0] == word
    assert includes <= set(forms)
    assert not excludes & set(forms)


def test_tokenize_matches_fts5_on_awkward_text() -> None:
    text = "DPRK’s «Café» İstanbul U.S. 10,000 Indo-Pacific naïve ſ straße e\u0301t\u00e9 \u2066x\u2069 µ"
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{FTS5_TOKENIZE}')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    conn.execute("INSERT INTO t(x) VALUES (?)", (text,))
    expected = [r[0] for r in conn.execute("SELECT term FROM v ORDER BY offset")]
    assert [t.text for t in tokenize(text)] == expected


def test_porter_stems_prefixes_which_is_why_the_index_is_unstemmed() -> None:
    # The measurement behind the tokenizer choice, kept so a SQLite upgrade that changes it is noticed.
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE p USING fts5(x, tokenize='porter unicode61 remove_diacritics 2')")
    words = ["deploy", "deployed", "deployment", "general", "generous", "relative", "happiness"]
    conn.executemany("INSERT INTO p(rowid, x) VALUES (?, ?)", enumerate(words))

    def porter(m: str) -> list[str]:
        return [words[r[0]] for r in conn.execute("SELECT rowid FROM p WHERE p MATCH ? ORDER BY rowid", (m,))]

    assert porter("deploy*") == ["deploy", "deployed"]  # "deploy*" becomes "deploi*": misses deployment
    assert porter("general*") == ["general", "generous"]  # "gener*": finds generous
    assert porter("relat*") == []  # relative is stored as "rel"
    assert porter("happy*") == ["happiness"]
    docs = [("", w, "") for w in words]
    ours = make_db(docs)
    assert [words[i] for i in fts_ids(ours, compile_query("deploy*").fts)] == [
        "deploy",
        "deployed",
        "deployment",
    ]
    assert [words[i] for i in fts_ids(ours, compile_query("general*").fts)] == ["general"]
    assert [words[i] for i in fts_ids(ours, compile_query("relat*").fts)] == ["relative"]


# --- hypothesis: safety and agreement ---------------------------------------------------------------------

FRAGMENTS = [
    "AND", "OR", "NOT", "and", "-", "(", ")", '"', "*", ":", "@", "@dprk", "@x", "title:", "source:", "body:",
    "titel:", "troop", "troop*", "Korea", '"North Korea"', "NEAR", "NEAR(", "^", "+", "{", "}", "'", ",",
    "\\", "\x00", "é", "’", "a", "ab*", "*ab", "col:x", "rowid", "MATCH", "\n", "  ", "🙂", "\u0301", "ſ",
]  # fmt: skip

query_strings = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
)
list_items = st.one_of(st.text(max_size=12), st.sampled_from(['"x y"', "a*", "North Korea*", "*", "K*"]))


@pytest.fixture
def empty_fts(make_index) -> Iterator[sqlite3.Connection]:
    conn = make_index([("North Korea troops", "body", "outlet")])
    yield conn
    conn.close()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=query_strings, items=st.lists(list_items, max_size=3))
def test_any_input_compiles_to_valid_fts_or_raises_query_error(
    empty_fts: sqlite3.Connection, text: str, items: list[str]
) -> None:
    lists = {"dprk": DPRK["dprk"], "x": items}
    try:
        q = compile_query(text, lists)
    except QueryError as err:
        assert 0 <= err.position <= len(text)
        assert str(err).isprintable()
        return
    fts_ids(empty_fts, q.fts)  # an OperationalError here is the bug this test hunts
    for _display, leaf in _leaf_queries(q):
        fts_ids(empty_fts, leaf)


VOCAB = [
    "troop", "troops", "trooper", "deploy", "deployed", "deployment", "sanction", "sanctions", "sanctioned",
    "north", "North", "Korea", "Korean", "koreans", "grave", "concern", "concerns", "US", "used", "use",
    "café", "Cafe", "policy", "policies", "police", "and", "NOT", "news", "new",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", ", ", ". ", "-", "’s ", "\n", " (", ") "]


@st.composite
def documents(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(VOCAB), max_size=8))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(words), max_size=len(words)))
    return "".join(w + s for w, s in zip(words, seps, strict=True))


QUERY_WORDS = [
    "troop", "troops", "troop*", "deploy*", "deployment", "sanctioned", "sanction*", "Korea*", "korea",
    '"north korea"', '"North Korea*"', '"grave concern"', "US", "use", "café", "polic*", "policy", "news",
    "@dprk", '"and"', "new", "co*",
]  # fmt: skip


@st.composite
def queries(draw: st.DrawFn, depth: int = 0) -> str:
    if depth >= 2 or draw(st.booleans()):
        term = draw(st.sampled_from(QUERY_WORDS))
        scope = draw(st.sampled_from(["", "", "", "title:", "body:", "source:"]))
        return scope + term
    left = draw(queries(depth + 1))
    right = draw(queries(depth + 1))
    op = draw(st.sampled_from([" AND ", " OR ", " ", " NOT ", " -"]))
    return f"({left}{op}{right})"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=st.lists(st.tuples(documents(), documents(), documents()), min_size=1, max_size=6), query=queries()
)
def test_python_matcher_agrees_with_fts5(docs: list[tuple[str, str, str]], query: str, make_index) -> None:
    q = compile_query(query, DPRK)
    conn = make_index(docs)
    try:
        assert fts_ids(conn, q.fts) == [i for i, d in enumerate(docs) if q.matches(*d)]
        for display, leaf_fts in _leaf_queries(q):
            expected = [i for i, d in enumerate(docs) if display in q.matched_terms(*d)]
            assert fts_ids(conn, leaf_fts) == expected, display
    finally:
        conn.close()


SMALL_WORDS = st.text(alphabet="abesdiné", min_size=1, max_size=5)
SMALL_TERMS = st.one_of(
    SMALL_WORDS,
    SMALL_WORDS.map(lambda w: w + "*"),
    st.lists(SMALL_WORDS, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
    st.lists(SMALL_WORDS, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '*"'),
)
SMALL_QUERIES = st.recursive(
    SMALL_TERMS,
    lambda inner: st.tuples(inner, st.sampled_from([" AND ", " OR ", " ", " NOT ", " -"]), inner).map(
        lambda t: f"({t[0]}{t[1]}{t[2]})"
    ),
    max_leaves=4,
)
# Accents, apostrophes, a bare combining accent and the odd folds SQLite has its own table for.
SMALL_TEXT = st.text(alphabet="abesdinAB ÉéüÜ’'.,-\n0123ſİ\u0301", max_size=30)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=st.lists(st.tuples(SMALL_TEXT, SMALL_TEXT, st.just("")), min_size=1, max_size=5), query=SMALL_QUERIES
)
def test_python_matcher_agrees_with_fts5_on_random_text(
    docs: list[tuple[str, str, str]], query: str, make_index
) -> None:
    # Tiny alphabets make words collide often, so prefixes, phrases and folding are really exercised.
    try:
        q = compile_query(query)
    except QueryError:
        return
    conn = make_index(docs)
    try:
        assert fts_ids(conn, q.fts) == [i for i, d in enumerate(docs) if q.matches(*d)]
        for display, leaf_fts in _leaf_queries(q):
            expected = [i for i, d in enumerate(docs) if display in q.matched_terms(*d)]
            assert fts_ids(conn, leaf_fts) == expected, display
    finally:
        conn.close()


def test_python_matcher_agrees_with_fts5_on_seed_leaves(seed_db: sqlite3.Connection, seeds: list) -> None:
    q = compile_query(
        '@dprk (troop* OR soldier* OR deploy*) (Russia OR Russian OR Moscow OR Kremlin OR sanction* OR "grave concern" '
        'OR title:statement OR body:missile OR US OR "Indo-Pacific" OR deployments)',
        DPRK,
    )
    for display, leaf_fts in _leaf_queries(q):
        assert fts_ids(seed_db, leaf_fts) == [
            i for i, d in enumerate(seeds) if display in q.matched_terms(*d)
        ]


# --- cost -------------------------------------------------------------------------------------------------


def test_compiling_is_cheap() -> None:
    topic = "@dprk AND (troop* OR soldier* OR deploy*) NOT (drill* OR exercise*)"
    compile_query(topic, DPRK)
    n = 200
    start = time.perf_counter()
    for _ in range(n):
        compile_query(topic, DPRK)
    per_call = (time.perf_counter() - start) / n
    assert per_call < 0.005, f"{per_call * 1e6:.0f} µs per compile"


# --- nesting depth: a one-line error, never a RecursionError or an FTS5 parser stack overflow -------------


@st.composite
def deep_queries(draw: st.DrawFn) -> str:
    """One chain of nested groups, 1-40 levels, each level a random operator and an optional scope."""
    query = draw(st.sampled_from(QUERY_WORDS))
    for _ in range(draw(st.integers(1, 40))):
        word = draw(st.sampled_from(QUERY_WORDS))
        op = draw(st.sampled_from([" AND ", " OR ", " ", " NOT ", " -"]))
        scope = draw(st.sampled_from(["", "", "title:"])) if "title:" not in query else ""
        inner = f"{scope}({query})"
        query = f"{word}{op}{inner}" if draw(st.booleans()) else f"({inner} OR {word}){op}{word}"
    return query


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=deep_queries())
def test_deeply_nested_queries_run_in_fts5_or_get_the_nesting_error(
    empty_fts: sqlite3.Connection, query: str
) -> None:
    try:
        q = compile_query(query, DPRK)
    except QueryError as err:
        # The only error a well-formed query may get is about its depth.
        assert "nested too deeply" in str(err), str(err)
        return
    fts_ids(empty_fts, q.fts)  # an "fts5: parser stack overflow" here is the bug
    q.matches("North Korea troops", "body", "outlet")


@pytest.mark.parametrize(
    "query",
    [
        "(" * 245,
        "(" * 300 + "x" + ")" * 300,
        "(a OR " * 40 + "b" + ")" * 40,
        "title:" + "(" * 300 + "x" + ")" * 300,
    ],
)
def test_deep_parentheses_get_a_one_line_error(query: str) -> None:
    with pytest.raises(QueryError) as caught:
        compile_query(query)
    assert "nested too deeply" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_thousands_of_nots_compile_and_run(empty_fts: sqlite3.Connection) -> None:
    assert compile_query("NOT " * 3000 + "troops").fts == compile_query("troops").fts
    assert compile_query("NOT " * 3001 + "x troops").fts == compile_query("NOT x troops").fts
    many = compile_query("troops " + " ".join(f"NOT y{i}" for i in range(3000)))
    fts_ids(empty_fts, many.fts)
    assert many.matches("North Korea troops", "", "")
    assert not many.matches("troops y2999", "", "")


def test_phrases_past_16383_words_are_found_only_by_sqlite(make_index) -> None:
    """The one documented difference (docs/query-language.md): PostgreSQL keeps word positions up to 16,383,
    so past that a phrase no longer matches; a word alone still does."""
    conn = make_index(
        [("", "filler " * 17000 + "grave concern", ""), ("", "grave concern " + "filler " * 17000, "")]
    )
    assert fts_ids(conn, compile_query("concern").fts) == [0, 1]
    phrase = fts_ids(conn, compile_query('"grave concern"').fts)
    assert phrase == ([1] if isinstance(conn, _PgDocs) else [0, 1])
