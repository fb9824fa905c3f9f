"""The newswatch query language: one syntax for the search box, ``newswatch search``, topics and alerts.

Syntax
------
==========================  =======================================================================
``troop``                   a word; also matches its regular inflections: troops, trooped, trooping
``"grave concern"``         a phrase: these words next to each other, in this order; the last word
                            inflects ("grave concerns"), the others match as written
``deploy*``                 a prefix: deploy, deploys, deployed, deployment, ...  (2+ characters)
``"North Korea*"``          a phrase whose last word is a prefix (also written ``"North Korea"*``)
``a b`` / ``a AND b``       both (adjacent terms are joined by AND)
``a OR b``                  either
``NOT a`` / ``-a``          exclude; needs a positive term beside it: ``troops NOT drill*``
``( ... )``                 grouping
``title:word``              only in the title; also ``title:"a phrase"``, ``title:(a OR b)``, ``title:@list``
``source:reuters``          only in the outlet name or the configured source's name; ``body:`` searches
                            only the article text
``@dprk``                   a term list from the config (``[terms] dprk = ["DPRK", "North Korea*"]``),
                            matched as (DPRK OR "North Korea*" OR ...)
==========================  =======================================================================

* Precedence: NOT binds tighter than AND, AND tighter than OR: ``a OR b c`` is ``a OR (b AND c)``,
  ``NOT a b`` is ``(NOT a) AND b``.
* Operators are written in capitals. ``and``, ``or``, ``not`` in lower case are ordinary words. To search
  for the word AND itself, quote it: ``"AND"``.
* Matching ignores case and Latin accents (``cafe`` finds "Café"); punctuation separates words, so
  ``U.S.`` is the phrase "u s" and ``Indo-Pacific`` the phrase "indo pacific".
* Without a scope a term searches the title and the body, not the outlet name.
* A word in capitals (``US``, ``UN``, ``DPRK``) is an acronym: it matches itself and a plural ("UNSCRs")
  but no other inflection, so ``US`` never finds "used". Words of one or two letters, words with digits
  and non-English words match exactly. Irregular forms (men/man, went/go) are not related: use OR.
* A query made only of exclusions (``NOT sport``) is rejected: FTS5 cannot run it.
* ``letters:`` directly before a term is a field scope, and an unknown one is an error; quote text that
  contains a colon after a word (``"note: x"``). Anything else is searched as text; every word is quoted
  in the compiled FTS5 expression, so no input can produce an FTS5 syntax error.
* Term list names are case-sensitive and lists cannot refer to other lists. ``compile_query`` checks only
  the lists a query uses; call :func:`validate_term_lists` when loading the config to check them all.

Examples: ``@dprk AND (troop* OR soldier* OR deploy*)``, ``(Russia OR Russian OR Moscow OR Kremlin) AND
sanction*``, ``title:sanctions -source:"RT News"``, ``"joint statement" (G7 OR NATO)``.

Errors are :class:`QueryError` with a 0-based ``position`` and a one-line message, e.g.
``unexpected ')' at column 14``.

The compiled ``fts`` string assumes the articles table is indexed by FTS5 with columns ``title, body,
outlet`` and ``tokenize='unicode61 remove_diacritics 2'`` (see :data:`topics.terms.FTS5_TOKENIZE`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from topics.terms import FTS5_TOKENIZE, tokenize, word_forms

__all__ = [
    "FIELDS",
    "FTS5_TOKENIZE",
    "CompiledQuery",
    "QueryError",
    "TermListError",
    "compile_query",
    "validate_term_lists",
]

#: Query field name -> FTS5 column(s) it searches. Unscoped terms search title and body.
FIELDS: Mapping[str, tuple[str, ...]] = {"title": ("title",), "body": ("body",), "source": ("outlet",)}
_DEFAULT_COLUMNS = ("title", "body")
_COLUMN_TO_FIELD = {"title": "title", "body": "body", "outlet": "source"}
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_MIN_PREFIX = 2
_LIST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_SCOPE = re.compile(r"([A-Za-z]+):")
# Characters that end a bare word. Everything else, punctuation included, is part of the word and is
# then split by the tokenizer, which is how "U.S." becomes a phrase rather than an error.
_WORD_END = frozenset(' \t\r\n\f\v()"')
#: How deeply parentheses may nest. Far beyond what a person writes, and far below what the parser's
#: recursion and SQLite's FTS5 parser (whose stack overflows near 35 levels of "(a OR (") can take.
MAX_NESTING = 16
# How deeply the compiled FTS5 expression may nest its parentheses. SQLite's FTS5 parser has a fixed stack
# (100 entries; ~3 per level of "(a OR (" in the forms `_to_fts` writes, so it overflows at 33) and fails
# with "fts5: parser stack overflow" beyond it; this keeps a margin for the leaves' own "{cols} : (…)".
_FTS_MAX_DEPTH = 24


class QueryError(ValueError):
    """A query the language cannot read; ``position`` is a 0-based offset into the query text."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return self.message

    def caret_line(self, query: str) -> str:
        """The query on one line and a ``^`` under the error position on the next."""
        # Control characters would move the terminal cursor (or worse) and misalign the caret.
        shown = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in query)
        pad = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in shown[: self.position])
        return f"{shown}\n{' ' * pad}^"


class TermListError(QueryError):
    """A bad term list or list item; ``list_name`` and ``item`` (0-based index or None) say which."""

    def __init__(self, message: str, list_name: str, item: int | None = None, position: int = 0) -> None:
        super().__init__(message, position)
        self.list_name = list_name
        self.item = item


# --- syntax tree ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    """A leaf: a word, phrase or prefix, scoped to some FTS columns."""

    tokens: tuple[str, ...]
    surface_last: str
    prefix: bool
    columns: tuple[str, ...]
    display: str

    @cached_property
    def variants(self) -> tuple[tuple[str, ...], ...]:
        if self.prefix:
            return (self.tokens,)
        *head, last = self.tokens
        return tuple((*head, form) for form in word_forms(last, self.surface_last))

    def fts(self) -> str:
        star = " *" if self.prefix else ""
        alts = [f'"{" ".join(v).replace(chr(34), chr(34) * 2)}"{star}' for v in self.variants]
        body = alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")"
        cols = self.columns[0] if len(self.columns) == 1 else "{" + " ".join(self.columns) + "}"
        return f"{cols} : {body}"

    def spans(self, text: _Text) -> Iterator[tuple[int, int]]:
        """Character spans where this term occurs in a tokenized text."""
        n = len(self.tokens)
        for variant in self.variants:
            *head, last = variant
            if self.prefix:
                ends: Iterable[int] = sorted(
                    i for word, where in text.where.items() if word.startswith(last) for i in where
                )
            else:
                ends = text.where.get(last, ())
            for end in ends:
                start = end - n + 1
                if start >= 0 and text.texts[start:end] == head:
                    yield text.tokens[start].start, text.tokens[end].end


class _Text:
    """A tokenized field indexed by token, so finding a term is a dict lookup, not a scan."""

    __slots__ = ("texts", "tokens", "where")

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.texts = [t.text for t in self.tokens]
        self.where: dict[str, list[int]] = {}
        for i, word in enumerate(self.texts):
            self.where.setdefault(word, []).append(i)


@lru_cache(maxsize=512)
def _tokenized(text: str) -> _Text:
    """Tagging asks every topic about the same article in turn: tokenize each text once, not per topic."""
    return _Text(text)


@dataclass(frozen=True)
class _And:
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Or:
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Not:
    child: _Node
    position: int


_Node = _Term | _And | _Or | _Not


# --- lexer ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lex:
    kind: str  # WORD PHRASE LIST SCOPE LPAREN RPAREN AND OR NOT MINUS
    value: str
    position: int
    prefix: bool = False
    end: int = 0


def _col(position: int) -> str:
    return f"column {position + 1}"


def _show(text: str, limit: int = 40) -> str:
    """User text quoted in an error: kept on one line and unable to drive the terminal."""
    shown = "".join(
        ch if ch == " " or unicodedata.category(ch)[0] not in "CZ" else ascii(ch)[1:-1] for ch in text
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _lex(text: str) -> list[_Lex]:
    out: list[_Lex] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Lex("LPAREN" if ch == "(" else "RPAREN", ch, i, end=i + 1))
            i += 1
        elif ch == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise QueryError(f"unclosed quote at {_col(i)}", i)
            inner = text[i + 1 : close]
            prefix = inner.rstrip().endswith("*")
            if prefix:
                inner = inner.rstrip()[:-1]
            end = close + 1
            if end < n and text[end] == "*":
                if prefix:
                    raise QueryError(f"misplaced '*' at {_col(end)}", end)
                prefix, end = True, end + 1
            star = inner.find("*")
            if star >= 0:
                pos = i + 1 + star
                raise QueryError(
                    f"misplaced '*' at {_col(pos)} (only the end of a term can be a prefix)", pos
                )
            out.append(_Lex("PHRASE", inner, i, prefix, end))
            i = end
        elif ch == "@":
            m = _LIST_NAME.match(text, i + 1)
            if not m:
                raise QueryError(f"missing term list name after '@' at {_col(i)}", i)
            out.append(_Lex("LIST", m.group(), i, end=m.end()))
            i = m.end()
        elif ch == "-":
            # A dash starting a term is NOT; inside a word ("Indo-Pacific") the word branch keeps it.
            if i + 1 >= n or text[i + 1].isspace() or text[i + 1] == ")":
                raise QueryError(f"'-' at {_col(i)} must be directly followed by the term it excludes", i)
            out.append(_Lex("MINUS", "-", i, end=i + 1))
            i += 1
        else:
            m = _SCOPE.match(text, i)
            if m:
                name = m.group(1)
                if name.lower() not in FIELDS:
                    known = ", ".join(FIELDS)
                    raise QueryError(f"unknown field '{name}:' at {_col(i)} (known: {known})", i)
                out.append(_Lex("SCOPE", name.lower(), i, end=m.end()))
                i = m.end()
                continue
            j = i
            while j < n and text[j] not in _WORD_END:
                j += 1
            word = text[i:j]
            if word in _OPERATORS:
                out.append(_Lex(word, word, i, end=j))
            else:
                prefix = word.endswith("*")
                core = word[:-1] if prefix else word
                star = core.find("*")
                if prefix and not core:
                    star = 0
                if star >= 0:
                    raise QueryError(
                        f"misplaced '*' at {_col(i + star)} (only the end of a term can be a prefix)",
                        i + star,
                    )
                out.append(_Lex("WORD", core, i, prefix, j))
            i = j
    return out


# --- parser -----------------------------------------------------------------------------------------------

_STARTS_OPERAND = frozenset({"WORD", "PHRASE", "LIST", "SCOPE", "LPAREN", "NOT", "MINUS"})


def _make_term(
    text: str, prefix: bool, columns: tuple[str, ...], display: str, position: int, what: str
) -> _Term:
    """Build a leaf from literal text; ``what`` names it in error messages."""
    tokens = tokenize(text)
    if not tokens:
        if not text.strip():
            raise QueryError(f"empty {what} at {_col(position)}", position)
        raise QueryError(f"nothing to search for in {what} '{_show(text)}' at {_col(position)}", position)
    if prefix and len(tokens[-1].text) < _MIN_PREFIX:
        raise QueryError(
            f"prefix '{_show(tokens[-1].text)}*' at {_col(position)} is too short (at least {_MIN_PREFIX} characters)",
            position,
        )
    last = tokens[-1]
    return _Term(
        tokens=tuple(t.text for t in tokens),
        surface_last=text[last.start : last.end],
        prefix=prefix,
        columns=columns,
        display=display,
    )


@dataclass
class _Parser:
    text: str
    lexemes: list[_Lex]
    term_lists: Mapping[str, Sequence[str]]
    pos: int = 0
    scope: str | None = None
    depth: int = 0
    _list_cache: dict[str, tuple[tuple[str, bool, str], ...]] = field(default_factory=dict)

    def peek(self) -> _Lex | None:
        return self.lexemes[self.pos] if self.pos < len(self.lexemes) else None

    def take(self) -> _Lex:
        lex = self.lexemes[self.pos]
        self.pos += 1
        return lex

    def unexpected(self, lex: _Lex) -> QueryError:
        return QueryError(f"unexpected {_describe(lex)} at {_col(lex.position)}", lex.position)

    def parse(self) -> _Node:
        if not self.lexemes:
            raise QueryError("empty query", 0)
        node = self.parse_or()
        lex = self.peek()
        if lex is not None:
            raise self.unexpected(lex)
        return node

    def parse_or(self) -> _Node:
        children = [self.parse_and()]
        while (lex := self.peek()) is not None and lex.kind == "OR":
            self.take()
            self.require_operand(lex)
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else _Or(tuple(children))

    def parse_and(self) -> _Node:
        children = [self.parse_unary()]
        while (lex := self.peek()) is not None and (lex.kind == "AND" or lex.kind in _STARTS_OPERAND):
            if lex.kind == "AND":
                self.take()
                self.require_operand(lex)
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else _And(tuple(children))

    def require_operand(self, op: _Lex) -> None:
        nxt = self.peek()
        if nxt is None:
            raise QueryError(f"missing term after {op.value} at {_col(op.position)}", op.position)
        if nxt.kind not in _STARTS_OPERAND:
            raise self.unexpected(nxt)

    def parse_unary(self) -> _Node:
        lex = self.peek()
        if lex is None:
            raise QueryError(f"missing term at {_col(len(self.text))}", len(self.text))
        # A run of NOTs is read in a loop, not by recursion: 3,000 of them must be an answer, not a crash.
        # NOT NOT x is x; keeping it would make a positive term look negative to the FTS compiler.
        negations: list[_Lex] = []
        while lex is not None and lex.kind in ("NOT", "MINUS"):
            self.take()
            self.require_operand(lex)
            negations.append(lex)
            lex = self.peek()
        node = self.parse_primary()
        if len(negations) % 2:
            node = node.child if isinstance(node, _Not) else _Not(node, negations[0].position)
        return node

    def parse_primary(self) -> _Node:
        lex = self.peek()
        if lex is None:
            raise QueryError(f"missing term at {_col(len(self.text))}", len(self.text))
        columns = FIELDS[self.scope] if self.scope else _DEFAULT_COLUMNS
        scope_label = f"{self.scope}:" if self.scope else ""
        if lex.kind == "LPAREN":
            self.take()
            if self.depth >= MAX_NESTING:
                raise QueryError(
                    f"parentheses nested too deeply at {_col(lex.position)} (at most {MAX_NESTING} levels)",
                    lex.position,
                )
            self.depth += 1
            try:
                return self.parse_group(lex)
            finally:
                self.depth -= 1
        return self.parse_leaf(lex, columns, scope_label)

    def parse_group(self, lex: _Lex) -> _Node:
        nxt = self.peek()
        if nxt is None:
            raise QueryError(f"unclosed '(' at {_col(lex.position)}", lex.position)
        if nxt.kind not in _STARTS_OPERAND:
            raise self.unexpected(nxt)
        node = self.parse_or()
        close = self.peek()
        if close is None:
            raise QueryError(f"unclosed '(' at {_col(lex.position)}", lex.position)
        if close.kind != "RPAREN":
            raise self.unexpected(close)
        self.take()
        return node

    def parse_leaf(self, lex: _Lex, columns: tuple[str, ...], scope_label: str) -> _Node:
        if lex.kind == "SCOPE":
            self.take()
            if self.scope is not None:
                raise QueryError(
                    f"field '{lex.value}:' at {_col(lex.position)} is inside another field scope",
                    lex.position,
                )
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("WORD", "PHRASE", "LIST", "LPAREN", "SCOPE"):
                raise QueryError(f"missing term after '{lex.value}:' at {_col(lex.position)}", lex.position)
            self.scope = lex.value
            try:
                return self.parse_primary()
            finally:
                self.scope = None
        if lex.kind == "WORD":
            self.take()
            display = scope_label + self.text[lex.position : lex.end]
            return _make_term(lex.value, lex.prefix, columns, display, lex.position, "word")
        if lex.kind == "PHRASE":
            self.take()
            display = scope_label + self.text[lex.position : lex.end]
            return _make_term(lex.value, lex.prefix, columns, display, lex.position, "phrase")
        if lex.kind == "LIST":
            self.take()
            items = self.list_items(lex)
            leaves = tuple(
                _make_term(core, prefix, columns, scope_label + shown, lex.position, "term list item")
                for core, prefix, shown in items
            )
            return leaves[0] if len(leaves) == 1 else _Or(leaves)
        raise self.unexpected(lex)

    def list_items(self, lex: _Lex) -> tuple[tuple[str, bool, str], ...]:
        name = lex.value
        if name not in self.term_lists:
            known = _show(", ".join(sorted(self.term_lists)), 200) or "none defined"
            raise QueryError(f"unknown term list @{name} (known: {known})", lex.position)
        if name not in self._list_cache:
            try:
                self._list_cache[name] = _check_list(name, self.term_lists[name])
            except TermListError as err:
                err.position = lex.position
                raise
        return self._list_cache[name]


def _describe(lex: _Lex) -> str:
    if lex.kind in ("LPAREN", "RPAREN"):
        return f"'{lex.value}'"
    if lex.kind in _OPERATORS:
        return lex.value
    return f"'{lex.value}'"


# --- term lists -------------------------------------------------------------------------------------------


def _check_item(name: str, index: int, item: object) -> tuple[str, bool, str]:
    where = f"term list @{name} item {index + 1}"
    shown_item = f"'{_show(item)}'" if isinstance(item, str) else ""
    if not isinstance(item, str):
        raise TermListError(f"{where} must be a string, not {type(item).__name__}", name, index)
    shown = item.strip()
    core = shown
    if len(core) >= 2 and core[0] == core[-1] == '"':
        core = core[1:-1].strip()
    prefix = core.endswith("*")
    if prefix:
        core = core[:-1]
    if "*" in core:
        raise TermListError(f"{where} {shown_item}: '*' is only allowed at the end", name, index)
    tokens = tokenize(core)
    if not tokens:
        raise TermListError(f"{where} {shown_item} has no letters or digits to search for", name, index)
    if prefix and len(tokens[-1].text) < _MIN_PREFIX:
        raise TermListError(
            f"{where} {shown_item}: prefix is too short (at least {_MIN_PREFIX} characters)", name, index
        )
    return core, prefix, shown


def _check_list(name: str, items: object) -> tuple[tuple[str, bool, str], ...]:
    if isinstance(items, str) or not isinstance(items, Sequence):
        raise TermListError(f"term list @{name} must be a list of strings", name)
    if not items:
        raise TermListError(f"term list @{name} is empty", name)
    return tuple(_check_item(name, i, item) for i, item in enumerate(items))


def validate_term_lists(term_lists: Mapping[str, Sequence[str]]) -> None:
    """Check every list name and item; raise :class:`TermListError` naming the first bad one."""
    for name, items in term_lists.items():
        if not isinstance(name, str) or not _LIST_NAME.fullmatch(name):
            raise TermListError(
                f"term list name '{_show(str(name))}' must be letters, digits, '_' or '-' (used as @name)",
                str(name),
            )
        _check_list(name, items)


# --- compiling to FTS5 ------------------------------------------------------------------------------------


def _not_alone(node: _Not) -> QueryError:
    return QueryError(
        f"NOT at {_col(node.position)} has nothing to exclude from; combine it with a positive term, "
        "e.g. 'troops NOT drill*'",
        node.position,
    )


def _to_fts(node: _Node) -> str:
    """FTS5 has only binary NOT ("a NOT b"), so every NOT must sit in an AND beside a positive term."""
    if isinstance(node, _Term):
        return node.fts()
    if isinstance(node, _Not):
        raise _not_alone(node)
    if isinstance(node, _Or):
        return "(" + " OR ".join(_to_fts(c) for c in node.children) + ")"
    positives = [c for c in node.children if not isinstance(c, _Not)]
    negatives = [c for c in node.children if isinstance(c, _Not)]
    if not positives:
        raise _not_alone(negatives[0])
    if len(positives) == 1:
        out = _to_fts(positives[0])
    else:
        out = "(" + " AND ".join(_to_fts(c) for c in positives) + ")"
    if negatives:
        # One NOT for all of them, (a NOT (b OR c)) rather than ((a NOT b) NOT c): the same rows, and the
        # FTS5 parser's stack does not grow with the number of exclusions.
        excluded = [_to_fts(neg.child) for neg in negatives]
        out = f"({out} NOT {excluded[0] if len(excluded) == 1 else '(' + ' OR '.join(excluded) + ')'})"
    return out


def _evaluate(node: _Node, fields: Mapping[str, _Text]) -> bool:
    if isinstance(node, _Term):
        return any(next(node.spans(fields[c]), None) is not None for c in node.columns)
    if isinstance(node, _Not):
        return not _evaluate(node.child, fields)
    if isinstance(node, _Or):
        return any(_evaluate(c, fields) for c in node.children)
    return all(_evaluate(c, fields) for c in node.children)


def _positive_leaves(node: _Node, negated: bool = False) -> Iterator[tuple[_Term, bool]]:
    if isinstance(node, _Term):
        yield node, negated
    elif isinstance(node, _Not):
        yield from _positive_leaves(node.child, not negated)
    else:
        for child in node.children:
            yield from _positive_leaves(child, negated)


@dataclass(frozen=True)
class CompiledQuery:
    """A parsed query: the FTS5 MATCH text to run in SQLite and a matcher that agrees with it."""

    text: str
    fts: str
    terms: tuple[str, ...]
    _tree: _Node = field(repr=False, compare=False)
    _leaves: tuple[_Term, ...] = field(repr=False, compare=False)

    def _fields(self, title: str, body: str, outlet: str) -> dict[str, _Text]:
        return {"title": _tokenized(title), "body": _tokenized(body), "outlet": _tokenized(outlet)}

    def matches(self, title: str, body: str, outlet: str = "") -> bool:
        """Whether the whole query matches this article (the same answer FTS5 gives)."""
        return _evaluate(self._tree, self._fields(title, body, outlet))

    def matched_terms(self, title: str, body: str, outlet: str = "") -> list[str]:
        """The positive terms (display forms, in query order) that occur in this article."""
        fields = self._fields(title, body, outlet)
        found: list[str] = []
        for leaf in self._leaves:
            if leaf.display in found:
                continue
            if any(next(leaf.spans(fields[c]), None) is not None for c in leaf.columns):
                found.append(leaf.display)
        return found

    def term_queries(self) -> list[tuple[str, str]]:
        """(display form, FTS5 expression) per positive term, in query order.

        Lets the caller explain matches inside SQLite: an article matched `term` when the term's own
        expression matches it too, which is the same answer `matched_terms` gives, without tokenizing.
        """
        grouped: dict[str, list[str]] = {}
        for leaf in self._leaves:
            grouped.setdefault(leaf.display, []).append(f"({leaf.fts()})")
        return [(display, " OR ".join(parts)) for display, parts in grouped.items()]

    def highlight_spans(self, text: str, field: str | None = None) -> list[tuple[int, int]]:
        """Sorted, non-overlapping (start, end) character spans of positive terms in ``text``.

        ``field`` ("title", "body" or "source") limits highlighting to terms that search that field;
        without it every positive term is highlighted wherever it occurs.
        """
        column = FIELDS[field][0] if field is not None else None
        tokens = _Text(text)
        spans = sorted(
            span
            for leaf in self._leaves
            if column is None or column in leaf.columns
            for span in leaf.spans(tokens)
        )
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged


def compile_query(text: str, term_lists: Mapping[str, Sequence[str]] | None = None) -> CompiledQuery:
    """Parse ``text`` and compile it to an FTS5 MATCH expression; raise :class:`QueryError` if it is bad."""
    parser = _Parser(text, _lex(text), term_lists or {})
    tree = parser.parse()
    fts = _to_fts(tree)
    if _fts_depth(fts) > _FTS_MAX_DEPTH:
        raise QueryError(
            f"query nested too deeply: it needs {_fts_depth(fts)} levels of grouping in the search index "
            f"(at most {_FTS_MAX_DEPTH}); use fewer parentheses",
            0,
        )
    if isinstance(tree, _Not):
        raise _not_alone(tree)
    leaves = tuple(leaf for leaf, negated in _positive_leaves(tree) if not negated)
    terms = tuple(dict.fromkeys(leaf.display for leaf in leaves))
    return CompiledQuery(text=text, fts=fts, terms=terms, _tree=tree, _leaves=leaves)


def _fts_depth(fts: str) -> int:
    """How deeply parentheses nest in an FTS5 expression, outside its quoted strings."""
    depth = deepest = 0
    quoted = False
    for ch in fts:
        if ch == '"':
            quoted = not quoted  # a doubled quote inside a string toggles twice: still inside
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def _leaf_queries(query: CompiledQuery) -> list[tuple[str, str]]:
    """(display, fts) for every positive leaf; lets tests check each leaf against FTS5 on its own."""
    return [(leaf.display, leaf.fts()) for leaf in query._leaves]
