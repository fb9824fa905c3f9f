"""config.toml: a typed schema read with tomllib, every problem reported at once with file, key and expectation.

Lookup order (documented in the README):
  config file: --config FILE, then $NEWSWATCH_CONFIG, then <user config dir>/config.toml, then the bundled one;
  database:    --db FILE, then $NEWSWATCH_DB, then `database` in the config file, then <user data dir>.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feeds.limits import FetchLimits
from store.backends import database_target
from store.sources import SourceSpec

if TYPE_CHECKING:
    from topics.query import CompiledQuery

APP_NAME = "newswatch"
# Shipped inside the package (a wheel has nothing outside it): in a checkout these are symlinks to the
# repository's config.toml and seeds/, which the wheel build copies in, so `pip install .` then
# `newswatch ingest` works from any directory.
BUNDLED_CONFIG = Path(__file__).resolve().parent / "bundled" / "config.toml"
DEFAULT_INTERVAL_SECONDS = 30 * 60
DEFAULT_DIGEST_PERIOD_SECONDS = 24 * 3600
DIGEST_FORMATS = ("text", "markdown", "html", "json")
# The longest duration anything accepts (an interval, an age for --since): a century. Beyond it, times
# overflow Python's datetime and SQLite's integers.
MAX_DURATION_DAYS = 36_500
_MAX_DURATION_SECONDS = MAX_DURATION_DAYS * 86400
# [fetch] settings: (smallest, largest) accepted. A value outside is a typo, and 1e308 or nan would
# overflow or never time out.
_FETCH_RANGES: dict[str, tuple[float, float]] = {
    "timeout": (0.001, 3600),
    "deadline": (0.001, 86400),
    "max_body_mb": (0.001, 4096),
    "run_deadline": (0.001, 7 * 86400),
    "host_gap": (0, 3600),
    "concurrency": (1, 10_000),
    "per_host": (1, 1000),
}

# [fetch] keys -> FetchLimits fields (max_body_mb is converted to bytes).
_FETCH_FIELDS = {
    "timeout": "read_timeout",
    "deadline": "deadline",
    "max_body_mb": "max_body_bytes",
    "run_deadline": "run_deadline",
    "host_gap": "host_gap",
}

_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


class ConfigError(ValueError):
    """All the problems found in one config file; str() gives one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_duration(value: str | int) -> int:
    """'15m', '1h30m', '2d', '45s' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError('expected a duration like "15m"')
    if isinstance(value, int):
        total = value
        if total <= 0:
            raise ValueError("expected a positive number of seconds")
    else:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if not match or not any(match.groups()):
            raise ValueError(f'expected a duration like "15m", "1h" or "2d", got {value!r}')
        days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
        total = days * 86400 + hours * 3600 + minutes * 60 + seconds
        if total <= 0:
            raise ValueError("expected a positive duration")
    if total > _MAX_DURATION_SECONDS:
        raise ValueError(f"expected a duration of at most {MAX_DURATION_DAYS} days, got {_show(value)}")
    return total


def duration_words(seconds: int) -> str:
    """A duration as it would be typed: 86400 -> '24h', 604800 -> '7d', 5400 -> '90m'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and (unit != "d" or seconds // size > 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _show(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_when(text: str, *, now: datetime | None = None) -> datetime | None:
    """A point in time as people type it: '' -> None; '7d' / '12h' -> that long ago; '2024-11-05' or an
    ISO time -> that moment (UTC). Raises ValueError with a one-line hint. Shared by the CLI and the TUI."""
    text = text.strip()
    if not text:
        return None
    now = now or datetime.now(UTC)
    if _DURATION.match(text):
        # An age: its own error (too long, zero) is the one to show, not "expected a date".
        return now - timedelta(seconds=parse_duration(text))
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f'expected a date like 2024-11-05 or an age like "7d", got {text!r}') from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class FulltextSettings:
    """`[fulltext]`: when a feed item's page is fetched, and how much one pass may fetch (issue 15)."""

    threshold: int = 600  # "auto" fetches the page of an item whose feed text is shorter than this
    max_pages: int = 200  # pages per pass; the rest wait for later passes, newest first
    max_seconds: float = 60.0  # seconds of page fetching per pass


@dataclass(frozen=True, slots=True)
class TopicConfig:
    name: str
    query: str
    alert: bool = False


@dataclass(slots=True)
class Config:
    path: Path
    sources: list[SourceSpec] = field(default_factory=list)
    source_outlets: dict[str, str] = field(default_factory=dict)
    # Per source `fulltext = "auto" | true | false`; a source not named here is "auto".
    source_fulltext: dict[str, str | bool] = field(default_factory=dict)
    fulltext: FulltextSettings = field(default_factory=FulltextSettings)
    database: Path | str | None = None  # a file, or a postgresql:// URL
    terms: dict[str, list[str]] = field(default_factory=dict)
    topics: list[TopicConfig] = field(default_factory=list)
    # Each topic's query, compiled once when the config is checked; the session and the reader use these.
    topic_queries: dict[str, CompiledQuery] = field(default_factory=dict)
    realert_sizes: list[int] = field(default_factory=list)
    mark_story_read: bool = True
    # Times in UTC instead of the local time zone (`[ui] utc = true`, or `newswatch --utc`).
    utc: bool = False
    # How `o` opens a link: "w3m %u" (in the terminal) or "firefox %u &" (in the background); see
    # newswatch.browser. None: $BROWSER, the desktop's opener, or a console browser on PATH.
    browser: str | None = None
    # `[fetch]`, as the fetcher takes it: one object, one set of defaults (feeds.limits).
    fetch: FetchLimits = field(default_factory=FetchLimits)
    # `[digest]`: which topics (empty: every topic, in config order), the period, the format, stories per topic.
    digest_topics: list[str] = field(default_factory=list)
    digest_period: int = DEFAULT_DIGEST_PERIOD_SECONDS
    digest_format: str = "text"
    digest_limit: int = 10


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def default_db_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "newswatch.db"


def write_starter_config(path: Path, *, bundled: Path = BUNDLED_CONFIG) -> Path:
    """Create the user's config from the bundled one, its sources commented out (paths made absolute, so
    uncommenting one reads the bundled samples); topics and term lists stay. Refuses to overwrite."""
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    lines = bundled.read_text(encoding="utf-8").splitlines()
    out = [
        "# newswatch configuration, created from the bundled sample. Paths are relative to this file.",
        "# The bundled sample sources, commented out: remove the '# ' before a [[sources]] block to read it.",
    ]
    in_source = False
    for line in lines[1:] if lines and lines[0].startswith("# newswatch configuration") else lines:
        stripped = line.strip()
        if stripped == "[[sources]]":
            in_source = True
        elif stripped.startswith("[") or not stripped:
            in_source = False
        if in_source:
            match = re.match(r'^(\s*path\s*=\s*)"(.*)"(.*)$', line)
            if match and not Path(match[2]).is_absolute():
                line = f'{match[1]}"{(bundled.parent / match[2]).as_posix()}"{match[3]}'
            line = f"# {line}"
        out.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def resolve_config_path(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if env := os.environ.get("NEWSWATCH_CONFIG"):
        return Path(env).expanduser()
    user = default_config_path()
    return user if user.exists() else BUNDLED_CONFIG


def resolve_db_path(explicit: str | None, config: Config | None) -> Path | str:
    """The database: a file path, or a postgresql:// URL (a str). Raises ValueError for another URL."""
    if explicit:
        return database_target(explicit)
    if env := os.environ.get("NEWSWATCH_DB"):
        return database_target(env)
    if config is not None and config.database is not None:
        return config.database
    return default_db_path()


class _Checker:
    """Collects problems as 'file: key: expected …' lines instead of stopping at the first."""

    def __init__(self, path: Path):
        self.path = path
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.path}: {key}: {message}")

    def unknown_keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.problem(f"{where}{key}", f"unknown key (expected one of: {known})")

    def typed(self, table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
        if key not in table:
            return None
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int subclass: `true` must not pass where a number is expected.
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            names = " or ".join(_type_name(k) for k in kinds)
            self.problem(f"{where}{key}", f"expected {names}, got {_type_name(type(value))} {value!r}")
            return None
        return value


def _type_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list"}.get(
        kind, kind.__name__
    )


_TOP_KEYS = {"database", "opml", "sources", "terms", "topics", "alerts", "ui", "fetch", "digest", "fulltext"}
_SOURCE_KEYS = {"name", "path", "url", "interval", "outlet", "fulltext"}


def load_config(path: Path) -> Config:
    """Read and validate a config file; raises ConfigError listing every problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read: {error}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{path}: invalid TOML: {error}"]) from None

    check = _Checker(path)
    base = path.resolve().parent
    config = Config(path=path)
    check.unknown_keys(raw, _TOP_KEYS, "")

    if (database := check.typed(raw, "database", str, "")) is not None:
        try:
            target = database_target(database)
        except ValueError as error:
            check.problem("database", str(error))
        else:
            # A file is relative to the config file; a server URL is taken as written.
            config.database = target if isinstance(target, str) else (base / target).resolve()

    names: set[str] = set()
    sources = raw.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(item, dict) for item in sources):
        check.problem("sources", "expected an array of tables ([[sources]])")
        sources = []
    for index, table in enumerate(sources):
        where = f"sources[{index}]."
        check.unknown_keys(table, _SOURCE_KEYS, where)
        name = check.typed(table, "name", str, where)
        location_path = check.typed(table, "path", str, where)
        url = check.typed(table, "url", str, where)
        outlet = check.typed(table, "outlet", str, where)
        interval = None
        if "interval" in table:
            try:
                interval = parse_duration(table["interval"])
            except ValueError as error:
                check.problem(f"{where}interval", str(error))
        if not name:
            check.problem(f"{where}name", "required: a unique name for the source")
            continue
        if name in names:
            check.problem(f"{where}name", f"duplicate source name {name!r}")
        names.add(name)
        if (location_path is None) == (url is None):
            check.problem(where.rstrip("."), "expected exactly one of `path` or `url`")
            continue
        if url is not None:
            if not re.match(r"(?i)^https?://", url):
                check.problem(f"{where}url", f"expected an http(s) URL, got {url!r}")
                continue
            config.sources.append(SourceSpec(name, "url", url, interval))
        else:
            assert location_path is not None
            config.sources.append(SourceSpec(name, "path", str(base / location_path), interval))
        if outlet:
            config.source_outlets[name] = outlet
        if "fulltext" in table:
            _source_fulltext(check, config, name, table["fulltext"], where)

    opml = raw.get("opml")
    opml_files = [opml] if isinstance(opml, str) else opml
    if opml is not None and not (
        isinstance(opml_files, list) and all(isinstance(o, str) for o in opml_files)
    ):
        check.problem("opml", "expected a path or a list of paths to OPML files")
    elif opml_files:
        _load_opml_sources(check, config, base, opml_files, names)

    terms = raw.get("terms", {})
    if not isinstance(terms, dict):
        check.problem("terms", "expected a table of term lists")
        terms = {}
    for list_name, items in terms.items():
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(i, str) and i.strip() for i in items)
        ):
            check.problem(f"terms.{list_name}", "expected a non-empty list of strings")
            continue
        config.terms[list_name] = items

    topics = raw.get("topics", {})
    if not isinstance(topics, dict):
        check.problem("topics", 'expected tables like [topics."DPRK troops"]')
        topics = {}
    for topic_name, table in topics.items():
        where = f"topics.{_toml_key(topic_name)}."
        if not isinstance(table, dict):
            check.problem(where.rstrip("."), "expected a table with `query` (and optional `alert`)")
            continue
        check.unknown_keys(table, {"query", "alert"}, where)
        query = check.typed(table, "query", str, where)
        alert = check.typed(table, "alert", bool, where)
        if query is None:
            if "query" not in table:
                check.problem(f"{where}query", "required: the topic's search query")
            continue
        config.topics.append(TopicConfig(topic_name, query, bool(alert)))

    alerts = _subtable(check, raw, "alerts", {"realert_sizes"})
    if (sizes := check.typed(alerts, "realert_sizes", list, "alerts.")) is not None:
        if all(isinstance(s, int) and not isinstance(s, bool) and s > 1 for s in sizes):
            config.realert_sizes = sorted(set(sizes))
        else:
            check.problem(
                "alerts.realert_sizes", "expected a list of story sizes greater than 1, e.g. [5, 20]"
            )

    ui = _subtable(check, raw, "ui", {"mark_story_read", "utc", "browser"})
    if (browser := check.typed(ui, "browser", str, "ui.")) is not None:
        from newswatch.browser import BrowserSettingError, parse_browser_setting

        try:
            parse_browser_setting(browser)
            config.browser = browser
        except BrowserSettingError as error:
            check.problem("ui.browser", f'{error} (expected a command like "w3m %u" or "firefox %u &")')
    if (mark := check.typed(ui, "mark_story_read", bool, "ui.")) is not None:
        config.mark_story_read = mark
    if (utc := check.typed(ui, "utc", bool, "ui.")) is not None:
        config.utc = utc

    fetch = _subtable(
        check,
        raw,
        "fetch",
        {"timeout", "deadline", "max_body_mb", "concurrency", "per_host", "run_deadline", "host_gap"},
    )
    fetch_limits: dict[str, Any] = {}
    for key in ("timeout", "deadline", "max_body_mb", "run_deadline", "host_gap"):
        if (value := check.typed(fetch, key, (int, float), "fetch.")) is not None:
            low, high = _FETCH_RANGES[key]
            if not (math.isfinite(value) and low <= value <= high):
                floor = "0" if low == 0 else "more than 0"
                unit = "a size in MB" if key == "max_body_mb" else "a number of seconds"
                check.problem(f"fetch.{key}", f"expected {unit} from {floor} to {high:g}, got {value!r}")
            else:
                fetch_limits[_FETCH_FIELDS[key]] = int(value * 1024 * 1024) if key == "max_body_mb" else value
    for key in ("concurrency", "per_host"):
        if (value := check.typed(fetch, key, int, "fetch.")) is not None:
            low, high = _FETCH_RANGES[key]
            if not low <= value <= high:
                check.problem(f"fetch.{key}", f"expected an integer from {low:g} to {high:g}, got {value!r}")
            else:
                fetch_limits[key] = value
    config.fetch = replace(config.fetch, **fetch_limits)

    _load_digest(check, raw, config)
    _load_fulltext(check, raw, config)
    _check_topic_queries(check, config)
    if check.problems:
        raise ConfigError(check.problems)
    return config


def _load_digest(check: _Checker, raw: dict[str, Any], config: Config) -> None:
    digest = _subtable(check, raw, "digest", {"topics", "period", "format", "limit"})
    if (topics := check.typed(digest, "topics", list, "digest.")) is not None:
        known = {topic.name.casefold(): topic.name for topic in config.topics}
        for index, name in enumerate(topics):
            if not isinstance(name, str):
                check.problem(f"digest.topics[{index}]", f"expected a topic name, got {name!r}")
            elif name.casefold() not in known:
                names = ", ".join(topic.name for topic in config.topics) or "none configured"
                check.problem(f"digest.topics[{index}]", f"no topic named {name!r} (known: {names})")
            elif known[name.casefold()] not in config.digest_topics:
                config.digest_topics.append(known[name.casefold()])
    if "period" in digest:
        try:
            config.digest_period = parse_duration(digest["period"])
        except ValueError as error:
            check.problem("digest.period", str(error))
    if (form := check.typed(digest, "format", str, "digest.")) is not None:
        if form in DIGEST_FORMATS:
            config.digest_format = form
        else:
            check.problem("digest.format", f"expected one of {', '.join(DIGEST_FORMATS)}, got {form!r}")
    if (limit := check.typed(digest, "limit", int, "digest.")) is not None:
        if limit <= 0:
            check.problem("digest.limit", "expected a positive number of stories per topic")
        else:
            config.digest_limit = limit


def _source_fulltext(check: _Checker, config: Config, name: str, value: Any, where: str) -> None:
    if value is True or value is False or value == "auto":
        config.source_fulltext[name] = value
    else:
        check.problem(f"{where}fulltext", f'expected "auto", true or false, got {_show(value)}')


# [fulltext] settings: (smallest, largest) accepted.
_FULLTEXT_RANGES: dict[str, tuple[float, float]] = {
    "threshold": (1, 1_000_000),
    "max_pages": (0, 1_000_000),
    "max_seconds": (0.001, 86400),
}


def _load_fulltext(check: _Checker, raw: dict[str, Any], config: Config) -> None:
    table = _subtable(check, raw, "fulltext", set(_FULLTEXT_RANGES))
    values: dict[str, Any] = {}
    for key, (low, high) in _FULLTEXT_RANGES.items():
        kind = (int, float) if key == "max_seconds" else int
        if (value := check.typed(table, key, kind, "fulltext.")) is None:
            continue
        if not (math.isfinite(value) and low <= value <= high):
            check.problem(f"fulltext.{key}", f"expected a number from {low:g} to {high:g}, got {value!r}")
        else:
            values[key] = value
    if values:
        config.fulltext = FulltextSettings(**values)


def _subtable(check: _Checker, raw: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
    table = raw.get(key, {})
    if not isinstance(table, dict):
        check.problem(key, f"expected a table [{key}]")
        return {}
    check.unknown_keys(table, allowed, f"{key}.")
    return table


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else '"' + name.replace('"', '\\"') + '"'


def _load_opml_sources(
    check: _Checker, config: Config, base: Path, files: list[str], names: set[str]
) -> None:
    from feeds.opml import OpmlError, read_opml

    for file in files:
        opml_path = base / file
        try:
            feeds = read_opml(opml_path)
        except OpmlError as error:
            check.problem("opml", str(error))
            continue
        for name, url in feeds:
            if name in names:
                continue
            names.add(name)
            config.sources.append(SourceSpec(name, "url", url, None))


def _check_topic_queries(check: _Checker, config: Config) -> None:
    """Compile every topic now, so a bad query stops the run before anything is ingested."""
    from topics.query import QueryError, compile_query, validate_term_lists

    try:
        validate_term_lists(config.terms)
    except QueryError as error:
        check.problem("terms", str(error))
        return
    for topic in config.topics:
        try:
            config.topic_queries[topic.name] = compile_query(topic.query, config.terms)
        except QueryError as error:
            check.problem(f"topics.{_toml_key(topic.name)}.query", str(error))
